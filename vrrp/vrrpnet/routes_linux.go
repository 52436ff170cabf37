package vrrpnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/lbd-project/lbd/vrrp"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Routes adds and removes routes and policy rules over rtnetlink, as `ip
// route add` / `ip rule add` would. It implements vrrp.RouteManager.
type Routes struct {
	h *netlink.Handle
}

var _ vrrp.RouteManager = (*Routes)(nil)

// NewRoutes opens a netlink handle in the network namespace of the
// calling thread.
func NewRoutes() (*Routes, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("vrrpnet: netlink: %w", err)
	}
	return &Routes{h: h}, nil
}

// Close releases the netlink handle.
func (m *Routes) Close() { m.h.Close() }

var routeTypes = map[string]int{"": unix.RTN_UNICAST, "unicast": unix.RTN_UNICAST,
	"blackhole": unix.RTN_BLACKHOLE, "unreachable": unix.RTN_UNREACHABLE, "prohibit": unix.RTN_PROHIBIT}

var scopes = map[string]netlink.Scope{"global": netlink.SCOPE_UNIVERSE, "site": netlink.SCOPE_SITE,
	"link": netlink.SCOPE_LINK, "host": netlink.SCOPE_HOST}

func ipNet(p netip.Prefix) *net.IPNet {
	a := p.Masked().Addr().Unmap()
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(p.Bits(), a.BitLen())}
}

func ipOf(a netip.Addr) net.IP {
	if !a.IsValid() {
		return nil
	}
	return a.Unmap().AsSlice()
}

// nlRoute is r as a netlink route. The scope follows `ip route add`:
// link for a unicast route without a gateway, global otherwise.
func (m *Routes) nlRoute(r vrrp.Route) (*netlink.Route, error) {
	typ, ok := routeTypes[r.Type]
	if !ok {
		return nil, fmt.Errorf("vrrpnet: route %v: unknown type %q", r, r.Type)
	}
	nr := &netlink.Route{Dst: ipNet(r.Dst), Gw: ipOf(r.Via), Src: ipOf(r.Src), Table: int(r.Table),
		Priority: int(r.Metric), Type: typ, Scope: netlink.SCOPE_UNIVERSE}
	if r.Dev != "" {
		l, err := m.h.LinkByName(r.Dev)
		if err != nil {
			return nil, fmt.Errorf("vrrpnet: route %v: interface %q: %w", r, r.Dev, err)
		}
		nr.LinkIndex = l.Attrs().Index
	}
	if r.OnLink {
		nr.Flags = int(netlink.FLAG_ONLINK)
	}
	switch s, ok := scopes[r.Scope]; {
	case ok:
		nr.Scope = s
	case r.Scope != "":
		return nil, fmt.Errorf("vrrpnet: route %v: unknown scope %q", r, r.Scope)
	case typ == unix.RTN_UNICAST && !r.Via.IsValid():
		nr.Scope = netlink.SCOPE_LINK
	}
	return nr, nil
}

// AddRoute implements vrrp.RouteManager; a route already there (the same
// destination, table, metric) is left as it is.
func (m *Routes) AddRoute(r vrrp.Route) error {
	nr, err := m.nlRoute(r)
	if err != nil {
		return err
	}
	if err := m.h.RouteAdd(nr); err != nil && !isExist(err) {
		return fmt.Errorf("vrrpnet: add route %v: %w", r, err)
	}
	return nil
}

// RemoveRoute implements vrrp.RouteManager.
func (m *Routes) RemoveRoute(r vrrp.Route) (bool, error) {
	nr, err := m.nlRoute(r)
	if err != nil {
		return false, err
	}
	if r.Scope == "" {
		nr.Scope = netlink.SCOPE_NOWHERE // any scope, as `ip route del`
	}
	if err := m.h.RouteDel(nr); err != nil {
		if errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENODEV) {
			return false, nil
		}
		return false, fmt.Errorf("vrrpnet: remove route %v: %w", r, err)
	}
	return true, nil
}

func nlRule(r vrrp.Rule) *netlink.Rule {
	nr := netlink.NewRule()
	nr.Family = unix.AF_INET
	if r.IPv6 {
		nr.Family = unix.AF_INET6
	}
	nr.Priority = int(r.Priority)
	nr.Table = int(r.Table)
	if r.From.IsValid() {
		nr.Src = ipNet(r.From)
	}
	if r.To.IsValid() {
		nr.Dst = ipNet(r.To)
	}
	if r.Mask != 0 {
		nr.Mark = r.Mark
		nr.Mask = &r.Mask
	}
	nr.IifName, nr.OifName = r.IIF, r.OIF
	return nr
}

// AddRule implements vrrp.RouteManager; the same rule already there is
// left as it is.
func (m *Routes) AddRule(r vrrp.Rule) error {
	if err := m.h.RuleAdd(nlRule(r)); err != nil && !isExist(err) {
		return fmt.Errorf("vrrpnet: add rule %v: %w", r, err)
	}
	return nil
}

// RemoveRule implements vrrp.RouteManager.
func (m *Routes) RemoveRule(r vrrp.Rule) (bool, error) {
	if err := m.h.RuleDel(nlRule(r)); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return false, nil
		}
		return false, fmt.Errorf("vrrpnet: remove rule %v: %w", r, err)
	}
	return true, nil
}
