package main

import (
	"fmt"
	"io"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/internal/netns"
)

// check is `lbd -t`: it loads file with the same conf.Load the daemon
// uses, and prints either what the file holds or every error in it. It
// does not enter global.net_namespace, but the namespace must exist: the
// daemon would not start.
func check(file string, stdout, stderr io.Writer) int {
	cfg := loadOrReport(file, stderr)
	if cfg == nil {
		return exitConfig
	}
	if name := cfg.Global.NetNamespace; name != "" {
		if err := netns.Check(name); err != nil {
			printErrors(stderr, file, conf.ErrorList{{Pos: cfg.Global.Pos, Msg: err.Error()}})
			return exitConfig
		}
	}
	fmt.Fprintf(stdout, "lbd: %s is valid: %s\n", file, cfg.Summary())
	return exitOK
}
