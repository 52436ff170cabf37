package bfd

import "net/netip"

// This file holds the Manager's seam to the host: the conn that receives
// every session's packets and dials one sender per session.

// PacketInfo is what the IP layer reported about a received datagram.
type PacketInfo struct {
	Src, Dst netip.Addr // without zone; Dst invalid when not reported
	// Ifindex is the interface the datagram came in on; 0 when unknown.
	Ifindex int
	// TTL is the IPv4 TTL or IPv6 hop limit; negative when not reported.
	TTL int
}

// Conn is the I/O of a [Manager]: package bfd/bfdnet on Linux (UDP port
// 3784 for each address family), package bfd/bfdtest in tests.
type Conn interface {
	// ReadPacket blocks until a datagram arrives and copies its payload
	// into b (truncated to len(b)). After Close it returns an error.
	ReadPacket(b []byte) (int, PacketInfo, error)
	// Dial opens the sender of one session: from cfg.Local (when set) and
	// a source port of its own, to cfg.Peer port 3784, with TTL / hop
	// limit 255, out of cfg.Interface when set.
	Dial(cfg SessionConfig) (Sender, error)
	// Close unblocks ReadPacket and releases the conn.
	Close() error
}

// Sender sends the packets of one session.
type Sender interface {
	Send(b []byte) error
	// Ifindex is the index of the interface the sender is bound to, 0
	// when it is not: received packets must then come in on it.
	Ifindex() int
	Close() error
}
