package vrrpnet

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/lbd-project/lbd/healthcheck"
	"github.com/lbd-project/lbd/vrrp"
	"github.com/vishvananda/netlink"
)

// Host is the vrrp.Host of a Linux machine: it opens real sockets in the
// network namespace of the calling thread.
type Host struct {
	// Pinger, when set, is the ICMP echo prober fast takeover uses: the
	// daemon shares its PING_CHECK prober, so one count of forged echo
	// replies covers both. Its owner closes it. nil: a prober per runner.
	Pinger *healthcheck.Pinger
	// Logger gets what the host does besides sockets (a VMAC created,
	// adopted or deleted, sysctls changed); nil: slog.Default().
	Logger *slog.Logger
}

// Open implements vrrp.Host: the member's virtual-MAC interface when it
// has one (see vmac_linux.go), its conn (on that interface unless
// VMAC.XmitBase), its address manager (addresses installed with
// vrrp.VIPLease), its route manager when it has routes or rules, and one
// announcer per interface its addresses are on. The returned Close
// deletes the virtual-MAC interface if Open created it; it may run on any
// thread.
func (h Host) Open(m *vrrp.MemberConfig) (vrrp.MemberIO, error) {
	primary := m.Config.Primary
	if !primary.IsValid() {
		var err error
		if primary, err = primaryAddr(m.Interface, m.IPv6); err != nil {
			return vrrp.MemberIO{}, err
		}
	}
	vmac, connIf, err := openMemberVMAC(cmp.Or(h.Logger, slog.Default()), m, primary)
	if err != nil {
		return vrrp.MemberIO{}, err
	}
	conn, err := Listen(ConnConfig{Interface: connIf, Source: primary, Unicast: len(m.Peers) > 0, Group: m.Group})
	if err != nil {
		vmac.Close()
		return vrrp.MemberIO{}, err
	}
	vips, err := NewVIPs(m.Interface)
	if err != nil {
		conn.Close()
		vmac.Close()
		return vrrp.MemberIO{}, err
	}
	vips.Lease = vrrp.VIPLease(m.Config.AdvertInterval)
	io := vrrp.MemberIO{Primary: primary, Conn: conn, VIPs: vips, Announcers: map[string]vrrp.Announcer{}}
	var anns []*Announcer
	var routes *Routes
	io.Close = func() {
		vips.Close()
		if routes != nil {
			routes.Close()
		}
		for _, a := range anns {
			a.Close()
		}
		vmac.Close()
	}
	if len(m.Routes)+len(m.Rules) > 0 {
		if routes, err = NewRoutes(); err != nil {
			conn.Close()
			io.Close()
			return vrrp.MemberIO{}, err
		}
		io.Routes = routes
	}
	for _, v := range append(append([]vrrp.VIP(nil), m.VIPs...), m.Excluded...) {
		if _, ok := io.Announcers[v.Dev]; ok {
			continue
		}
		a, err := NewAnnouncer(v.Dev)
		if err != nil {
			conn.Close()
			io.Close()
			return vrrp.MemberIO{}, err
		}
		anns = append(anns, a)
		io.Announcers[v.Dev] = a
	}
	return io, nil
}

// primaryAddr is keepalived's default source of adverts: the interface's
// first IPv4 address, or its IPv6 link-local address.
func primaryAddr(ifname string, v6 bool) (netip.Addr, error) {
	if v6 {
		return LinkLocal(ifname)
	}
	a, err := firstAddr(ifname, netip.Addr.Is4)
	if err == nil && !a.IsValid() {
		err = fmt.Errorf("vrrpnet: interface %q has no IPv4 address (set unicast_src_ip)", ifname)
	}
	return a, err
}

// LinkUp implements vrrp.Host.
func (Host) LinkUp(ifname string) (bool, error) {
	l, err := netlink.LinkByName(ifname)
	if err != nil {
		return false, fmt.Errorf("interface %q: %w", ifname, err)
	}
	return linkUp(l), nil
}

// WatchLink implements vrrp.Host.
func (Host) WatchLink(ctx context.Context, ifname string, fn func(up bool)) error {
	return WatchLink(ctx, ifname, fn)
}

// OpenPinger implements vrrp.Host with healthcheck's ICMP echo prober,
// whose socket is shared by the runner's members (and with h.Pinger's
// other users when it is set).
func (h Host) OpenPinger() (vrrp.Pinger, error) {
	if h.Pinger != nil {
		return pinger{p: h.Pinger, shared: true}, nil
	}
	return pinger{p: healthcheck.NewPinger()}, nil
}

type pinger struct {
	p      *healthcheck.Pinger
	shared bool // Host.Pinger: its owner closes it
}

func (p pinger) Ping(ctx context.Context, a netip.Addr) error {
	_, err := p.p.Ping(ctx, a)
	return err
}

func (p pinger) Close() error {
	if p.shared {
		return nil
	}
	return p.p.Close()
}
