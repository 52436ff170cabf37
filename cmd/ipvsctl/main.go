// Command ipvsctl is an ipvsadm-compatible administration tool for the
// kernel's IP Virtual Server: the same options, messages, exit codes and
// byte-identical listings as ipvsadm 1.31, plus --json for listings,
// "ipvsctl diff FILE" to preview what "ipvsctl -R < FILE" would change,
// and the subcommands that drive the lbd daemon (status, reload, plan,
// drain, enable, handover; "ipvsctl help" is the manual). When lbd runs,
// -a, -e and -d on a service it manages go to lbd. See packages
// internal/ipvsctl and internal/ipvsadm for the details.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/lbd-project/lbd/internal/ipvsadm"
	lbdctl "github.com/lbd-project/lbd/internal/ipvsctl"
	"github.com/lbd-project/lbd/internal/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// versionLine follows ipvsadm's own for -v and --version.
var versionLine = "ipvsctl (lbd " + version.Version + ")\n"

// run is ipvsctl with its world passed in; it returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return lbdctl.Run(ctx, lbdctl.Env{Env: ipvsadm.Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Version: versionLine}}, args)
}
