package script

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// The scripts Run has started and os/exec has not yet reaped, which the
// reaper (StartReaper) leaves alone. Run holds starting for reading from
// fork to entry in started; the reaper holds it for writing.
var (
	starting sync.RWMutex
	started  sync.Map // pid -> struct{}
)

// run starts cmd in its own process group and kills the group when ctx
// ends and once the main process has exited.
func run(ctx context.Context, cmd *exec.Cmd, cred *syscall.Credential) Result {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	starting.RLock()
	err := cmd.Start()
	if err == nil {
		started.Store(cmd.Process.Pid, struct{}{})
	}
	starting.RUnlock()
	if err != nil {
		return Result{Exit: -1, Err: fmt.Errorf("start: %w", err)}
	}
	pgid := cmd.Process.Pid
	// Until Wait has reaped it the pid is this script's; after, it may
	// be an orphan's, for the reaper.
	defer started.Delete(pgid)
	exited := make(chan error, 1)
	go func() { exited <- waitExited(pgid) }()
	var waitErr, cut error
	select {
	case waitErr = <-exited:
	case <-ctx.Done():
		cut = ctx.Err()
		killGroup(pgid)
		waitErr = <-exited
	}
	// The main process is a zombie until Wait reaps it, so pgid still
	// names its group: what it left behind dies here, and no unrelated
	// group that reused the number can.
	killGroup(pgid)
	// The status is in ProcessState; a WaitDelay overrun only cut the
	// output. ProcessState is nil only if something else reaped the
	// script (a wait for any child): an error, not a crash.
	if err := cmd.Wait(); cmd.ProcessState == nil {
		waitErr = cmp.Or(waitErr, err)
	}
	if waitErr != nil {
		return Result{Exit: -1, Err: fmt.Errorf("wait: %w", waitErr)}
	}
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	r := Result{Exit: cmd.ProcessState.ExitCode()}
	if ws.Signaled() {
		r.Signal = ws.Signal()
		// A script that exited on its own just as ctx ended was not cut
		// short.
		r.Err, r.TimedOut = cut, errors.Is(cut, context.DeadlineExceeded)
	}
	return r
}

// waitExited blocks until process pid has exited, without reaping it.
func waitExited(pid int) error {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return err
		}
	}
}

func killGroup(pgid int) { _ = syscall.Kill(-pgid, syscall.SIGKILL) }
