package script

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// run starts cmd in its own process group and kills the group when ctx
// ends and once the main process has exited.
func run(ctx context.Context, cmd *exec.Cmd, cred *syscall.Credential) Result {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	if err := cmd.Start(); err != nil {
		return Result{Exit: -1, Err: fmt.Errorf("start: %w", err)}
	}
	pgid := cmd.Process.Pid
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
	_ = cmd.Wait() // the status is in ProcessState; a WaitDelay overrun only cut the output
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
