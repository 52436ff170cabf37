package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Pinger sends ICMP echo requests for any number of targets over one socket
// per address family, and matches replies to requests by identifier,
// sequence number and source address. Sockets are opened on first use.
// The identifier and the first sequence number are random, so that another
// host cannot guess them, and a reply must come from the pinged address,
// so that it cannot forge one for a dead real server either.
//
// It prefers unprivileged ping sockets ("udp4"/"udp6", allowed by
// net.ipv4.ping_group_range), where the kernel owns the identifier and only
// delivers this socket's replies, and falls back to raw sockets, which need
// CAP_NET_RAW.
type Pinger struct {
	mu      sync.Mutex
	socks   [2]*pingSocket // [0] IPv4, [1] IPv6
	pending map[pingKey]pendingPing
	id      uint16 // identifier on raw sockets; the kernel picks it on ping sockets
	seq     uint16
	closed  bool
	spoofed atomic.Uint64
}

// pendingPing is an echo request waiting for its reply.
type pendingPing struct {
	target netip.Addr
	reply  chan struct{} // capacity one, so the reader never blocks
}

type pingKey struct {
	v6  bool
	seq uint16
}

type pingSocket struct {
	conn *icmp.PacketConn
	raw  bool // raw socket: we pick the identifier and must filter on it
	done chan struct{}
}

// NewPinger returns a Pinger; it opens no socket until the first Ping.
func NewPinger() *Pinger {
	return &Pinger{pending: make(map[pingKey]pendingPing), id: uint16(rand.Uint32()), seq: uint16(rand.Uint32())}
}

// SpoofedReplies counts echo replies that matched a pending request's
// identifier and sequence number but came from another address than the
// one pinged. They are dropped; a steady count means someone forges them.
func (p *Pinger) SpoofedReplies() uint64 { return p.spoofed.Load() }

// Ping sends one echo request to addr and waits for the matching reply
// until ctx is done. It returns the round-trip time.
func (p *Pinger) Ping(ctx context.Context, addr netip.Addr) (time.Duration, error) {
	addr = addr.Unmap()
	v6 := addr.Is6()
	key, reply, s, err := p.register(addr)
	if err != nil {
		return 0, err
	}
	defer p.unregister(key)

	typ := icmp.Type(ipv4.ICMPTypeEcho)
	if v6 {
		typ = ipv6.ICMPTypeEchoRequest
	}
	msg := icmp.Message{Type: typ, Body: &icmp.Echo{ID: int(p.id), Seq: int(key.seq), Data: []byte("lbd-healthcheck")}}
	b, err := msg.Marshal(nil)
	if err != nil {
		return 0, err
	}
	var dst net.Addr = &net.UDPAddr{IP: addr.AsSlice(), Zone: addr.Zone()}
	if s.raw {
		dst = &net.IPAddr{IP: addr.AsSlice(), Zone: addr.Zone()}
	}
	start := time.Now()
	if _, err := s.conn.WriteTo(b, dst); err != nil {
		return 0, fmt.Errorf("send: %w", err)
	}
	select {
	case <-reply:
		return time.Since(start), nil
	case <-ctx.Done():
		return 0, fmt.Errorf("no echo reply: %w", ctx.Err())
	}
}

// register allocates a free sequence number for a ping to target, and the
// socket for its family.
func (p *Pinger) register(target netip.Addr) (pingKey, chan struct{}, *pingSocket, error) {
	v6 := target.Is6()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return pingKey{}, nil, nil, errors.New("pinger closed")
	}
	fam := 0
	if v6 {
		fam = 1
	}
	if p.socks[fam] == nil {
		s, err := openPingSocket(v6)
		if err != nil {
			return pingKey{}, nil, nil, err
		}
		p.socks[fam] = s
		go p.read(s, v6)
	}
	for range 1 << 16 {
		p.seq++
		k := pingKey{v6, p.seq}
		if _, busy := p.pending[k]; !busy {
			ch := make(chan struct{}, 1)
			p.pending[k] = pendingPing{target: target, reply: ch}
			return k, ch, p.socks[fam], nil
		}
	}
	return pingKey{}, nil, nil, errors.New("too many pings in flight")
}

