package main

import (
	"fmt"
	"io"
)

// manual is the text of `lbd -h`, `lbd --help` and `lbd help`: a manual
// page, on stdout. Every option of lbd's parsers must appear in OPTIONS
// (see TestManualDocumentsEveryOption and
// TestManualDocumentsSubcommandOptions).
const manual = `NAME
       lbd - IPVS load balancer with VRRP failover, driven by one YAML file

SYNOPSIS
       lbd [-f FILE] [-log-level LEVEL] [-log-format text|json]
       lbd -t [-f FILE]
       lbd plan [-f FILE] [-socket PATH]
       lbd release [-f FILE]
       lbd doctor [-f FILE] [-compare ADDR]...
       lbd import-keepalived [-o FILE] [-i CONFIG_ID]... KEEPALIVED.CONF
       lbd export-keepalived [-o FILE] [-f FILE]
       lbd completion bash
       lbd -version | --version
       lbd -h | --help | help

DESCRIPTION
       lbd does what keepalived, LVS and ipvsadm do together: it programs
       the kernel's IPVS table (virtual servers and their real servers),
       health-checks the real servers, and moves virtual IP addresses
       between balancers with VRRP (RFC 3768 and RFC 5798). Everything comes
       from one YAML file, /etc/lbd/lbd.yaml by default.

       Without a command lbd runs as a daemon in the foreground, logging to
       stderr; under systemd it runs as lbd.service (Type=notify). At start
       it adopts the IPVS table as it is and changes only the difference, so
       a restart drops no traffic. SIGHUP (systemctl reload lbd, or ipvsctl
       reload) reloads the file: a bad file changes nothing and says why,
       and unchanged services and VRRP instances are not touched. ipvsctl
       talks to the running daemon over its control socket.

       With global.net_namespace NAME in FILE, lbd runs inside the network
       namespace /var/run/netns/NAME (ip netns add NAME makes it): it enters
       it at start, before it opens a socket, by executing itself again
       inside it (same PID). Its addresses, IPVS table, VRRP, checks and
       metrics listener are then the namespace's; the control socket is a
       file and works from anywhere. plan, release and doctor enter it too.
       Under systemd, give lbd.service NetworkNamespacePath=/run/netns/NAME
       instead: its sandbox allows no setns(2).

COMMANDS
       (none)  Run the daemon with FILE.

       -t      Check FILE and exit: every error as FILE:LINE:COL, exit status
               0 only for a valid file. The network namespace FILE names
               (global.net_namespace) must exist; -t does not enter it.

       plan    Print the IPVS changes a reload of FILE would make, in
               ipvsadm syntax (+ add, ~ edit in place, - delete), without
               making them. It asks the running daemon, or without one
               compares FILE with the kernel table.

       release Remove the virtual routes, rules and addresses of FILE's
               VRRP instances, and the use_vmac macvlans lbd made.
               lbd.service runs it after lbd exits
               (ExecStopPost), so that a daemon killed without handing over
               does not keep the addresses while a backup takes them. It
               also removes the announce: bgp addresses from
               bgp.vip_interface: with lbd gone its BGP sessions are
               closed, and nothing health-checks the table behind them.

       doctor  Check this host for FILE (IPVS modules, forwarding for NAT,
               reverse-path filtering, a firewall that drops VRRP, ...) and
               print each finding with its fix. It only reads. With
               -compare it also checks that this balancer and the others
               build the same mh/sh tables (see -compare).

       import-keepalived
               Convert KEEPALIVED.CONF (with its includes) to lbd's YAML, on
               stdout or in -o FILE, and report on stderr every keyword lbd
               expresses differently or not at all.

       export-keepalived
               Write FILE as keepalived.conf, on stdout or in -o FILE, for a
               rollback to keepalived.

       completion bash
               Print the bash completion script (the package installs it).
               It asks lbd itself for the candidates: subcommands, options
               and their values.

       help    Print this manual (as -h and --help do).

OPTIONS
       Options take one dash or two (-f FILE, --f=FILE).

       -f FILE
              The configuration file (lbd, -t, plan, release, doctor) or
              the lbd file to export (export-keepalived). Default:
              /etc/lbd/lbd.yaml.

       -t     Check the configuration file and exit (see COMMANDS).

       -log-level LEVEL
              Log debug, info (the default), warn or error messages and up.

       -log-format text|json
              Log lines as key=value text (the default) or as JSON objects.

       -socket PATH
              lbd plan: the daemon's control socket. Default: the file's
              global.control_socket (/run/lbd/control.sock).

       -compare ADDR
              lbd doctor: compare the table fingerprint of every IPVS
              service of the daemon running FILE (its control socket) with
              the balancer at ADDR, its control socket path or its metrics
              URL (http://host:port/metrics); repeatable, and further ADDRs
              may follow the options. A service whose table differs is a
              failed check naming the balancers; one a balancer lacks is a
              warning. Each balancer gets 3 seconds and 64 MiB to answer.

       -o FILE
              import-keepalived, export-keepalived: write the result to FILE
              instead of stdout.

       -i CONFIG_ID
              import-keepalived: the keepalived config-id whose "@CONFIG_ID"
              lines to keep; repeatable. Without it "@ID" lines are dropped
              and "@^ID" lines kept.

       -version
              Print lbd's version and exit.

       -h, -help, --help
              Print this manual and exit.

SIGNALS
       SIGHUP  Reload the configuration file.

       SIGTERM, SIGINT
               Stop: each MASTER instance hands its addresses to a backup
               without losing a packet (priority 0, then waits to hear the
               new master), then lbd exits. A second signal skips the wait.

FILES
       /etc/lbd/lbd.yaml
              The configuration file (docs/config.md describes every key).

       /var/lib/lbd/runtime.json
              Real servers added with ipvsctl -a and drained ones, kept
              across restarts (in global.state_dir). It is replaced
              atomically: when it cannot be written (a full disk), the
              change is refused with the reason, and nothing is lost.

       /run/lbd/control.sock
              The control socket ipvsctl uses (global.control_socket).

       /var/run/netns/NAME
              The network namespace lbd runs in with global.net_namespace
              NAME, as ip netns add NAME creates it.

EXIT STATUS
       lbd, lbd -t, lbd plan, lbd release:
              0 success; 1 invalid configuration file or the daemon failed
              (the errors are on stderr); 2 bad command line.

       lbd doctor:
              0 no check failed (warnings may be printed); 1 a check failed;
              2 bad command line or invalid file.

       lbd import-keepalived, lbd export-keepalived:
              0 converted; 1 converted, but something behaves differently
              (see the report); 2 bad command line, unreadable or invalid
              input.

EXAMPLES
       Migrate from keepalived, check, and run:

              lbd import-keepalived -o /etc/lbd/lbd.yaml \
                  /etc/keepalived/keepalived.conf
              lbd -t -f /etc/lbd/lbd.yaml
              lbd doctor -f /etc/lbd/lbd.yaml
              systemctl enable --now lbd

       Preview and apply an edit:

              lbd plan -f /etc/lbd/lbd.yaml
              systemctl reload lbd

       Check that three balancers behind ECMP build the same tables:

              lbd doctor -compare http://lb2:9274/metrics \
                  -compare http://lb3:9274/metrics

       Run in the foreground with debug logs:

              lbd -f ./lbd.yaml -log-level debug

SEE ALSO
       lbd.yaml(5), ipvsctl(8), lbd-genhash(1), systemctl(1),
       keepalived(8), ipvsadm(8); docs/config.md and docs/operations.md.
`

// usageLines is the short usage printed on stderr after a bad command
// line: the synopsis and where the manual is.
const usageLines = `usage: lbd [-f FILE] [-log-level LEVEL] [-log-format text|json]
       lbd -t [-f FILE]
       lbd plan [-f FILE] [-socket PATH]
       lbd release | doctor | import-keepalived | export-keepalived ...
Run 'lbd --help' for the manual.
`

func shortUsage(w io.Writer) { fmt.Fprint(w, usageLines) }
