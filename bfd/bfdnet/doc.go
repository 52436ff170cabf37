// Package bfdnet is the Linux I/O of package bfd: the UDP sockets of
// single-hop BFD (RFC 5881).
//
// [Listen] returns a bfd.Conn with one socket on port 3784 for each
// address family. The kernel reports each datagram's TTL or hop limit,
// destination and interface, so that the Manager applies the GTSM check
// (RFC 5881 section 5: only 255 proves the sender is on the link) and
// counts what fails it, instead of the kernel dropping it unseen. Each
// session gets a sender socket of its own, with a source port drawn from
// 49152-65535 (RFC 5881 section 4, which asks for one port per session)
// and TTL / hop limit 255, bound to the session's interface when it has
// one. Sockets are opened in the network namespace of the calling thread:
// Listen's for the receivers, and the Manager's Run goroutine's for the
// senders, so a caller that runs in a namespace (a test lab node) runs
// both inside it.
package bfdnet
