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
// A [Runner] is that goroutine for one instance: it reads packets from a
// [Conn], applies the receive checks (counting drops by [DropReason]),
// feeds the instance with the real time, and carries out its actions
// through a [VIPManager] (virtual addresses), an [Announcer] (gratuitous
// ARP / unsolicited NA, with keepalived's garp_master_delay, _repeat and
// _refresh, see [GARPConfig]) and a [Notifier]. Every transition is logged
// with log/slog (keys instance, vrid, state, from, reason, peer,
// priority). Cancelling its context shuts the instance down: a Master sends
// priority 0 and removes its addresses. Package vrrp/vrrpnet provides the
// Linux implementations (raw IP sockets, rtnetlink, AF_PACKET).
package vrrp
