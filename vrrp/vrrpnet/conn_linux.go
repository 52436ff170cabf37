package vrrpnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"syscall"

	"github.com/lbd-project/lbd/vrrp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// ConnConfig configures a [Conn].
type ConnConfig struct {
	// Interface is the link the instance runs on (keepalived interface).
	Interface string
	// Source is the address adverts are sent from: the instance's
	// vrrp.Config.Primary (keepalived unicast_src_ip, or the interface's
	// primary address). For IPv6 it is normally the link-local address
	// ([LinkLocal]); it must not be tentative.
	Source netip.Addr
	// Unicast: do not join the multicast group (keepalived unicast_peer).
	// Adverts are then sent to whatever destination the runner passes.
	Unicast bool
	// Group is the multicast group to join (keepalived vrrp_mcast_group4
	// / vrrp_mcast_group6); invalid: 224.0.0.18 or ff02::12.
	Group netip.Addr
}

// Conn is a raw IP socket for VRRP (protocol 112) on one link, IPv4 or
// IPv6 after the family of its source. It implements vrrp.Conn.
//
// IPv4: the TTL and the destination come from IP_RECVTTL and IP_PKTINFO;
// adverts leave with TTL 255, TOS 0xc0 (internetwork control, as
// keepalived), the source set through IP_PKTINFO. IPv6: the hop limit and
// destination come from IPV6_RECVHOPLIMIT and IPV6_RECVPKTINFO; the kernel
// does not touch the checksum (IPV6_CHECKSUM stays off), package vrrp
// computes it over the pseudo-header. The socket is bound to the interface
// (SO_BINDTODEVICE), joins its group (224.0.0.18 / ff02::12 unless
// configured) there unless Unicast, and
// does not loop its own multicast back.
type Conn struct {
	ifi *net.Interface
	src netip.Addr
	pc  net.PacketConn
	p4  *ipv4.PacketConn
	p6  *ipv6.PacketConn
	buf []byte
}

var _ vrrp.Conn = (*Conn)(nil)

// recvBuf holds the largest VRRP message (255 IPv6 addresses) and more, so
// that an oversized packet is seen as such rather than cut to fit.
const recvBuf = 8192

// Listen opens a VRRP socket in the network namespace of the calling thread.
func Listen(cfg ConnConfig) (*Conn, error) {
	src := cfg.Source.WithZone("").Unmap()
	if !src.IsValid() {
		return nil, fmt.Errorf("vrrpnet: listen on %s: no source address", cfg.Interface)
	}
	ifi, err := net.InterfaceByName(cfg.Interface)
	if err != nil {
		return nil, fmt.Errorf("vrrpnet: listen: interface %q: %w", cfg.Interface, err)
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, ifi.Name)
		})
		return errors.Join(err, serr)
	}}
	network, group := "ip4:112", vrrp.GroupOf(cfg.Group, src.Is6())
	if src.Is6() {
		network = "ip6:112"
	}
	pc, err := lc.ListenPacket(context.Background(), network, "")
	if err != nil {
		return nil, fmt.Errorf("vrrpnet: listen %s on %s: %w", network, ifi.Name, err)
	}
	c := &Conn{ifi: ifi, src: src, pc: pc, buf: make([]byte, recvBuf)}
	if err := c.setup(cfg.Unicast, group); err != nil {
		pc.Close()
		return nil, fmt.Errorf("vrrpnet: listen %s on %s: %w", network, ifi.Name, err)
	}
	return c, nil
}

func (c *Conn) setup(unicast bool, group netip.Addr) error {
	gaddr := &net.IPAddr{IP: group.AsSlice()}
	if c.src.Is4() {
		c.p4 = ipv4.NewPacketConn(c.pc)
		p := c.p4
		return errors.Join(
			p.SetControlMessage(ipv4.FlagTTL|ipv4.FlagDst|ipv4.FlagInterface, true),
			p.SetTTL(vrrp.TTL),
			p.SetMulticastTTL(vrrp.TTL),
			p.SetTOS(0xc0),
			p.SetMulticastLoopback(false),
			p.SetMulticastInterface(c.ifi),
			join(unicast, func() error { return p.JoinGroup(c.ifi, gaddr) }),
		)
	}
	c.p6 = ipv6.NewPacketConn(c.pc)
	p := c.p6
	return errors.Join(
		p.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface, true),
		p.SetHopLimit(vrrp.TTL),
		p.SetMulticastHopLimit(vrrp.TTL),
		p.SetTrafficClass(0xc0),
		p.SetMulticastLoopback(false),
		p.SetMulticastInterface(c.ifi),
		join(unicast, func() error { return p.JoinGroup(c.ifi, gaddr) }),
	)
}

