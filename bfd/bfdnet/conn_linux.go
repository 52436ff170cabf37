package bfdnet

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"github.com/lbd-project/lbd/bfd"
)

// Ports of single-hop BFD (RFC 5881 section 4).
const (
	ControlPort  = 3784
	minSrcPort   = 49152
	maxSrcPort   = 65535
	portAttempts = 64
)

// readBuf is the read buffer of a receiver: no valid packet is longer, a
// longer datagram is truncated and then fails the length check.
const readBuf = 256

// ListenConfig configures Listen.
type ListenConfig struct {
	// Device, when set, binds every socket to it (SO_BINDTODEVICE): a VRF
	// device, or the one interface BFD runs on. A session with an
	// Interface of its own binds its sender to that instead.
	Device string
}

type datagram struct {
	b    [readBuf]byte
	n    int
	info bfd.PacketInfo
}

// conn is the bfd.Conn of a Linux host.
type conn struct {
	device string
	socks  []net.PacketConn
	in     chan datagram
	done   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
}

// Listen opens UDP port 3784 for IPv4 and, where the kernel has it, IPv6.
func Listen(cfg ListenConfig) (bfd.Conn, error) {
	c := &conn{device: cfg.Device, in: make(chan datagram, 64), done: make(chan struct{})}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		return control(rc, func(fd int) error { return bindDevice(fd, cfg.Device) })
	}}
	p4, err := lc.ListenPacket(context.Background(), "udp4", fmt.Sprintf("0.0.0.0:%d", ControlPort))
	if err != nil {
		return nil, fmt.Errorf("bfdnet: listen udp4: %w", err)
	}
	pc4 := ipv4.NewPacketConn(p4)
	if err := pc4.SetControlMessage(ipv4.FlagTTL|ipv4.FlagDst|ipv4.FlagInterface, true); err != nil {
		p4.Close()
		return nil, fmt.Errorf("bfdnet: udp4 control messages: %w", err)
	}
	c.socks = append(c.socks, p4)
	c.wg.Add(1)
	go c.read4(pc4)

	p6, err := lc.ListenPacket(context.Background(), "udp6", fmt.Sprintf("[::]:%d", ControlPort))
	switch {
	case errors.Is(err, unix.EAFNOSUPPORT), errors.Is(err, unix.EADDRNOTAVAIL):
		// no IPv6 here: IPv4 sessions only
	case err != nil:
		c.Close()
		return nil, fmt.Errorf("bfdnet: listen udp6: %w", err)
	default:
		pc6 := ipv6.NewPacketConn(p6)
		if err := pc6.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface, true); err != nil {
			p6.Close()
			c.Close()
			return nil, fmt.Errorf("bfdnet: udp6 control messages: %w", err)
		}
		c.socks = append(c.socks, p6)
		c.wg.Add(1)
		go c.read6(pc6)
	}
	return c, nil
}

func (c *conn) read4(p *ipv4.PacketConn) {
	defer c.wg.Done()
	for {
		var d datagram
		n, cm, src, err := p.ReadFrom(d.b[:])
		if err != nil {
			if c.closed() {
				return
			}
			continue
		}
		d.n, d.info = n, bfd.PacketInfo{Src: addrOf(src), TTL: -1}
		if cm != nil {
			d.info.TTL, d.info.Ifindex = cm.TTL, cm.IfIndex
			d.info.Dst, _ = netip.AddrFromSlice(cm.Dst)
		}
		c.deliver(d)
	}
}

func (c *conn) read6(p *ipv6.PacketConn) {
	defer c.wg.Done()
	for {
		var d datagram
		n, cm, src, err := p.ReadFrom(d.b[:])
		if err != nil {
			if c.closed() {
				return
			}
			continue
		}
		d.n, d.info = n, bfd.PacketInfo{Src: addrOf(src), TTL: -1}
		if cm != nil {
			d.info.TTL, d.info.Ifindex = cm.HopLimit, cm.IfIndex
			d.info.Dst, _ = netip.AddrFromSlice(cm.Dst)
		}
		c.deliver(d)
	}
}

func addrOf(a net.Addr) netip.Addr {
	if u, ok := a.(*net.UDPAddr); ok {
		ip, _ := netip.AddrFromSlice(u.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}

func (c *conn) deliver(d datagram) {
	d.info.Dst = d.info.Dst.Unmap()
	select {
	case c.in <- d:
	case <-c.done:
	}
}

func (c *conn) closed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// ReadPacket implements bfd.Conn.
func (c *conn) ReadPacket(b []byte) (int, bfd.PacketInfo, error) {
	select {
	case d := <-c.in:
		return copy(b, d.b[:d.n]), d.info, nil
	case <-c.done:
		return 0, bfd.PacketInfo{}, net.ErrClosed
	}
}

// Close implements bfd.Conn.
func (c *conn) Close() error {
	var errs []error
	c.once.Do(func() {
		close(c.done)
		for _, s := range c.socks {
			errs = append(errs, s.Close())
		}
		c.wg.Wait()
	})
	return errors.Join(errs...)
}

// Dial implements bfd.Conn: a socket of the session's own, from a free
// port in 49152-65535, TTL / hop limit 255.
func (c *conn) Dial(cfg bfd.SessionConfig) (bfd.Sender, error) {
	dev := cfg.Interface
	if dev == "" {
		dev = c.device
	}
	ifindex := 0
	if cfg.Interface != "" {
		ifi, err := net.InterfaceByName(cfg.Interface)
		if err != nil {
			return nil, fmt.Errorf("bfdnet: %w", err)
		}
		ifindex = ifi.Index
	}
	network, local := "udp4", netip.IPv4Unspecified()
	if cfg.Peer.Is6() {
		network, local = "udp6", netip.IPv6Unspecified()
	}
	if cfg.Local.IsValid() {
		local = cfg.Local
		if local.Is6() && local.IsLinkLocalUnicast() {
			local = local.WithZone(cfg.Interface)
		}
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		return control(rc, func(fd int) error {
			if err := bindDevice(fd, dev); err != nil {
				return err
			}
			if network == "udp4" {
				return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TTL, 255)
			}
			return unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, 255)
		})
	}}
	var err error
	for range portAttempts {
		port := minSrcPort + rand.IntN(maxSrcPort-minSrcPort+1)
		var p net.PacketConn
		p, err = lc.ListenPacket(context.Background(), network, netip.AddrPortFrom(local, uint16(port)).String())
		if err == nil {
			to := &net.UDPAddr{IP: cfg.Peer.AsSlice(), Port: ControlPort}
			if cfg.Peer.Is6() && cfg.Peer.IsLinkLocalUnicast() {
				to.Zone = cfg.Interface
			}
			return &sender{p: p, to: to, ifindex: ifindex}, nil
		}
		if !errors.Is(err, unix.EADDRINUSE) {
			break
		}
	}
	return nil, fmt.Errorf("bfdnet: sender for %v: %w", cfg.Peer, err)
}

type sender struct {
	p       net.PacketConn
	to      *net.UDPAddr
	ifindex int
}

func (s *sender) Send(b []byte) error {
	_, err := s.p.WriteTo(b, s.to)
	return err
}

func (s *sender) Ifindex() int { return s.ifindex }
func (s *sender) Close() error { return s.p.Close() }

// control runs f on the socket's descriptor.
func control(rc syscall.RawConn, f func(fd int) error) error {
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

func bindDevice(fd int, dev string) error {
	if dev == "" {
		return nil
	}
	if err := unix.BindToDevice(fd, dev); err != nil {
		return fmt.Errorf("bind to device %s: %w", dev, err)
	}
	return nil
}
