// Package bfd implements Bidirectional Forwarding Detection for lbd: RFC
// 5880 in asynchronous mode over single-hop UDP (RFC 5881), without
// authentication, Demand mode of its own or the Echo function.
//
// VRRP adverts and health checks notice a dead peer in seconds; BFD does it
// in a few hundred milliseconds (100 ms x 3 by default) and is what routers
// speak, so it serves both a backup watching its master's host and, later,
// the routers that must drop a dead balancer from their ECMP set. No
// maintained Go implementation exists, hence this one.
//
// The package follows lbd's split between pure cores and thin I/O:
//
//   - the codec ([Control], [Unmarshal]) decodes a Control packet and
//     applies the reception checks of RFC 5880 section 6.8.6 that need no
//     session, returning a [DropReason] so that every drop is counted by
//     reason; [CheckTTL] is the GTSM check of RFC 5881 section 5;
//   - [Session] is the state machine of section 6.8 (AdminDown, Down, Init,
//     Up; the three-way handshake; the detection time; 1 s transmission
//     while not Up; jitter; the Poll Sequence when timers change). It never
//     reads a clock and never sleeps: every event carries the time, and the
//     returned [Output] says what to send and what changed;
//   - [Manager] is the one goroutine that owns every session. It reads the
//     packets of its [Conn] (package bfd/bfdnet on Linux, bfd/bfdtest in
//     tests), demultiplexes them by Your Discriminator or, while that is
//     zero, by source address and interface, runs the sessions' timers on a
//     single [Clock] timer, and reports changes to [Handle] subscribers.
//     Nothing it stores is keyed by what a sender chooses: a packet that
//     matches no session is counted and forgotten, and sessions are
//     bounded ([ManagerConfig.MaxSessions]).
//
// A stopped session (Remove, or the Manager's end) sends AdminDown, so the
// peer goes Down at once with DiagNeighborDown and can tell a planned stop
// ([Change.RemoteDiag] DiagAdminDown) from a failure (DiagControlExpired).
package bfd
