package daemon

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/internal/control"
	"github.com/lbd-project/lbd/lb"
)

// DefaultConfig is the configuration file lbd reads without -f.
const DefaultConfig = "/etc/lbd/lbd.yaml"

// Exit codes of Run.
const (
	ExitOK     = 0
	ExitConfig = 1 // the configuration is invalid, or the daemon failed
	ExitUsage  = 2
)

// cmdline is lbd's command line as parsed.
type cmdline struct {
	file, level, format *string
	test                *bool
}

// lbdFlags is lbd's parser; Run and the manual's test share it. Parse
// errors go to stderr; -h is handled by the caller (the manual, on
// stdout), so Usage prints nothing.
func lbdFlags(stderr io.Writer) (*flag.FlagSet, cmdline) {
	fs := flag.NewFlagSet("lbd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	return fs, cmdline{
		file:   fs.String("f", DefaultConfig, "configuration `file`"),
		test:   fs.Bool("t", false, "check the configuration file and exit (non-zero with every error when it is invalid)"),
		level:  fs.String("log-level", "info", "log `level`: debug, info, warn, error"),
		format: fs.String("log-format", "text", "log `format`: text or json"),
	}
}

// parseOrHelp parses args with fs. For -h, -help or --help it prints the
// manual on stdout and returns ExitOK; after a bad command line it prints
// the short usage on stderr and returns ExitUsage; otherwise -1.
func parseOrHelp(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) int {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		io.WriteString(stdout, Manual)
		return ExitOK
	case err != nil:
		shortUsage(stderr)
		return ExitUsage
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		shortUsage(stderr)
		return ExitUsage
	}
	return -1
}

// Run is the lbd program: it parses args (without the program name),
// then validates the configuration (-t) or runs the daemon until SIGTERM,
// SIGINT or the end of ctx. It returns the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "plan":
			return runPlan(ctx, args[1:], stdout, stderr)
		case "release":
			return runRelease(args[1:], stdout, stderr)
		case "help":
			io.WriteString(stdout, Manual)
			return ExitOK
		}
	}
	fs, cl := lbdFlags(stderr)
	if code := parseOrHelp(fs, args, stdout, stderr); code >= 0 {
		return code
	}
	file, test, level, format := cl.file, cl.test, cl.level, cl.format
	if *test {
		return check(*file, stdout, stderr)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(stderr, "lbd: -log-level: %v\n", err)
		return ExitUsage
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	switch *format {
	case "text":
		h = slog.NewTextHandler(stderr, opts)
	case "json":
		h = slog.NewJSONHandler(stderr, opts)
	default:
		fmt.Fprintf(stderr, "lbd: -log-format %q: text or json\n", *format)
		return ExitUsage
	}
	d := newDaemon(*file, slog.New(h), linuxHost{})
	cfg, err := d.parser.Load(*file)
	if err != nil {
		printErrors(stderr, *file, err)
		return ExitConfig
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	if err := d.serve(ctx, cfg, sigs); err != nil {
		d.log.Error("lbd: stopped", "err", err)
		return ExitConfig
	}
	return ExitOK
}

// check is `lbd -t`.
func check(file string, stdout, stderr io.Writer) int {
	cfg := loadOrReport(file, stderr)
	if cfg == nil {
		return ExitConfig
	}
	fmt.Fprintf(stdout, "lbd: %s is valid: %s\n", file, cfg.Summary())
	return ExitOK
}

// loadOrReport loads file, or prints its errors on stderr and returns nil.
func loadOrReport(file string, stderr io.Writer) *conf.Config {
	cfg, err := conf.Load(file)
	if err != nil {
		printErrors(stderr, file, err)
		return nil
	}
	return cfg
}

// printErrors writes every configuration error on a line of its own
// (FILE:LINE:COL: message), then a count.
func printErrors(w io.Writer, file string, err error) {
	var list conf.ErrorList
	if !errors.As(err, &list) {
		fmt.Fprintf(w, "lbd: %v\n", err)
		return
	}
	for _, e := range list {
		fmt.Fprintln(w, e.Error())
	}
	fmt.Fprintf(w, "lbd: %s: %d %s\n", file, len(list), plural(len(list), "error"))
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// firstError is the first line of a configuration error, with a count of
// the others, for systemd's one-line STATUS.
func firstError(err error) string {
	var list conf.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		s := list[0].Error()
		if len(list) > 1 {
			s += fmt.Sprintf(" (and %d more)", len(list)-1)
		}
		return s
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// planFlags is the parser of `lbd plan`; runPlan and the manual's test
// share it.
func planFlags(stderr io.Writer) (fs *flag.FlagSet, file, socket *string) {
	fs, file = fileFlags("lbd plan", stderr)
	socket = fs.String("socket", "", "control socket `path` (default: the file's global.control_socket)")
	return fs, file, socket
}

// fileFlags is the parser of a command that reads a configuration file
// (-f); parse errors go to stderr and -h is the caller's (see parseOrHelp).
func fileFlags(name string, stderr io.Writer) (fs *flag.FlagSet, file *string) {
	fs = flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	return fs, fs.String("f", DefaultConfig, "configuration `file`")
}

// runPlan is `lbd plan -f FILE`: it prints, in ipvsadm syntax with
// +/~/-, the IPVS changes a reload of FILE would make, without making
// them. With a daemon listening on the control socket it asks it (exact:
// the daemon knows health and VRRP roles); otherwise it compares FILE
// with the kernel table itself (see lb.PlanOffline). Exit 0 with or
// without changes; 1 for a bad file or an unreadable kernel.
func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, file, socket := planFlags(stderr)
	if code := parseOrHelp(fs, args, stdout, stderr); code >= 0 {
		return code
	}
	cfg := loadOrReport(*file, stderr)
	if cfg == nil {
		return ExitConfig
	}
	abs, err := filepath.Abs(*file)
	if err != nil {
		fmt.Fprintf(stderr, "lbd plan: %v\n", err)
		return ExitConfig
	}
	path := cmpOr(*socket, cfg.Global.ControlSocket)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var changes []string
	if c, err := control.DialContext(ctx, path); err == nil {
		defer c.Close()
		var res control.PlanResult
		if err := c.Call(ctx, control.MethodPlan, control.PlanParams{File: abs}, &res); err != nil {
			fmt.Fprintf(stderr, "lbd plan: the daemon at %s: %v\n", path, err)
			return ExitConfig
		}
		changes = res.Changes
		fmt.Fprintf(stderr, "lbd plan: asked the running daemon (%s)\n", path)
	} else {
		k, closer, err := openIPVS()
		if err != nil {
			fmt.Fprintf(stderr, "lbd plan: no daemon at %s and no IPVS: %v\n", path, err)
			return ExitConfig
		}
		defer closer.Close()
		st, err := lb.LoadState(lb.StatePath(cfg))
		if err != nil {
			fmt.Fprintf(stderr, "lbd plan: %v\n", err)
			return ExitConfig
		}
		plan, err := lb.PlanOffline(ctx, k, cfg, st)
		if err != nil {
			fmt.Fprintf(stderr, "lbd plan: %v\n", err)
			return ExitConfig
		}
		changes = plan.Lines()
		fmt.Fprintf(stderr, "lbd plan: no daemon at %s; compared %s with the kernel table (health not known: servers count as up)\n", path, *file)
	}
	for _, c := range changes {
		fmt.Fprintln(stdout, c)
	}
	fmt.Fprintf(stderr, "lbd plan: %d %s\n", len(changes), plural(len(changes), "change"))
	return ExitOK
}
