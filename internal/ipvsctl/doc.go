// Package ipvsctl is ipvsctl's command line: ipvsadm's (package
// internal/ipvsadm, byte for byte) plus the subcommands that talk to the
// lbd daemon over its control socket (package internal/control).
//
// A first argument that is a subcommand name selects it; subcommand names
// do not start with '-', so they never collide with ipvsadm's syntax:
//
//	ipvsctl status [--json]
//	ipvsctl reload [--json]
//	ipvsctl plan [FILE] [--json]
//	ipvsctl drain SERVICE -r SERVER[:PORT] [--timeout DURATION] [--json]
//	ipvsctl enable SERVICE -r SERVER[:PORT] [--json]
//	ipvsctl handover [--restore] [INSTANCE] [--json]
//	ipvsctl help
//
// SERVICE is ipvsadm's -t|-u|--sctp-service ADDRESS[:PORT] or -f FWMARK
// [-6], read by ipvsadm's own parser. --json prints the daemon's result
// as it is. "ipvsctl -h" stays ipvsadm's help; "ipvsctl help" is ipvsctl's
// manual page (manual.go). Subcommands exit 0 on success, 1 when lbd is not running,
// refuses the caller or answers with an error (printed as-is to stderr),
// and 2 for a usage error.
//
// Everything else is ipvsadm, with one difference: when lbd is running,
// -a, -e and -d on a service lbd manages are sent to lbd as a "runtime"
// request instead of changing the kernel, so lbd health-checks the real
// server and keeps it across reloads. When lbd is not running (no control
// socket, or a stale one), answers "not_managed", or does not know the
// runtime method, the command changes the kernel exactly as ipvsadm does.
// On success nothing is printed (as ipvsadm); an error from lbd is printed
// as-is and the exit status is 255, ipvsadm's for a failed kernel call.
//
// Two options are ipvsctl's own and are removed before ipvsadm parses the
// command line (anywhere before a "--"): --socket PATH (or --socket=PATH)
// names the control socket (default control.DefaultPath), and --kernel
// makes -a/-e/-d change the kernel directly, lbd or not.
package ipvsctl
