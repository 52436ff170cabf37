package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/lbd-project/lbd/internal/daemon"
)

// releaseFlags is the parser of `lbd release`; runRelease and the
// manual's test share it.
func releaseFlags(stderr io.Writer) (*flag.FlagSet, *string) {
	return fileFlags("lbd release", stderr)
}

// runRelease is `lbd release -f FILE` (see daemon.Release): it prints each
// address, route and rule it removed on stdout, each one it could not on stderr. Exit 1
// for a bad file or an address that could not be removed.
func runRelease(args []string, stdout, stderr io.Writer) int {
	fs, file := releaseFlags(stderr)
	if code := parseOrHelp(fs, args, stdout, stderr); code >= 0 {
		return code
	}
	cfg := loadOrReport(*file, stderr)
	if cfg == nil || !enterNetns("lbd release", cfg, stderr) {
		return exitConfig
	}
	code := exitOK
	daemon.Release(cfg, func(instance, what string) {
		fmt.Fprintf(stdout, "lbd release: instance %s: removed %s\n", instance, what)
	}, func(err error) {
		fmt.Fprintf(stderr, "lbd release: %v\n", err)
		code = exitConfig
	})
	return code
}
