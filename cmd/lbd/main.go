// Command lbd is the lbd daemon: IPVS load balancing and VRRP failover
// driven by a YAML file (lbd -f FILE), its validator (lbd -t -f FILE),
// the reload preview (lbd plan -f FILE), and reload on SIGHUP.
// Everything is in package internal/daemon.
package main

import (
	"context"
	"io"
	"os"

	"github.com/lbd-project/lbd/internal/daemon"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return daemon.Run(ctx, args, stdout, stderr)
}
