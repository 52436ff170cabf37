package script

import (
	"bytes"
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// StartReaper makes this process a child subreaper and reaps, on each
// SIGCHLD, the zombie children that no Run waits for, until stop (or the
// end of ctx); stop also gives orphans back to init.
//
// A script may leave a process running outside its process group
// (setsid), which the group kill cannot reach. As a subreaper lbd adopts
// it instead of init, so it stays in lbd's care (and its cgroup), and
// must reap it when it exits; when lbd is a container's PID 1 it adopts
// every orphan of the container anyway, and nothing else would reap them.
// The reaper must not reap a script Run started, whose exit status
// os/exec collects, so every child of the process must be started by Run.
func StartReaper(ctx context.Context) (stop func()) {
	// Fails only before Linux 3.4; reaping still matters as PID 1.
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGCHLD)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			// One pass per wake sees every zombie there is, so a
			// SIGCHLD coalesced with another loses nothing.
			reapOrphans()
			select {
			case <-ctx.Done():
				return
			case <-sigs:
			}
		}
	}()
	return sync.OnceFunc(func() {
		cancel()
		<-done
		signal.Stop(sigs)
		_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	})
}

// reapOrphans reaps the exited children that are not Run's. It holds
// starting for writing, so no script is between its fork and its entry
// in started, where the reaper would take it for an orphan.
func reapOrphans() {
	starting.Lock()
	defer starting.Unlock()
	for _, pid := range children() {
		if _, ok := started.Load(pid); ok {
			continue
		}
		// WNOHANG: an orphan still running is left for a later SIGCHLD.
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, unix.WNOHANG, nil)
	}
}

// children lists this process's children: the kernel's list per thread,
// which costs the number of threads and children rather than a walk of
// every process, or that walk where the kernel lacks the list
// (CONFIG_PROC_CHILDREN).
func children() []int {
	lists, _ := filepath.Glob("/proc/self/task/*/children")
	if len(lists) == 0 {
		return childrenByScan()
	}
	var pids []int
	for _, p := range lists {
		b, _ := os.ReadFile(p)
		for _, f := range bytes.Fields(b) {
			if pid, err := strconv.Atoi(string(f)); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// childrenByScan finds the processes whose parent is this one in
// /proc/PID/stat.
func childrenByScan() []int {
	dirs, _ := os.ReadDir("/proc")
	self := strconv.Itoa(os.Getpid())
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, _ := os.ReadFile("/proc/" + d.Name() + "/stat")
		// "pid (comm) state ppid ...": comm may hold anything but ends
		// at the last ')'.
		if f := bytes.Fields(b[bytes.LastIndexByte(b, ')')+1:]); len(f) > 1 && string(f[1]) == self {
			pids = append(pids, pid)
		}
	}
	return pids
}
