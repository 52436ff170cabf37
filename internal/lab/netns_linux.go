package lab

import (
	"fmt"
	"os/exec"
	"runtime"
	"syscall"

	"github.com/vishvananda/netns"
)

// newNetns creates an anonymous network namespace and returns a handle to it;
// the namespace lives until the handle is closed and no process uses it.
func newNetns() (netns.NsHandle, error) {
	var ns netns.NsHandle
	err := inNetnsThread(func(orig netns.NsHandle) error {
		var err error
		if ns, err = netns.New(); err != nil { // unshare(CLONE_NEWNET) switches this thread
			return fmt.Errorf("create network namespace: %w", err)
		}
		return nil
	})
	return ns, err
}

// doInNetns runs fn with the calling goroutine's OS thread inside ns. Sockets
// that fn opens belong to ns for their whole life, whichever thread uses
// them later; processes that fn starts inherit ns.
func doInNetns(ns netns.NsHandle, fn func() error) error {
	return inNetnsThread(func(netns.NsHandle) error {
		if err := netns.Set(ns); err != nil {
			return fmt.Errorf("enter network namespace: %w", err)
		}
		return fn()
	})
}

// inNetnsThread locks the goroutine to its thread, runs fn (which may switch
// the thread's namespace) and switches back. If switching back fails the
// thread stays locked, so Go retires it when the goroutine ends rather than
// reusing a thread in the wrong namespace.
func inNetnsThread(fn func(orig netns.NsHandle) error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("read current network namespace: %w", err)
	}
	defer orig.Close()
	fnErr := fn(orig)
	if err := netns.Set(orig); err != nil {
		return fmt.Errorf("return to original network namespace: %w", err)
	}
	runtime.UnlockOSThread()
	return fnErr
}

// startInNetns starts cmd inside ns. The child is killed if the test process
// dies (Pdeathsig), so a crashed test leaves no process running.
func startInNetns(ns netns.NsHandle, cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	cmd.SysProcAttr.Setpgid = true // so cleanup can kill the child's own children too
	return doInNetns(ns, cmd.Start)
}
