// Package ipvsadm is the engine of ipvsctl: a drop-in reimplementation of
// ipvsadm 1.31 (as shipped by Debian, with its patches) on top of package
// ipvs.
//
// It reproduces ipvsadm's command line (popt 1.19 option parsing, including
// clustered short options, optional arguments and leftover arguments), its
// validation with the same messages and exit codes, and its output formats
// byte for byte: the listings of -L/-l with every format option, -S, -c
// (from /proc/net/ip_vs_conn), --timeout and --daemon. Sorting follows
// ipvsadm's own comparators run through glibc's merge sort, so even its
// wrap-around quirks (addresses above 128.0.0.0 sorting first when the
// difference overflows an int) come out identical.
//
// Beyond ipvsadm it offers --json for every listing and the "diff"
// subcommand, and it restores (-R) by simulating the command stream on a
// copy of the kernel table, then applying only the difference in one
// pipelined batch (ipvs.Diff and ipvs.Client.Apply). Env.RealServer lets
// package internal/ipvsctl take -a, -e and -d commands before they reach
// the kernel (to hand them to lbd), and ParseRealServer reads ipvsadm's
// service and real-server options for its drain and enable; without
// them the package is ipvsadm alone.
//
// Exit codes are ipvsadm's: 0 on success, 2 for usage and validation errors,
// 255 for option parsing errors and for failed kernel operations, 1 when a
// listing cannot be read.
package ipvsadm
