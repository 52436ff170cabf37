// Command lbd is the lbd daemon: IPVS load balancing and VRRP failover
// driven by a YAML file (lbd -f FILE), its validator (lbd -t -f FILE),
// the reload preview (lbd plan -f FILE), and reload on SIGHUP; plus the
// host preflight (lbd doctor) and the keepalived migration
// (lbd import-keepalived, lbd export-keepalived).
package main

import (
	"context"
	"io"
	"os"

	"github.com/lbd-project/lbd/conf/keepalived"
	"github.com/lbd-project/lbd/internal/daemon"
	"github.com/lbd-project/lbd/internal/doctor"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "doctor":
			return doctor.Run(args[1:], daemon.DefaultConfig, stdout, stderr)
		case "import-keepalived":
			return keepalived.RunImport(args[1:], stdout, stderr)
		case "export-keepalived":
			return keepalived.RunExport(args[1:], stdout, stderr)
		}
	}
	return daemon.Run(ctx, args, stdout, stderr)
}
