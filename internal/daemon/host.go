package daemon

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/lbd-project/lbd/vrrp"
	"github.com/lbd-project/lbd/vrrp/vrrpnet"
	"github.com/vishvananda/netlink"
)

// faultLinkDown is the fault source of an instance whose interface is down.
const faultLinkDown = vrrpnet.FaultLinkDown

// linuxHost opens real sockets (package vrrpnet) in the daemon's network
// namespace.
type linuxHost struct{}

func (linuxHost) open(m *memberSpec) (memberIO, error) {
	primary := m.VRRP.Primary
	if !primary.IsValid() {
		var err error
		if primary, err = primaryAddr(m.Interface, m.IPv6); err != nil {
			return memberIO{}, fmt.Errorf("instance %s: %w", m.Name, err)
		}
	}
	conn, err := vrrpnet.Listen(vrrpnet.ConnConfig{Interface: m.Interface, Source: primary, Unicast: len(m.Peers) > 0})
	if err != nil {
		return memberIO{}, fmt.Errorf("instance %s: %w", m.Name, err)
	}
	vips, err := vrrpnet.NewVIPs(m.Interface)
	if err != nil {
		conn.Close()
		return memberIO{}, fmt.Errorf("instance %s: %w", m.Name, err)
	}
	vips.Lease = vipLease(m.VRRP.AdvertInterval)
	io := memberIO{primary: primary, conn: conn, vips: vips, announcers: map[string]vrrp.Announcer{}}
	var anns []*vrrpnet.Announcer
	io.close = func() {
		vips.Close()
		for _, a := range anns {
			a.Close()
		}
	}
	for _, v := range append(append([]vrrp.VIP(nil), m.VIPs...), m.Excluded...) {
		if _, ok := io.announcers[v.Dev]; ok {
			continue
		}
		a, err := vrrpnet.NewAnnouncer(v.Dev)
		if err != nil {
			conn.Close()
			io.close()
			return memberIO{}, fmt.Errorf("instance %s: %w", m.Name, err)
		}
		anns = append(anns, a)
		io.announcers[v.Dev] = a
	}
	return io, nil
}

// primaryAddr is keepalived's default source of adverts: the interface's
// first IPv4 address, or its IPv6 link-local address.
func primaryAddr(ifname string, v6 bool) (netip.Addr, error) {
	if v6 {
		return vrrpnet.LinkLocal(ifname)
	}
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("interface %q: %w", ifname, err)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("interface %q: %w", ifname, err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(ipn.IP); ok && ip.Unmap().Is4() {
				return ip.Unmap(), nil
			}
		}
	}
	return netip.Addr{}, fmt.Errorf("interface %q has no IPv4 address (set unicast_src_ip)", ifname)
}

func (linuxHost) linkUp(ifname string) (bool, error) {
	l, err := netlink.LinkByName(ifname)
	if err != nil {
		return false, fmt.Errorf("interface %q: %w", ifname, err)
	}
	a := l.Attrs()
	return a.Flags&net.FlagUp != 0 && (a.OperState == netlink.OperUp || a.OperState == netlink.OperUnknown), nil
}

func (linuxHost) watchLink(ctx context.Context, ifname string, fn func(up bool)) error {
	return vrrpnet.WatchLink(ctx, ifname, fn)
}
