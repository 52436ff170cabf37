package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/internal/doctor"
)

// runDoctor is `lbd doctor [-f FILE]`: it checks the host for the
// configuration and prints the findings. The exit status is 1 when a check
// failed, 0 otherwise (warnings included), 2 for bad usage or an invalid
// file.
func runDoctor(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lbd doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", defaultConfig, "configuration `file`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "lbd doctor: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg, err := conf.Load(*file)
	if err != nil {
		fmt.Fprintf(stderr, "lbd doctor: %v\n", err)
		return 2
	}
	if doctor.Print(stdout, doctor.Check(cfg, doctor.System{})) == doctor.Fail {
		return 1
	}
	return 0
}
