package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/lbd-project/lbd/internal/script"
)

// MiscOptions configures a MiscChecker (keepalived MISC_CHECK).
type MiscOptions struct {
	// Args is the program and its arguments (misc_path, already split).
	// The program is run directly, never through a shell, unless Shell is
	// set. A name without a slash is looked up in the daemon's PATH when
	// the checker is built.
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

// MiscChecker runs an external program through script.Run (clean
// environment, no shell, own process group); its exit code is the
// verdict: 0 up, 1 down, 2-255 up with weight code-2 when Dynamic, else
// down. At the deadline (misc_timeout) the program's whole process
// group is killed and the check fails; what the program leaves behind in
// its group is killed after a normal exit too, so a misbehaving check
// cannot leak a process every delay_loop as it can under keepalived.
type MiscChecker struct {
	spec    script.Spec
	dynamic bool
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
	c := &MiscChecker{spec: script.Spec{Argv: append([]string{path}, argv[1:]...), User: o.User}, dynamic: o.Dynamic}
	if err := script.Check(c.spec); err != nil {
		return nil, fmt.Errorf("healthcheck: misc: %w", err)
	}
	return c, nil
}

// Check implements Checker.
func (c *MiscChecker) Check(ctx context.Context) Result {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	r := script.Run(ctx, c.spec)
	res := Result{Reason: r.String(), Latency: r.Duration, Weight: NoWeight}
	switch {
	case r.OK():
		res.OK = true
	case r.Exit >= 2 && c.dynamic:
		res.OK, res.Weight = true, r.Exit-2
	}
	return res
}

// String implements Checker.
func (c *MiscChecker) String() string { return "MISC_CHECK " + strings.Join(c.spec.Argv, " ") }
