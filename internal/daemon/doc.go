// Package daemon is lbd's daemon in its first form: the VRRP side of
// keepalived, driven by lbd's YAML configuration (package conf).
//
// [Run] is the whole program behind cmd/lbd: `lbd -t -f FILE` validates a
// file with the same conf.Load the daemon uses; `lbd -f FILE` runs every
// vrrp_instance of it until SIGTERM or SIGINT, and reloads on SIGHUP.
//
// # Units
//
// The daemon runs its instances in units: a vrrp_sync_group with its
// members is one unit, an instance outside any group is a unit of its own.
// One goroutine owns a unit's state machines ([vrrp.Instance], or a
// [vrrp.SyncGroup] of them), in the style of vrrp.Runner: reader
// goroutines only move packets onto a channel, trackers (links,
// vrrp_scripts, track files) only deliver events, and notify scripts run
// on a queue of their own so that a slow script never delays an advert.
//
// # Reload
//
// SIGHUP parses and validates the file; a bad file changes nothing (the
// errors are logged and systemd's STATUS says "reload failed: FILE:LINE:COL:
// ..."). Otherwise every unit is compared with its previous configuration
// (see diff in spec.go): a unit whose configuration (its instances after defaults, the
// vrrp_scripts they track, its sync group) did not change keeps running
// untouched (no state change, no advert out of turn, no gratuitous ARP);
// changed units are stopped and started again, removed units are stopped,
// new units are started. A restarted or added unit starts only once every
// stopped unit has finished, so a VRID never has two owners in one process.
//
// # Planned handover (make-before-break)
//
// A unit that stops (SIGTERM, SIGINT, or a reload that removes or changes
// it) while one of its instances is Master hands over without a gap:
//
//  1. it sends an advert with priority 0 (RFC 5798 section 6.4.3), so a
//     Backup takes over after its Skew_Time rather than
//     Master_Down_Interval;
//  2. it KEEPS the virtual addresses, so the host goes on answering ARP and
//     traffic for them, and repeats the priority-0 advert every advert
//     interval (in case one is lost);
//  3. as soon as an advert with a non-zero priority arrives from another
//     router (the new Master, which has just added the addresses and sent
//     gratuitous ARP), it waits a short linger ([HandoverLinger]) for that
//     gratuitous ARP to reach the LAN, then removes the addresses and runs
//     notify_stop;
//  4. if no new Master is heard within 3 x advert interval + one interval
//     (the longest Master_Down_Interval of any Backup) + 100 ms, it removes
//     the addresses anyway: there is no Backup to hand over to.
//
// For a few milliseconds both routers hold the addresses; on a LAN that is
// harmless, since the new Master's gratuitous ARP moves every neighbour to
// it, and packets that still reach the old Master are answered. A second
// SIGTERM or SIGINT during the wait skips it.
//
// # systemd
//
// READY=1 with STATUS "N VRRP instances: M master" once the instances run,
// RELOADING=1 / READY=1 around every reload, STOPPING=1 at shutdown, STATUS
// updated on every state change, and WATCHDOG=1 pings for as long as the
// main loop answers.
package daemon
