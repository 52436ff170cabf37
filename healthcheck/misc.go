package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// MiscOptions configures a MiscChecker (keepalived MISC_CHECK).
type MiscOptions struct {
	// Args is the program and its arguments (misc_path, already split).
	// The program is run directly, never through a shell, unless Shell is
	// set. A name without a slash is looked up in PATH.
	Args []string
	// Shell runs Args joined by spaces with "/bin/sh -c", for operators who
	// rely on shell syntax in misc_path.
	Shell bool
	// Dynamic is misc_dynamic: exit codes 2-255 mean "up with weight
	// code-2" instead of "down".
	Dynamic bool
	// User, if set, is the account (name or uid) the program runs as, with
	// that account's primary and supplementary groups.
	User string
}

// MiscChecker runs an external program; its exit code is the verdict:
// 0 up, 1 down, 2-255 up with weight code-2 when Dynamic, else down.
//
// The program runs in its own process group. When the deadline
// (misc_timeout) passes the whole group is killed with SIGKILL, children
// included, and the check fails. lbd also kills what is left of the group
// after a normal exit: keepalived leaves such stragglers running, which lets
// a misbehaving script leak a process every delay_loop.
type MiscChecker struct {
	argv    []string
	dynamic bool
	cred    *syscall.Credential
}

// NewMiscChecker validates o: the program must exist and be executable, and
// the user must exist. These are configuration errors, reported once here
// rather than as a failing check on every run.
func NewMiscChecker(o MiscOptions) (*MiscChecker, error) {
	if len(o.Args) == 0 || o.Args[0] == "" {
		return nil, errors.New("healthcheck: misc: empty command")
	}
	argv := o.Args
	if o.Shell {
		argv = []string{"/bin/sh", "-c", strings.Join(o.Args, " ")}
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return nil, fmt.Errorf("healthcheck: misc: %w", err)
	}
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("healthcheck: misc: %s is not a regular file", path)
	}
	c := &MiscChecker{argv: append([]string{path}, argv[1:]...), dynamic: o.Dynamic}
	if o.User != "" {
		if c.cred, err = credential(o.User); err != nil {
			return nil, fmt.Errorf("healthcheck: misc: %w", err)
		}
	}
	return c, nil
}

// credential resolves a user name or uid to the credential to run as.
func credential(name string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		if u, err = user.LookupId(name); err != nil {
			return nil, fmt.Errorf("unknown user %q", name)
		}
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	gids, _ := u.GroupIds()
	for _, g := range gids {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			cred.Groups = append(cred.Groups, uint32(n))
		}
	}
	return cred, nil
}

// Check implements Checker.
func (c *MiscChecker) Check(ctx context.Context) Result {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	start := time.Now()
	cmd := exec.Command(c.argv[0], c.argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.cred}
	// Stdin, Stdout and Stderr stay nil (/dev/null): no pipe can keep Wait
	// blocked after the group is killed.
	if err := cmd.Start(); err != nil {
		return fail(start, "start: "+err.Error())
	}
	pgid := cmd.Process.Pid
	killGroup := func() { syscall.Kill(-pgid, syscall.SIGKILL) }
	stop := context.AfterFunc(ctx, killGroup)
	err := cmd.Wait()
	timedOut := !stop()
	killGroup()
	if timedOut {
		what := "timeout"
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			what = "cancelled"
		}
		return fail(start, fmt.Sprintf("%s after %v, process group killed", what, time.Since(start).Round(time.Millisecond)))
	}
	return c.verdict(start, cmd.ProcessState, err)
}

// verdict maps the exit status to a Result.
func (c *MiscChecker) verdict(start time.Time, ps *os.ProcessState, err error) Result {
	if ps == nil {
		return fail(start, "wait: "+err.Error())
	}
	ws, _ := ps.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return fail(start, "killed by signal "+ws.Signal().String())
	}
	code := ps.ExitCode()
	switch {
	case code == 0:
		return pass(start, "exit 0")
	case code >= 2 && c.dynamic:
		r := pass(start, fmt.Sprintf("exit %d", code))
		r.Weight = code - 2
		return r
	}
	return fail(start, fmt.Sprintf("exit %d", code))
}

// String implements Checker.
func (c *MiscChecker) String() string { return "MISC_CHECK " + strings.Join(c.argv, " ") }
