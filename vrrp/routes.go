package vrrp

import (
	"fmt"
	"net/netip"
)

// This file holds the routes and policy rules a Master installs beside
// its addresses (keepalived virtual_routes and virtual_rules), and the
// seam that installs them.

// Route is a route as `ip route add` takes it.
type Route struct {
	// Dst is the destination; 0.0.0.0/0 or ::/0 for a default route.
	Dst netip.Prefix
	// Via is the gateway; invalid for none.
	Via netip.Addr
	// Dev is the interface; empty when Via alone decides it.
	Dev string
	// Src is the preferred source address; invalid for none.
	Src netip.Addr
	// Table is the routing table; 0 means main.
	Table uint32
	// Metric is the route's priority.
	Metric uint32
	// Scope is global, site, link or host; empty: `ip route`'s default
	// (link for a unicast route without a gateway, global otherwise).
	Scope string
	// Type is unicast (or empty), blackhole, unreachable or prohibit.
	Type string
	// OnLink takes the gateway as on the link.
	OnLink bool
}

// String returns the route in `ip route` words.
func (r Route) String() string {
	s := r.Dst.String()
	if r.Type != "" && r.Type != "unicast" {
		s = r.Type + " " + s
	}
	if r.Via.IsValid() {
		s += " via " + r.Via.String()
	}
	if r.Dev != "" {
		s += " dev " + r.Dev
	}
	if r.Src.IsValid() {
		s += " src " + r.Src.String()
	}
	if r.Table != 0 {
		s += fmt.Sprintf(" table %d", r.Table)
	}
	if r.Metric != 0 {
		s += fmt.Sprintf(" metric %d", r.Metric)
	}
	return s
}

// Rule is a policy routing rule as `ip rule add` takes it: packets that
// match every field set go to Table.
type Rule struct {
	IPv6     bool
	Priority uint32
	// From and To match source and destination; invalid: any.
	From, To netip.Prefix
	Table    uint32
	// Mark and Mask match the firewall mark when Mask is not 0.
	Mark, Mask uint32
	// IIF and OIF match the input and output interfaces; empty: any.
	IIF, OIF string
}

// String returns the rule in `ip rule` words.
func (r Rule) String() string {
	s := fmt.Sprintf("priority %d", r.Priority)
	if r.From.IsValid() {
		s += " from " + r.From.String()
	}
	if r.To.IsValid() {
		s += " to " + r.To.String()
	}
	if r.Mask != 0 {
		s += fmt.Sprintf(" fwmark %#x/%#x", r.Mark, r.Mask)
	}
	if r.IIF != "" {
		s += " iif " + r.IIF
	}
	if r.OIF != "" {
		s += " oif " + r.OIF
	}
	return s + fmt.Sprintf(" table %d", r.Table)
}

// RouteManager adds and removes routes and rules on the host. Adding one
// that is there already is not an error, nor is removing one that is not.
type RouteManager interface {
	AddRoute(Route) error
	RemoveRoute(Route) (removed bool, err error)
	AddRule(Rule) error
	RemoveRule(Rule) (removed bool, err error)
}

// addRoutes installs m's routes, then its rules, after its addresses (a
// route may prefer one of them as source). It is also how the periodic
// refresh puts back what was removed behind our back: adding what is
// there is a no-op.
func (r *Runner) addRoutes(m *member) {
	if len(m.cfg.Routes)+len(m.cfg.Rules) == 0 {
		return
	}
	for _, rt := range m.cfg.Routes {
		if err := m.io.Routes.AddRoute(rt); err != nil {
			m.stats.vipErr.Add(1)
			m.log.Error("vrrp: adding virtual route failed", "state", m.inst.State(), "route", rt, "err", err)
		}
	}
	for _, ru := range m.cfg.Rules {
		if err := m.io.Routes.AddRule(ru); err != nil {
			m.stats.vipErr.Add(1)
			m.log.Error("vrrp: adding virtual rule failed", "state", m.inst.State(), "rule", ru, "err", err)
		}
	}
}

// removeRoutes removes m's rules, then its routes, before its addresses.
func (r *Runner) removeRoutes(m *member) {
	if len(m.cfg.Routes)+len(m.cfg.Rules) == 0 {
		return
	}
	for _, ru := range m.cfg.Rules {
		if removed, err := m.io.Routes.RemoveRule(ru); err != nil {
			m.stats.vipErr.Add(1)
			m.log.Error("vrrp: removing virtual rule failed", "state", m.inst.State(), "rule", ru, "err", err)
		} else if removed {
			m.log.Info("vrrp: removed virtual rule", "state", m.inst.State(), "rule", ru)
		}
	}
	for _, rt := range m.cfg.Routes {
		if removed, err := m.io.Routes.RemoveRoute(rt); err != nil {
			m.stats.vipErr.Add(1)
			m.log.Error("vrrp: removing virtual route failed", "state", m.inst.State(), "route", rt, "err", err)
		} else if removed {
			m.log.Info("vrrp: removed virtual route", "state", m.inst.State(), "route", rt)
		}
	}
}
