// Package lbdrole is lbd as a role of a lab test binary: lab tests run
// their test binary again as lbd in a node (lab.Node.StartRole) and give
// Run to lab.Main for that. It is apart from lab because internal/daemon's
// own tests use lab, which therefore cannot import daemon.
package lbdrole

import (
	"context"
	"os"

	"github.com/lbd-project/lbd/internal/daemon"
)

// Run is the lbd daemon on args, as the lbd command runs it.
func Run(args []string) int {
	return daemon.Run(context.Background(), args, os.Stdout, os.Stderr)
}
