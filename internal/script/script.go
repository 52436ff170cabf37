// Package script is the one way lbd runs a program: virtual-server notify
// and quorum scripts, VRRP notify scripts, vrrp_scripts and MISC_CHECK all
// go through Run, directly or through a Queue, so they share one set of
// rules instead of each runner having its own.
//
// A script runs
//
//   - from its argv, never through a shell, so no configuration value is
//     ever parsed as shell syntax (a caller that wants a shell names
//     /bin/sh in Argv);
//   - after Check, the single place for rules on what lbd may execute:
//     it refuses a program that anyone but root or the script's user
//     could change (keepalived's enable_script_security, always on);
//   - with a clean environment: PATH=/usr/sbin:/usr/bin:/sbin:/bin plus
//     Spec.Env, nothing inherited from the daemon (a daemon started from a
//     shell would otherwise leak that shell's variables into scripts, and
//     scripts would behave differently under systemd and by hand);
//   - with stdin from /dev/null and stdout and stderr read into one
//     bounded buffer (MaxOutput), so a chatty script costs no memory and
//     never blocks on a full pipe;
//   - as Spec.User if set, with that account's groups;
//   - in its own process group, which is SIGKILLed at the timeout and
//     again as soon as the script's main process exits. The second kill is
//     what keepalived lacks: a script that backgrounds a child and exits
//     leaks that child on every run. A child that left the group (setsid)
//     is adopted and reaped by StartReaper, which the daemon runs.
//
// Running programs needs Linux; elsewhere Run fails with an error, so the
// rest of lbd still builds on a developer's machine.
package script

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Path is the PATH every script gets. Spec.Env may override it.
const Path = "PATH=/usr/sbin:/usr/bin:/sbin:/bin"

// MaxOutput is how much of a script's output (stdout and stderr, as
// written) Run keeps: enough for a log line. The rest is read and dropped.
const MaxOutput = 4 << 10

// outputGrace is how long Run waits, after killing the process group, for
// the output pipe to close. Only a process that left the group (setsid)
// can hold it open longer; Run stops reading rather than wait for it.
const outputGrace = 100 * time.Millisecond

// Spec is what to run.
type Spec struct {
	// Argv is the program, by absolute path, and its arguments.
	Argv []string
	// Env holds "K=V" entries added to the clean environment.
	Env []string
	// User is the account (name or uid) to run as, with its primary and
	// supplementary groups; "" runs as the daemon.
	User string
	// Timeout bounds the run; 0 leaves only the context's deadline.
	Timeout time.Duration
}

// Result is how a run ended.
type Result struct {
	// Exit is the exit code, or -1 if the script was killed by a signal
	// or did not start.
	Exit int
	// Signal is the signal that ended the script, 0 if it exited.
	Signal syscall.Signal
	// TimedOut reports that the deadline (Spec.Timeout or the context's)
	// passed and Run killed the process group.
	TimedOut bool
	// Duration is how long Run took.
	Duration time.Duration
	// Output is the start of what the script wrote, at most MaxOutput
	// bytes.
	Output []byte
	// Err is why the script did not run to its end: Check refused it, it
	// could not start, or the context ended (then it is the context's
	// error). A script that exits non-zero on its own has no Err.
	Err error
}

// OK reports whether the script ran and exited 0.
func (r Result) OK() bool { return r.Err == nil && r.Exit == 0 }

// String describes the end of the run for logs and health-check reasons.
func (r Result) String() string {
	took := r.Duration.Round(time.Millisecond)
	switch {
	case r.TimedOut:
		return fmt.Sprintf("timeout after %v, process group killed", took)
	case errors.Is(r.Err, context.Canceled):
		return fmt.Sprintf("cancelled after %v, process group killed", took)
	case r.Err != nil:
		return r.Err.Error()
	case r.Signal != 0:
		return "killed by signal " + r.Signal.String()
	}
	return "exit " + strconv.Itoa(r.Exit)
}

// Check reports whether s may run. It is the one place for rules on what
// lbd executes (keepalived's enable_script_security rules belong here),
// and Run applies it to every script; callers that run a spec repeatedly
// call it once up front, to report a bad script once instead of on every
// run. It requires an absolute program path, an existing user, and a
// program only root or that user can change (see checkSecure). Run
// checks again each time because files change after configuration.
func Check(s Spec) error {
	_, err := check(s)
	return err
}

// check is Check returning the credential to run with, so Run looks the
// user up once.
func check(s Spec) (*syscall.Credential, error) {
	if len(s.Argv) == 0 {
		return nil, errors.New("script: empty command")
	}
	if !filepath.IsAbs(s.Argv[0]) {
		return nil, fmt.Errorf("script: %q is not an absolute path", s.Argv[0])
	}
	var cred *syscall.Credential
	uid := uint32(os.Geteuid())
	if s.User != "" {
		var err error
		if cred, err = credential(s.User); err != nil {
			return nil, err
		}
		uid = cred.Uid
	}
	return cred, checkSecure(s.Argv[0], uid)
}

// credential resolves a user name or uid to the credential to run as.
func credential(name string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		if u, err = user.LookupId(name); err != nil {
			return nil, fmt.Errorf("script: unknown user %q", name)
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

// Run runs s and waits for it to end; see the package comment for how.
func Run(ctx context.Context, s Spec) Result {
	start := time.Now()
	cred, err := check(s)
	if err != nil {
		return Result{Exit: -1, Err: err}
	}
	if s.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.Timeout)
		defer cancel()
	}
	out := &capped{}
	cmd := &exec.Cmd{
		Path: s.Argv[0], Args: s.Argv,
		Env: append([]string{Path}, s.Env...),
		// One writer for both streams: exec then uses one pipe, so the
		// two never write out concurrently.
		Stdout: out, Stderr: out,
		WaitDelay: outputGrace,
	}
	r := run(ctx, cmd, cred)
	r.Duration = time.Since(start)
	r.Output = out.b
	return r
}

// capped keeps the first MaxOutput bytes written to it and drops the rest
// while reporting it written, so the script's writes never fail.
type capped struct{ b []byte }

func (c *capped) Write(p []byte) (int, error) {
	if room := MaxOutput - len(c.b); room > 0 {
		c.b = append(c.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}
