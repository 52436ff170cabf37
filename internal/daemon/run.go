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

// Run is the lbd program: it parses args (without the program name),
// then validates the configuration (-t) or runs the daemon until SIGTERM,
// SIGINT or the end of ctx. It returns the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "plan" {
		return runPlan(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("lbd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", DefaultConfig, "configuration `file`")
	test := fs.Bool("t", false, "check the configuration file and exit (non-zero with every error when it is invalid)")
	level := fs.String("log-level", "info", "log `level`: debug, info, warn, error")
	format := fs.String("log-format", "text", "log `format`: text or json")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: lbd [-t] [-f FILE] [-log-level LEVEL] [-log-format text|json]\n"+
			"       lbd plan [-f FILE] [-socket PATH]\n"+
			"       lbd doctor [-f FILE]\n"+
			"       lbd import-keepalived [-o FILE] [-i CONFIG_ID]... KEEPALIVED.CONF\n"+
			"       lbd export-keepalived [-o FILE] [-f FILE]\n\n"+
			"lbd runs IPVS load balancing and VRRP failover from one YAML file (default %s).\n"+
			"  lbd -f FILE          run the daemon; SIGHUP reloads (a bad file changes nothing),\n"+
			"                       SIGTERM hands the virtual addresses to a backup, then stops\n"+
			"  lbd -t -f FILE       check FILE: every error as file:line:col; exit 0 only if valid\n"+
			"  lbd plan -f FILE     the IPVS changes a reload of FILE would make, ipvsadm syntax\n"+
			"  lbd doctor           preflight checks of this host, each with its fix\n"+
			"  lbd import-keepalived / export-keepalived   migrate from and back to keepalived.conf\n"+
			"Reference: docs/config.md and docs/operations.md; ipvsctl help for the control commands.\n\n"+
			"options:\n", DefaultConfig)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "lbd: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return ExitUsage
	}
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
	cfg, err := conf.Load(file)
	if err != nil {
		printErrors(stderr, file, err)
		return ExitConfig
	}
	fmt.Fprintf(stdout, "lbd: %s is valid: %s\n", file, summary(cfg))
	return ExitOK
}

func summary(cfg *conf.Config) string {
	s := fmt.Sprintf("%d vrrp instances, %d sync groups, %d vrrp scripts",
		len(cfg.VRRPInstances), len(cfg.VRRPSyncGroups), len(cfg.VRRPScripts))
	if n := len(cfg.VirtualServers); n > 0 {
		s += fmt.Sprintf(", %d virtual servers", n)
	}
	return s
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

// runPlan is `lbd plan -f FILE`: it prints, in ipvsadm syntax with
// +/~/-, the IPVS changes a reload of FILE would make, without making
// them. With a daemon listening on the control socket it asks it (exact:
// the daemon knows health and VRRP roles); otherwise it compares FILE
// with the kernel table itself (see lb.PlanOffline). Exit 0 with or
// without changes; 1 for a bad file or an unreadable kernel.
func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lbd plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", DefaultConfig, "configuration `file`")
	socket := fs.String("socket", "", "control socket `path` (default: the file's global.control_socket)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "lbd plan: unexpected argument %q\n", fs.Arg(0))
		return ExitUsage
	}
	cfg, err := conf.Load(*file)
	if err != nil {
		printErrors(stderr, *file, err)
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
		st, err := loadState(statePath(cfg))
		if err != nil {
			fmt.Fprintf(stderr, "lbd plan: %v\n", err)
			return ExitConfig
		}
		plan, err := lb.PlanOffline(ctx, k, cfg, st)
		if err != nil {
			fmt.Fprintf(stderr, "lbd plan: %v\n", err)
			return ExitConfig
		}
		changes = planLines(plan)
		fmt.Fprintf(stderr, "lbd plan: no daemon at %s; compared %s with the kernel table (health not known: servers count as up)\n", path, *file)
	}
	for _, c := range changes {
		fmt.Fprintln(stdout, c)
	}
	fmt.Fprintf(stderr, "lbd plan: %d %s\n", len(changes), plural(len(changes), "change"))
	return ExitOK
}
