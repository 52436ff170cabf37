package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/internal/daemon"
	"github.com/lbd-project/lbd/internal/netns"
	"github.com/lbd-project/lbd/internal/version"
)

// defaultConfig is the configuration file lbd reads without -f.
const defaultConfig = "/etc/lbd/lbd.yaml"

// Exit codes of lbd, lbd -t, lbd plan and lbd release.
const (
	exitOK     = 0
	exitConfig = 1 // the configuration is invalid, or the daemon failed
	exitUsage  = 2
)

// cmdline is lbd's command line as parsed.
type cmdline struct {
	file, level, format *string
	test, version       *bool
}

// lbdFlags is lbd's parser; runDaemon and the manual's test share it.
// Parse errors go to stderr; -h is handled by the caller (the manual, on
// stdout), so Usage prints nothing.
func lbdFlags(stderr io.Writer) (*flag.FlagSet, cmdline) {
	fs := flag.NewFlagSet("lbd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	return fs, cmdline{
		file:    fs.String("f", defaultConfig, "configuration `file`"),
		test:    fs.Bool("t", false, "check the configuration file and exit (non-zero with every error when it is invalid)"),
		level:   fs.String("log-level", "info", "log `level`: debug, info, warn, error"),
		format:  fs.String("log-format", "text", "log `format`: text or json"),
		version: fs.Bool("version", false, "print lbd's version and exit"),
	}
}

// fileFlags is the parser of a command that reads a configuration file
// (-f); parse errors go to stderr and -h is the caller's (see parseOrHelp).
func fileFlags(name string, stderr io.Writer) (fs *flag.FlagSet, file *string) {
	fs = flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	return fs, fs.String("f", defaultConfig, "configuration `file`")
}

// parseOrHelp parses args with fs. For -h, -help or --help it prints the
// manual on stdout and returns exitOK; after a bad command line it prints
// the short usage on stderr and returns exitUsage; otherwise -1.
func parseOrHelp(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) int {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		io.WriteString(stdout, manual)
		return exitOK
	case err != nil:
		shortUsage(stderr)
		return exitUsage
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		shortUsage(stderr)
		return exitUsage
	}
	return -1
}

// runDaemon is lbd without a command: it validates the configuration
// (-t) or runs the daemon until SIGTERM, SIGINT or the end of ctx.
func runDaemon(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, cl := lbdFlags(stderr)
	if code := parseOrHelp(fs, args, stdout, stderr); code >= 0 {
		return code
	}
	file, test, level, format := cl.file, cl.test, cl.level, cl.format
	if *cl.version {
		fmt.Fprintf(stdout, "lbd %s\n", version.Version)
		return exitOK
	}
	if *test {
		return check(*file, stdout, stderr)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(stderr, "lbd: -log-level: %v\n", err)
		return exitUsage
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
		return exitUsage
	}
	// Serve logs why a running daemon stopped; a file that does not load
	// is reported here, every error on a line of its own.
	err := daemon.Serve(ctx, daemon.Options{ConfigPath: *file, Logger: slog.New(h)})
	var ce *daemon.ConfigError
	switch {
	case errors.As(err, &ce):
		printErrors(stderr, *file, ce.Err)
		return exitConfig
	case err != nil:
		return exitConfig
	}
	return exitOK
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

// enterNetns puts command into cfg's global.net_namespace before it
// reads or changes the kernel (netns.Enter: lbd is executed again inside
// it, and the command starts over there). It prints why it cannot and
// returns false.
func enterNetns(command string, cfg *conf.Config, stderr io.Writer) bool {
	if name := cfg.Global.NetNamespace; name != "" {
		if _, err := netns.Enter(name); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", command, err)
			return false
		}
	}
	return true
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
