package ipvsctl

// manual is the text of "ipvsctl help", a manual page on stdout; %[1]s is
// the default control socket. "ipvsctl -h" stays ipvsadm's own help, byte
// for byte, for scripts that parse it. Every subcommand and every option of
// ownOptions must appear here (see TestHelpDocumentsEverything).
const manual = `NAME
       ipvsctl - ipvsadm-compatible IPVS administration, and control of the
       lbd daemon

SYNOPSIS
       ipvsctl [--socket PATH] [--kernel] IPVSADM-ARGUMENTS...
       ipvsctl [--socket PATH] status [--json]
       ipvsctl [--socket PATH] reload [--json]
       ipvsctl [--socket PATH] plan [FILE] [--json]
       ipvsctl [--socket PATH] drain SERVICE -r SERVER[:PORT]
               [--timeout DURATION] [--json]
       ipvsctl [--socket PATH] enable SERVICE -r SERVER[:PORT] [--json]
       ipvsctl [--socket PATH] drain --balancer [--json]
       ipvsctl [--socket PATH] enable --balancer [--json]
       ipvsctl [--socket PATH] handover [--restore] [INSTANCE] [--json]
       ipvsctl diff FILE
       ipvsctl completion bash
       ipvsctl help
       ipvsctl -v | --version
       ipvsctl -h | --help

DESCRIPTION
       ipvsctl is ipvsadm: the same options, messages, exit statuses and
       byte-identical listings (-L -n, -S, --stats, --rate, -c) as ipvsadm
       1.31, so scripts and habits carry over; "ipvsctl -h" prints ipvsadm's
       option summary. Listings also take --json.

       When the lbd daemon runs, -a, -e and -d on a virtual service lbd
       manages go to lbd instead of the kernel: lbd health-checks the real
       server with the service's check, keeps it across reloads and
       restarts, and "status" marks it "runtime". Everything else, and every
       command while lbd is not running, changes the kernel as ipvsadm does.

       The commands below talk to lbd over its control socket (mode 0600:
       run them as root).

COMMANDS
       status  The managed virtual and real servers (health, the reason of
               the last change, the last check, weights, drain state,
               connections), the VRRP instances with their masters, the last
               reload and the last events (--json: all of them). lbd's status
               page (metrics_address) shows the same.

       reload  Reload lbd's configuration file and print the changes made. A
               bad file changes nothing; its errors are printed, FILE:LINE:COL.

       plan    Print the IPVS changes a reload (of FILE, if given) would make,
               in ipvsadm syntax: + add, ~ edit in place, - delete.

       drain   Set the real server's weight to 0 and take it out once its
               connections end or --timeout passes (default: global
               lvs_drain_timeout). It stays out, across reloads and restarts,
               until "enable".

       enable  Undo a drain: the real server gets its weight back.

       drain --balancer
               Take this balancer out of its active/active set (announce:
               bgp): withdraw every BGP route, wait until the peers have
               been sent the withdrawals, then go on serving for
               bgp.drain_delay while the routers move the clients to the
               other balancers. Established connections keep working on
               the others (mh with lvs_sloppy_tcp). It announces nothing
               until "enable --balancer"; systemctl stop drains the same
               way first.

       enable --balancer
               Undo a balancer drain: each address is announced again once
               it has served for bgp.hold_down.

       handover
               Hand the MASTER VRRP instances (or INSTANCE) over to a backup
               without losing packets; they stay BACKUP until the next
               reload or "handover --restore", which gives them their
               priority back.

       diff    Print what "ipvsctl -R < FILE" would change in the kernel,
               without changing it.

       completion bash
               Print the bash completion script (the package installs it):
               Tab completes subcommands, options, schedulers, and the
               services, real servers and VRRP instances of the running
               daemon. The script asks ipvsctl itself for the candidates.

       help    Print this manual.

       SERVICE is -t|-u|--sctp-service ADDRESS[:PORT] or -f FWMARK [-6], as
       in ipvsadm.

OPTIONS
       --socket PATH
              lbd's control socket. Default: %[1]s.
              It may appear anywhere before a "--".

       --kernel
              -a, -e and -d change the kernel directly, as ipvsadm does,
              even on a service lbd manages (lbd's reconciliation may then
              undo the change: see docs/operations.md).

       --json
              Print lbd's answer as JSON (status, reload, plan, drain,
              enable, handover).

       --timeout DURATION
              drain: take the real server out after DURATION (30s, 5m, or a
              number of seconds) even if connections remain.

       --restore
              handover: give the instances their priority back.

       --balancer
              drain, enable: this whole balancer's BGP announcements rather
              than one real server.

       -v, --version
              Print ipvsadm's version line, as ipvsadm does, then a line
              with lbd's version ("ipvsctl (lbd VERSION)").

       All of ipvsadm's options: see "ipvsctl -h" and ipvsadm(8).

EXIT STATUS
       Commands for lbd (status, reload, plan, drain, enable, handover):
              0 success; 1 lbd is not running, refused the caller or
              answered with an error (printed as it is: a refused reload,
              an unknown real server, a full disk for lbd's state, ...);
              2 bad command line.

       ipvsadm commands and diff:
              as ipvsadm: 0 success; 255 for a bad option or a failed change
              (also when lbd refuses -a, -e or -d); 2 when the kernel has no
              IPVS.

EXAMPLES
       List the table, then lbd's view of it:

              ipvsctl -L -n
              ipvsctl status

       Take a real server out for maintenance, then back:

              ipvsctl drain -t 198.51.100.10:80 -r 192.0.2.21:8080 --timeout 5m
              ipvsctl enable -t 198.51.100.10:80 -r 192.0.2.21:8080

       Add a real server while lbd runs; lbd checks it and keeps it:

              ipvsctl -a -t 198.51.100.10:80 -r 192.0.2.24:8080 -w 2

       Preview a configuration edit, then reload:

              ipvsctl plan /etc/lbd/lbd.yaml
              ipvsctl reload

       Planned maintenance of this balancer:

              ipvsctl handover
              ipvsctl handover --restore

       ... or of one balancer of an active/active (BGP) set:

              ipvsctl drain --balancer
              ipvsctl enable --balancer

SEE ALSO
       lbd(8), lbd.yaml(5), lbd-genhash(1), ipvsadm(8); docs/operations.md.
`