func (p *Pinger) unregister(k pingKey) {
	p.mu.Lock()
	delete(p.pending, k)
	p.mu.Unlock()
}

// openPingSocket opens an unprivileged ping socket, or a raw one if the
// kernel refuses the former.
func openPingSocket(v6 bool) (*pingSocket, error) {
	network, rawNet, laddr := "udp4", "ip4:icmp", "0.0.0.0"
	if v6 {
		network, rawNet, laddr = "udp6", "ip6:ipv6-icmp", "::"
	}
	if c, err := icmp.ListenPacket(network, laddr); err == nil {
		return &pingSocket{conn: c, done: make(chan struct{})}, nil
	}
	c, err := icmp.ListenPacket(rawNet, laddr)
	if err != nil {
		return nil, fmt.Errorf("open ICMP socket: %w", err)
	}
	// Raw sockets see every echo reply on the host: the Pinger's own
	// identifier picks ours.
	return &pingSocket{conn: c, raw: true, done: make(chan struct{})}, nil
}

// read delivers replies until the socket is closed.
func (p *Pinger) read(s *pingSocket, v6 bool) {
	defer close(s.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP errors surfaced on ping sockets
		}
		p.deliver(s, v6, from, buf[:n])
	}
}

// deliver completes the ping that the ICMP message b, received from from,
// answers, if any.
func (p *Pinger) deliver(s *pingSocket, v6 bool, from net.Addr, b []byte) {
	proto, want := 1, icmp.Type(ipv4.ICMPTypeEchoReply)
	if v6 {
		proto, want = 58, ipv6.ICMPTypeEchoReply
	}
	m, err := icmp.ParseMessage(proto, b)
	if err != nil || m.Type != want {
		return
	}
	echo, ok := m.Body.(*icmp.Echo)
	if !ok || (s.raw && uint16(echo.ID) != p.id) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pp, ok := p.pending[pingKey{v6, uint16(echo.Seq)}]
	if !ok {
		return
	}
	if sourceAddr(from) != pp.target.WithZone("") {
		p.spoofed.Add(1)
		return
	}
	select {
	case pp.reply <- struct{}{}:
	default:
	}
}

// sourceAddr is the address of a reply's sender, without zone: ping
// sockets report it as a UDP address, raw sockets as an IP address.
func sourceAddr(from net.Addr) netip.Addr {
	var ip net.IP
	switch a := from.(type) {
	case *net.UDPAddr:
		ip = a.IP
	case *net.IPAddr:
		ip = a.IP
	}
	addr, _ := netip.AddrFromSlice(ip)
	return addr.Unmap()
}

// Close closes the sockets and waits for their readers to stop.
func (p *Pinger) Close() error {
	p.mu.Lock()
	p.closed = true
	socks := p.socks
	p.mu.Unlock()
	var errs []error
	for _, s := range socks {
		if s != nil {
			errs = append(errs, s.conn.Close())
			<-s.done
		}
	}
	return errors.Join(errs...)
}

// ICMPChecker is keepalived's PING_CHECK: one echo request, up if the reply
// arrives before the deadline. Many ICMPCheckers share one Pinger.
type ICMPChecker struct {
	Pinger *Pinger
	Addr   netip.Addr
}

// Check implements Checker.
func (c *ICMPChecker) Check(ctx context.Context) Result {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	start := time.Now()
	rtt, err := c.Pinger.Ping(ctx, c.Addr)
	if err != nil {
		if isTimeout(err) {
			return fail(start, "icmp: no echo reply: timeout")
		}
		return fail(start, "icmp: "+err.Error())
	}
	r := pass(start, "echo reply")
	r.Latency = rtt
	return r
}

// String implements Checker.
func (c *ICMPChecker) String() string { return "PING_CHECK " + c.Addr.String() }
