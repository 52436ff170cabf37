package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/internal/doctor"
	"github.com/lbd-project/lbd/internal/netns"
)

// runDoctor is `lbd doctor [-f FILE] [--compare ADDR ...]`: it checks the
// host for the configuration and prints the findings. With --compare
// (repeatable, and the arguments after the flags count too) it also
// compares the table fingerprints of the local daemon (the configuration's
// control socket) with those of the balancers at each ADDR: a control
// socket path or a metrics URL. The exit status is 1 when a check failed,
// 0 otherwise (warnings included), 2 for bad usage or an invalid file.
func runDoctor(args []string, stdout, stderr io.Writer) int {
	fs, file, comparePtr := doctorFlags(stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 && len(*comparePtr) == 0 {
		fmt.Fprintf(stderr, "lbd doctor: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	compare := append(*comparePtr, fs.Args()...)
	cfg, err := conf.Load(*file)
	if err != nil {
		fmt.Fprintf(stderr, "lbd doctor: %v\n", err)
		return 2
	}
	// The checks read the namespace the daemon runs in: enter it first
	// (lbd doctor is executed again inside it). Outside it they would
	// check the wrong interfaces, sysctls and firewall.
	var findings []doctor.Finding
	if name := cfg.Global.NetNamespace; name != "" {
		_, err := netns.Enter(name)
		findings = append(findings, doctor.Namespace(name, err))
		if err != nil {
			doctor.Print(stdout, findings)
			return 1
		}
	}
	findings = append(findings, doctor.Check(cfg, doctor.System{})...)
	if len(compare) > 0 {
		findings = append(findings, doctor.Compare(context.Background(), cfg.Global.ControlSocket, compare)...)
	}
	if doctor.Print(stdout, findings) == doctor.Fail {
		return 1
	}
	return 0
}

// doctorFlags is the parser of `lbd doctor`; runDoctor and the completion
// share it. compare collects the -compare values.
func doctorFlags(stderr io.Writer) (fs *flag.FlagSet, file *string, compare *[]string) {
	fs = flag.NewFlagSet("lbd doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file = fs.String("f", defaultConfig, "configuration `file`")
	compare = new([]string)
	fs.Func("compare", "compare the IPVS tables with the balancer at `ADDR` (control socket path or http://host:port/metrics); repeatable", func(s string) error {
		*compare = append(*compare, s)
		return nil
	})
	return fs, file, compare
}
