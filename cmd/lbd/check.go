package main

import (
	"fmt"
	"io"
)

// check is `lbd -t`: it loads file with the same conf.Load the daemon
// uses, and prints either what the file holds or every error in it.
func check(file string, stdout, stderr io.Writer) int {
	cfg := loadOrReport(file, stderr)
	if cfg == nil {
		return exitConfig
	}
	fmt.Fprintf(stdout, "lbd: %s is valid: %s\n", file, cfg.Summary())
	return exitOK
}
