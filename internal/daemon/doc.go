// Package daemon is lbd's daemon: the VRRP side of keepalived and the
// load-balancing engine (package lb) driven by one YAML configuration
// (package conf), with a control socket and Prometheus metrics.
//
// [Serve] is `lbd -f FILE`: it runs every vrrp_instance and
// virtual_server of FILE until SIGTERM or SIGINT, and reloads on SIGHUP.
// [Release] is `lbd release -f FILE`: it removes FILE's virtual addresses
// after a daemon died without handing over. The command line of these and
// of lbd's other commands (flags, the manual, output, exit codes) is
// cmd/lbd's.
//
// # IPVS
//
// At start the daemon opens the kernel's IPVS (*ipvs.Client) and runs an
// lb.Engine. A configuration with virtual_servers (or lvs_sync_daemon,
// lvs_timeouts) does not start on a kernel without IPVS, and says so; a
// VRRP-only one runs without it (and a reload that adds virtual servers
// is then refused). Every VRRP transition to or from MASTER is passed to
// the engine (SetVRRPState) through a queue that never blocks a unit, so
// virtual servers with vrrp_instance follow their instance, as does the
// sync daemon.
//
// # Run-time state
//
// Real servers added with ipvsctl on a managed service (the control
// method "runtime") and operator drains ("drain" until "enable") are kept
// in global.state_dir/runtime.json (default /var/lib/lbd), written
// atomically before each change takes effect, and restored at start. When
// the file cannot be written (a full disk) the change is refused, with an
// error naming the file and the cause, and the old file stays as it was. A
// run-time real server is health-checked with its virtual server's check
// and kept across reloads while its virtual server exists (and the file
// does not configure the same address).
//
// # Control socket
//
// global.control_socket (default /run/lbd/control.sock, mode 0600, root
// and the daemon's own uid) serves the methods of internal/control:
// status, reload (the SIGHUP path; a bad file is refused with
// invalid_params and every file:line:col), plan, drain, enable, runtime
// (not_managed for a service lbd does not own; exists / configured for an
// add of a present server / an edit of a file's server), and handover.
// Requests go to the goroutine that owns the state: the daemon loop, a
// unit's loop or the engine's. A socket that cannot be created is logged
// and the daemon goes on without it.
//
// # Handover on request
//
// "handover" runs vrrp's make-before-break sequence on the MASTER
// instances (one instance's unit, or all) without stopping: the priority
// drops by 253 (a tracked object "lbd:handover" every instance has), a
// priority-0 advert asks the Backup to take over at once, the addresses
// stay until the new Master is heard, then go. The instances stay BACKUP
// (priority 1 at most, still ready to take over should the other router
// fail) until the next reload or a "handover" with restore. In a sync
// group without tracking_weight the tracked weight is forced to 0, so its
// members wait in FAULT instead. If no router takes over in time, the
// priority comes back and the instance stays MASTER (error "failed").
//
// # Metrics
//
// global.metrics_address (default 127.0.0.1:9274; "" turns it off)
// serves /metrics. Package internal/metrics builds the series and lists
// them; the daemon gives it a metrics.Source (the loop's state and the
// engine), counts reloads, wraps the health checkers and prunes their
// series after a reload or a run-time delete. control_socket, state_dir,
// metrics_address and net_namespace change only at restart: a reload that
// changes them keeps the running values, and says so in the log and in
// its event (ipvsctl status).
//
// # Network namespace
//
// With global.net_namespace, Serve enters the namespace right after it
// loaded the file, before it opens anything (package internal/netns: the
// program is executed again inside it, keeping its PID), and logs how it
// got there. Everything that uses the network is then the namespace's:
// VRRP, IPVS, addresses, routes, health checks, BGP, the metrics listener,
// and the scripts lbd runs. The control socket and the state file are
// files, reached from any namespace.
//
// # VRRP
//
// The daemon runs a vrrp.Runner per unit: a vrrp_sync_group with its
// members, or an instance outside any group (spec.go maps the file to
// units). Package vrrp owns the protocol behaviour: tracking, notify
// scripts, fast takeover, the VIP lease and make-before-break on stop and
// on "handover". Every transition to or from MASTER is passed to the
// engine through a queue that never blocks a runner.
//
// # Reload
//
// SIGHUP parses and validates the file; a bad file changes nothing (the
// errors are logged and systemd's STATUS says "reload failed: FILE:LINE:COL:
// ..."). A good one goes to the engine first (lb.Engine.Reload), which
// refuses it whole if it cannot prepare it (nothing changes then either);
// then every unit is compared with its previous configuration
// (see diff in spec.go): a unit whose configuration (its instances after defaults, the
// vrrp_scripts they track, its sync group) did not change keeps running
// untouched (no state change, no advert out of turn, no gratuitous ARP);
// changed units are stopped and started again, removed units are stopped,
// new units are started. A restarted or added unit starts only once every
// stopped unit has finished, so a VRID never has two owners in one process.
// A second SIGTERM or SIGINT during a stop skips the handover wait.
//
// # systemd
//
// READY=1 with STATUS "N VRRP instances: M master" once the instances run,
// RELOADING=1 / READY=1 around every reload, STOPPING=1 at shutdown, STATUS
// updated on every state change, and WATCHDOG=1 pings for as long as the
// main loop answers.
package daemon
