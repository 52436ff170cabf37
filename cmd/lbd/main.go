// Command lbd is the lbd daemon: IPVS load balancing and VRRP failover
// driven by a YAML file (lbd -f FILE), its validator (lbd -t -f FILE),
// the reload preview (lbd plan -f FILE), and reload on SIGHUP; plus the
// removal of a dead daemon's addresses (lbd release), the host preflight
// (lbd doctor) and the keepalived migration (lbd import-keepalived,
// lbd export-keepalived).
//
// This package is the command line: flags, the manual, output and exit
// codes. What the commands do is elsewhere: the daemon in
// internal/daemon, the offline planner and the run-time state file in lb,
// the host checks in internal/doctor, the conversions in conf/keepalived.
package main

import (
	"context"
	"io"
	"os"

	"github.com/lbd-project/lbd/internal/completion"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run is the lbd program: it runs the command args (without the program
// name) names, the daemon without one, and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "plan":
			return runPlan(ctx, args[1:], stdout, stderr)
		case "release":
			return runRelease(args[1:], stdout, stderr)
		case "help":
			io.WriteString(stdout, manual)
			return exitOK
		case "doctor":
			return runDoctor(args[1:], stdout, stderr)
		case "import-keepalived":
			return runImport(args[1:], stdout, stderr)
		case "export-keepalived":
			return runExport(args[1:], stdout, stderr)
		case "completion":
			return runCompletion(args[1:], stdout, stderr)
		case completion.Command:
			return runComplete(args[1:], stdout)
		}
	}
	return runDaemon(ctx, args, stdout, stderr)
}
