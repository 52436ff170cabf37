// Package vrrp implements the Virtual Router Redundancy Protocol for lbd:
// version 2 (RFC 3768, IPv4 only) and version 3 (RFC 5798, IPv4 and IPv6).
//
// The package is split into pure parts that do no I/O and are tested without
// privileges:
//
//   - the advertisement codec ([Advert], [Advert.Marshal], [Decode]), which
//     builds and parses the VRRP message that follows the IP header, with the
//     RFC 3768 checksum (over the VRRP message) and the RFC 5798 checksum
//     (over an IPv4 or IPv6 pseudo-header with protocol 112);
//   - the receive checks of RFC 5798 section 7.1 and RFC 3768 section 7.1
//     ([CheckConfig.Check], [CheckConfig.Receive]), which return a
//     [DropReason] so that every dropped packet can be counted by reason;
//   - the protocol state machine of RFC 5798 section 6.4 ([Instance]), which
//     also drives VRRPv2, with keepalived's extensions: a Fault state for
//     tracking failures, tracked objects whose weights move the effective
//     priority, preempt_delay, nopreempt, and the split-brain guard of
//     answering a lower-priority master with an advertisement and
//     gratuitous ARP;
//   - sync groups ([SyncGroup]) that move a set of instances together, as
//     keepalived's vrrp_sync_group does.
//
// The state machine never reads a clock and never sleeps: every call takes
// the current time, and the returned [Action] values tell the caller what to
// send, which addresses to add or remove, and when to deliver the next
// [TimerFired] event. One goroutine owns an [Instance] (or a [SyncGroup] and
// its members); sockets and netlink live in the caller.
//
// A [Runner] is that goroutine, and it is the VRRP runtime lbd runs: one
// per vrrp_sync_group and one per instance outside any group. It opens
// each member's I/O through a [Host] (package vrrp/vrrpnet on Linux:
// raw IP sockets, rtnetlink, AF_PACKET; package vrrp/vrrptest in tests),
// reads packets from its [Conn], applies the receive checks (counting
// drops by [DropReason]), feeds the state machines with the time of its
// [Clock], and carries out their actions through a [VIPManager] (virtual
// addresses, installed with a lease, [VIPLease], so that a Master killed
// outright loses them) and [Announcer]s (gratuitous ARP / unsolicited NA,
// with keepalived's garp_master_delay, _repeat and _refresh, see
// [GARPConfig]). Around the state machines it runs what keepalived users
// know as instance behaviour: trackers for interfaces, vrrp_scripts and
// track files; notify scripts on a queue that never blocks the loop;
// fast takeover, where a Backup pings its Master and takes over after
// Skew_Time when the Master's host stops answering ([FastTakeover]);
// and make-before-break, where a stopping or handing-over Master
// advertises priority 0 but keeps its addresses until it hears the new
// Master ([Runner.Handover], stop.go). Every transition is logged with
// log/slog (keys instance, vrid, state, from, reason, peer, priority) and
// reported to [RunnerConfig.OnTransition]; [Runner.Stats] gives the
// counters for status and metrics.
package vrrp
