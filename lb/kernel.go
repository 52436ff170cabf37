package lb

import (
	"context"

	"github.com/lbd-project/lbd/ipvs"
)

// Kernel is the engine's view of the IPVS table: what *ipvs.Client offers
// for reconciliation. Tests use ipvstest.Kernel.
type Kernel interface {
	// Dump reads the whole table.
	Dump(ctx context.Context) (ipvs.Table, error)
	// DumpServices reads only the given services; missing ones are left out.
	DumpServices(ctx context.Context, svcs ...ipvs.Service) (ipvs.Table, error)
	// Apply makes the changes of a plan, reporting each change's outcome.
	Apply(ctx context.Context, p ipvs.Plan) (ipvs.ApplyResult, error)
}

// GlobalKernel is implemented by kernels that also hold the IPVS-wide
// settings (connection timeouts, sync daemons, sloppy TCP), as
// *ipvs.Client does. The engine manages them only when its Kernel
// implements it.
type GlobalKernel interface {
	Timeouts(ctx context.Context) (ipvs.Timeouts, error)
	SetTimeouts(ctx context.Context, t ipvs.Timeouts) error
	SyncDaemons(ctx context.Context) ([]ipvs.SyncDaemon, error)
	StartSyncDaemon(ctx context.Context, d ipvs.SyncDaemon) error
	StopSyncDaemon(ctx context.Context, state ipvs.DaemonState) error
	SloppyTCP() (bool, error)
	SetSloppyTCP(on bool) error
}

var (
	_ Kernel       = (*ipvs.Client)(nil)
	_ GlobalKernel = (*ipvs.Client)(nil)
)
