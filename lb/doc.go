// Package lb is lbd's load-balancing engine: it keeps the kernel's IPVS
// table equal to the desired state, which is the configuration (package
// conf) combined with real-server health (package healthcheck) and VRRP
// roles, with keepalived's semantics:
//
//   - a failed real server is removed, or kept with weight 0 under
//     inhibit_on_failure, and restored when its check passes again;
//   - quorum is the sum of the weights of live real servers; below
//     quorum-hysteresis the sorry server replaces the real servers and
//     quorum_down runs, at quorum+hysteresis they come back and quorum_up
//     runs;
//   - alpha starts checked real servers down, omega runs notify_down and
//     quorum_down when the engine stops;
//   - notify and quorum scripts run through a ScriptRunner, in order, never
//     blocking the engine.
//
// Beyond keepalived, and answering its best-known complaints:
//
//   - lbd owns exactly the services of its configuration. The kernel dump
//     is filtered to them, so services added by other tools are never
//     touched.
//   - Start-up adopts the kernel table: no flush, and a restart on a table
//     that is already right sends nothing (and RemoveOnStop is off by
//     default so a restart drops no connection).
//   - Every change is a diff (ipvs.Diff) between desired and kernel state;
//     a periodic reconcile (global.lvs_reconcile_interval) repairs drift
//     such as an `ipvsadm -d` behind lbd's back, and logs it.
//   - Reload keeps the health state of unchanged real servers, touches
//     only the services whose desired state changed, and drains a removed
//     real server (weight 0 until its active connections reach 0 or
//     global.lvs_drain_timeout) instead of cutting its connections.
//     Plan shows the changes a reload would make without making them.
//   - A failed apply is logged change by change, reported in Status and to
//     the caller, and retried with back-off by a full reconcile.
//
// One goroutine (Engine.Run) owns all state; health events, VRRP roles and
// requests (Reload, Plan, Reconcile, Status, SetVRRPState) reach it over
// channels. The kernel is behind the Kernel interface: *ipvs.Client in the
// daemon, ipvstest.Kernel in tests.
package lb
