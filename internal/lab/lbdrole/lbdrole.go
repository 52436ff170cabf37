// Package lbdrole is lbd as a role of a lab test binary: lab tests run
// their test binary again as lbd in a node (lab.Node.StartRole) and give
// Run to lab.Main for that. It is apart from lab because internal/daemon's
// own tests use lab, which therefore cannot import daemon.
package lbdrole

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/lbd-project/lbd/internal/daemon"
)

// Run is the lbd daemon on args: -f FILE, and -log-level (default info),
// the flags of `lbd -f FILE` the lab tests use.
func Run(args []string) int {
	fs := flag.NewFlagSet("lbd", flag.ContinueOnError)
	file := fs.String("f", "/etc/lbd/lbd.yaml", "configuration file")
	var level slog.Level
	fs.TextVar(&level, "log-level", slog.LevelInfo, "log level")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if err := daemon.Serve(context.Background(), daemon.Options{ConfigPath: *file, Logger: log}); err != nil {
		fmt.Fprintln(os.Stderr, "lbd:", err)
		return 1
	}
	return 0
}
