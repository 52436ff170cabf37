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
	"strings"
	"syscall"

	"github.com/lbd-project/lbd/conf"
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
	fs := flag.NewFlagSet("lbd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", DefaultConfig, "configuration `file`")
	test := fs.Bool("t", false, "check the configuration file and exit (non-zero with every error when it is invalid)")
	level := fs.String("log-level", "info", "log `level`: debug, info, warn, error")
	format := fs.String("log-format", "text", "log `format`: text or json")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: lbd [-t] [-f FILE] [-log-level LEVEL] [-log-format text|json]\n\n")
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
	cfg, err := conf.Load(*file)
	if err != nil {
		printErrors(stderr, *file, err)
		return ExitConfig
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	d := newDaemon(*file, slog.New(h), linuxHost{})
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
	return fmt.Sprintf("%d vrrp instances, %d sync groups, %d vrrp scripts",
		len(cfg.VRRPInstances), len(cfg.VRRPSyncGroups), len(cfg.VRRPScripts))
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