func join(unicast bool, fn func() error) error {
	if unicast {
		return nil
	}
	return fn()
}

// Source returns the address adverts are sent from.
func (c *Conn) Source() netip.Addr { return c.src }

// Interface returns the link of the socket.
func (c *Conn) Interface() *net.Interface { return c.ifi }

// Send sends one VRRP message to dst with TTL / hop limit 255.
func (c *Conn) Send(msg []byte, dst netip.Addr) error {
	dst = dst.WithZone("").Unmap()
	var err error
	if c.p4 != nil {
		if !dst.Is4() {
			return fmt.Errorf("vrrpnet: send to %v from %v: %w", dst, c.src, vrrp.ErrFamily)
		}
		cm := &ipv4.ControlMessage{Src: c.src.AsSlice(), IfIndex: c.ifi.Index}
		_, err = c.p4.WriteTo(msg, cm, &net.IPAddr{IP: dst.AsSlice()})
	} else {
		if !dst.Is6() {
			return fmt.Errorf("vrrpnet: send to %v from %v: %w", dst, c.src, vrrp.ErrFamily)
		}
		cm := &ipv6.ControlMessage{Src: c.src.AsSlice(), IfIndex: c.ifi.Index, HopLimit: vrrp.TTL, TrafficClass: 0xc0}
		// A numeric zone: a name would be resolved in the namespace of
		// the calling thread, which need not be the socket's.
		zone := ""
		if dst.IsLinkLocalUnicast() || dst.IsLinkLocalMulticast() {
			zone = strconv.Itoa(c.ifi.Index)
		}
		_, err = c.p6.WriteTo(msg, cm, &net.IPAddr{IP: dst.AsSlice(), Zone: zone})
	}
	if err != nil {
		return fmt.Errorf("vrrpnet: send to %v on %s: %w", dst, c.ifi.Name, err)
	}
	return nil
}

// Receive returns the next packet. The payload is a fresh copy.
func (c *Conn) Receive() (vrrp.Packet, error) {
	for {
		var (
			n   int
			src net.Addr
			err error
			p   = vrrp.Packet{TTL: -1}
		)
		if c.p4 != nil {
			var cm *ipv4.ControlMessage
			n, cm, src, err = c.p4.ReadFrom(c.buf)
			if err == nil && cm != nil {
				p.TTL = cm.TTL
				p.Dst, _ = netip.AddrFromSlice(cm.Dst.To4())
			}
		} else {
			var cm *ipv6.ControlMessage
			n, cm, src, err = c.p6.ReadFrom(c.buf)
			if err == nil && cm != nil {
				p.TTL = cm.HopLimit
				p.Dst, _ = netip.AddrFromSlice(cm.Dst.To16())
			}
		}
		if err != nil {
			return vrrp.Packet{}, fmt.Errorf("vrrpnet: receive on %s: %w", c.ifi.Name, err)
		}
		ia, ok := src.(*net.IPAddr)
		if !ok {
			continue
		}
		a, ok := netip.AddrFromSlice(ia.IP)
		if !ok {
			continue
		}
		p.Src = a.Unmap()
		p.Dst = p.Dst.Unmap()
		if n < 0 {
			n = 0
		}
		p.Payload = slices.Clone(c.buf[:n])
		return p, nil
	}
}

// Close closes the socket; a blocked Receive returns an error wrapping
// net.ErrClosed.
func (c *Conn) Close() error { return c.pc.Close() }

// LinkLocal returns the first IPv6 link-local address of the interface,
// the usual source of IPv6 adverts.
func LinkLocal(ifname string) (netip.Addr, error) {
	a, err := firstAddr(ifname, func(ip netip.Addr) bool { return ip.Is6() && ip.IsLinkLocalUnicast() })
	if err == nil && !a.IsValid() {
		err = fmt.Errorf("vrrpnet: %s has no IPv6 link-local address", ifname)
	}
	return a, err
}

// firstAddr returns the interface's first address that match accepts;
// invalid if none does.
func firstAddr(ifname string, match func(netip.Addr) bool) (netip.Addr, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("vrrpnet: interface %q: %w", ifname, err)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("vrrpnet: addresses of %s: %w", ifname, err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(ipn.IP); ok && match(ip.Unmap()) {
				return ip.Unmap(), nil
			}
		}
	}
	return netip.Addr{}, nil
}
