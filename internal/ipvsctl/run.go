package ipvsctl

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/lbd-project/lbd/internal/completion"
	"github.com/lbd-project/lbd/internal/control"
	"github.com/lbd-project/lbd/internal/ipvsadm"
)

// Env is the world a run of ipvsctl sees: ipvsadm's, plus the control
// socket.
type Env struct {
	ipvsadm.Env
	// Socket is lbd's control socket; "" means control.DefaultPath. The
	// --socket option overrides it.
	Socket string
	// Now is the clock for the ages in "status"; nil means time.Now.
	// Times are shown in the location of the time it returns.
	Now func() time.Time
}

// callTimeout bounds one request to lbd; the daemon's own request
// timeout (30 s by default) answers first.
const callTimeout = 2 * time.Minute

// Run runs ipvsctl with args (args[0] is the program name) and returns the
// exit status.
func Run(ctx context.Context, env Env, args []string) int {
	if env.Stdout == nil {
		env.Stdout = io.Discard
	}
	if env.Stderr == nil {
		env.Stderr = io.Discard
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	if len(args) == 0 {
		args = []string{"ipvsctl"}
	}
	if len(args) == 3 && args[1] == completion.Command {
		// The shell's completion script; its socket is the line's.
		if err := Complete(ctx, env.Stdout, args[2], env.Socket, os.Getenv("COMP_WORDBREAKS")); err != nil {
			return 1
		}
		return 0
	}
	args, g, err := stripGlobal(args)
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", args[0], err)
		return 2
	}
	if g.socket != "" {
		env.Socket = g.socket
	}
	if env.Socket == "" {
		env.Socket = control.DefaultPath
	}
	c := &cli{ctx: ctx, env: env, program: args[0]}
	if len(args) > 1 {
		if sub, ok := subcommands[args[1]]; ok {
			return sub(c, args[2:])
		}
	}
	aenv := env.Env
	if !g.kernel {
		aenv.RealServer = c.realServer
	}
	return ipvsadm.Run(ctx, aenv, args)
}

// globals are ipvsctl's own options.
type globals struct {
	socket string
	kernel bool
}

// stripGlobal removes the global options of ownOptions (--socket PATH,
// --socket=PATH and --kernel) from args, before a "--": ipvsadm would
// refuse them.
func stripGlobal(args []string) ([]string, globals, error) {
	var g globals
	out := make([]string, 0, len(args))
	out = append(out, args[0])
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out = append(out, args[i:]...)
			return out, g, nil
		}
		name, ok := ours(a, true)
		switch {
		case !ok:
			out = append(out, a)
		case name == "--kernel":
			g.kernel = true
		case name == "--socket":
			v, last, err := optionValue(args, i, name)
			if err != nil {
				return out, g, err
			}
			i, g.socket = last, v
		}
	}
	return out, g, nil
}

// cli is one run of a subcommand or a runtime change.
type cli struct {
	ctx     context.Context
	env     Env
	program string
}

func (c *cli) stdout(format string, args ...any) { fmt.Fprintf(c.env.Stdout, format, args...) }

// fail prints msg (newline added unless present) to stderr and returns code.
func (c *cli) fail(code int, msg string) int {
	io.WriteString(c.env.Stderr, strings.TrimRight(msg, "\n")+"\n")
	return code
}

// usage prints a subcommand's usage line and returns 2.
func (c *cli) usage(line string) int {
	return c.fail(2, fmt.Sprintf("Usage: %s %s\nTry `%s help' for more information.", c.program, line, c.program))
}

// call dials lbd and makes one call. The error is the control package's:
// its text is what to print (ErrNotRunning's "lbd is not running (no
// control socket at PATH)", the permission message, or the daemon's).
func (c *cli) call(method string, params, result any) error {
	ctx, cancel := context.WithTimeout(c.ctx, callTimeout)
	defer cancel()
	cl, err := control.DialContext(ctx, c.env.Socket)
	if err != nil {
		return err
	}
	defer cl.Close()
	return cl.Call(ctx, method, params, result)
}
