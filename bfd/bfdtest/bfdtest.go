// Package bfdtest is the fake BFD I/O that tests share: an in-memory
// link ([Link]) whose conns carry packets between bfd.Managers and can be
// cut, and a [Clock] that moves only when the test says, so that
// detection times are checked without waiting for them.
package bfdtest

import (
	"errors"
	"net"
	"net/netip"
	"sync"

	"github.com/lbd-project/lbd/bfd"
	"github.com/lbd-project/lbd/internal/clock/fakeclock"
)

// Link is an in-memory single-hop link: a packet a sender sends reaches
// the conn whose address is its peer, with TTL 255, unless the link is
// cut.
type Link struct {
	mu    sync.Mutex
	conns map[netip.Addr]*Conn
	cut   bool
}

// NewLink returns an empty link.
func NewLink() *Link { return &Link{conns: map[netip.Addr]*Conn{}} }

// Cut drops every packet from now on (true) or carries them again.
func (l *Link) Cut(cut bool) {
	l.mu.Lock()
	l.cut = cut
	l.mu.Unlock()
}

type datagram struct {
	b    []byte
	info bfd.PacketInfo
}

// Conn is one bfd.Conn on a Link, holding one address.
type Conn struct {
	l    *Link
	addr netip.Addr
	in   chan datagram
	once sync.Once
	done chan struct{}
}

// Conn attaches a conn with address addr.
func (l *Link) Conn(addr netip.Addr) *Conn {
	c := &Conn{l: l, addr: addr, in: make(chan datagram, 256), done: make(chan struct{})}
	l.mu.Lock()
	l.conns[addr] = c
	l.mu.Unlock()
	return c
}

// Inject delivers b to c as if it came from the network with info.
func (c *Conn) Inject(b []byte, info bfd.PacketInfo) {
	select {
	case c.in <- datagram{b: append([]byte(nil), b...), info: info}:
	case <-c.done:
	}
}

// ReadPacket implements bfd.Conn.
func (c *Conn) ReadPacket(b []byte) (int, bfd.PacketInfo, error) {
	select {
	case d := <-c.in:
		return copy(b, d.b), d.info, nil
	case <-c.done:
		return 0, bfd.PacketInfo{}, net.ErrClosed
	}
}

// Dial implements bfd.Conn: the sender sends from c's address.
func (c *Conn) Dial(cfg bfd.SessionConfig) (bfd.Sender, error) {
	if cfg.Local.IsValid() && cfg.Local != c.addr {
		return nil, errors.New("bfdtest: local address is not the conn's")
	}
	return sender{c: c, peer: cfg.Peer}, nil
}

// Close implements bfd.Conn.
func (c *Conn) Close() error {
	c.once.Do(func() { close(c.done) })
	return nil
}

type sender struct {
	c    *Conn
	peer netip.Addr
}

func (s sender) Send(b []byte) error {
	l := s.c.l
	l.mu.Lock()
	to, cut := l.conns[s.peer], l.cut
	l.mu.Unlock()
	if to == nil || cut {
		return nil
	}
	select {
	case to.in <- datagram{b: append([]byte(nil), b...), info: bfd.PacketInfo{Src: s.c.addr, Dst: s.peer, TTL: 255}}:
	default: // a full queue drops, as a socket buffer would
	}
	return nil
}

func (sender) Ifindex() int { return 0 }
func (sender) Close() error { return nil }

// Clock is a bfd.Clock that moves only with Advance.
type Clock = fakeclock.Clock

// NewClock returns a clock set to a fixed date.
func NewClock() *Clock { return fakeclock.New() }
