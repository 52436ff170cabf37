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
package vrrp
