package conf

import (
	"net/netip"
)

// Route is a route lbd installs, with the fields of `ip route add`: a
// virtual route of an instance (present while it is MASTER, keepalived
// virtual_routes) or a static route (always present, keepalived
// static_routes).
type Route struct {
	Pos Pos `yaml:"-"`
	// To is the destination: "192.0.2.0/24", "0.0.0.0/0" or "::/0" for a
	// default route, an address alone for a host route (required).
	To Prefix `yaml:"to"`
	// Via is the gateway (keepalived via or gw).
	Via *Addr `yaml:"via"`
	// Interface the route leaves by (keepalived dev). A unicast route
	// needs via, interface or both.
	Interface string `yaml:"interface"`
	// Src is the source address the host prefers for this route
	// (keepalived src); it must be an address of the host, such as a
	// virtual address of the same instance.
	Src *Addr `yaml:"src"`
	// Table is the routing table, 1..4294967295. Default 254 (main).
	Table uint32 `yaml:"table"`
	// Metric is the route's priority (keepalived metric, priority or
	// preference). Default 0.
	Metric uint32 `yaml:"metric"`
	// Scope of the route. Default as `ip route`: link for a unicast
	// route without via, global otherwise.
	Scope string `yaml:"scope" enum:"global,site,link,host"`
	// Type: unicast (default), or blackhole, unreachable or prohibit (no
	// via or interface then).
	Type string `yaml:"type" enum:"unicast,blackhole,unreachable,prohibit"`
	// OnLink takes the gateway as on the link even when no prefix of the
	// interface covers it.
	OnLink bool `yaml:"onlink"`
}

// Rule is a policy routing rule lbd installs, with the fields of `ip rule
// add`: a virtual rule of an instance (keepalived virtual_rules) or a
// static rule (keepalived static_rules). A rule selects table for the
// packets it matches; a field left out matches every packet.
type Rule struct {
	Pos Pos `yaml:"-"`
	// Priority orders the rules, 1..4294967295 (keepalived preference,
	// priority or pref). Required: without one, the kernel would number
	// each rule by the rules already there, so one removed and added
	// again would move.
	Priority uint32 `yaml:"priority"`
	// From matches the source address.
	From *Prefix `yaml:"from"`
	// To matches the destination address.
	To *Prefix `yaml:"to"`
	// Table is the routing table the rule selects (required).
	Table uint32 `yaml:"table"`
	// FWMark matches the firewall mark, under fwmask.
	FWMark *uint32 `yaml:"fwmark"`
	// FWMask selects the bits of the mark fwmark compares. Default: all.
	FWMask *uint32 `yaml:"fwmask"`
	// IIF matches the interface a packet came in by.
	IIF string `yaml:"iif"`
	// OIF matches the interface a packet leaves by (sockets bound to it).
	OIF string `yaml:"oif"`
	// Family of a rule without from or to (keepalived inet6). Default:
	// that of from or to, else IPv4.
	Family string `yaml:"family" enum:"IPv4,IPv6"`
}

// IPv6 reports whether r is an IPv6 rule.
func (r Rule) IPv6() bool {
	switch {
	case r.From != nil:
		return r.From.Addr().Is6()
	case r.To != nil:
		return r.To.Addr().Is6()
	}
	return r.Family == "IPv6"
}

// checkRoutes validates routes; what names where they are.
func checkRoutes(errs *ErrorList, what string, routes []Route) {
	type key struct {
		to     netip.Prefix
		table  uint32
		metric uint32
	}
	seen := map[key]bool{}
	for _, r := range routes {
		if !r.To.IsValid() {
			errs.errorf(r.Pos, "%s: route without a destination (to)", what)
			continue
		}
		fam := r.To.Addr()
		for _, a := range []struct {
			name string
			addr *Addr
		}{{"via", r.Via}, {"src", r.Src}} {
			if a.addr != nil && a.addr.Is6() != fam.Is6() {
				errs.errorf(r.Pos, "%s: route to %s: %s %s is not of the destination's family", what, r.To, a.name, a.addr)
			}
		}
		switch r.Type {
		case "", "unicast":
			if r.Via == nil && r.Interface == "" {
				errs.errorf(r.Pos, "%s: route to %s needs via or interface", what, r.To)
			}
		case "blackhole", "unreachable", "prohibit":
			if r.Via != nil || r.Interface != "" {
				errs.errorf(r.Pos, "%s: %s route to %s takes no via or interface", what, r.Type, r.To)
			}
		default:
			errs.errorf(r.Pos, "%s: route type %q is not unicast, blackhole, unreachable or prohibit", what, r.Type)
		}
		switch r.Scope {
		case "", "global", "site", "link", "host":
		default:
			errs.errorf(r.Pos, "%s: route scope %q is not global, site, link or host", what, r.Scope)
		}
		k := key{r.To.Masked(), r.Table, r.Metric}
		if seen[k] {
			errs.errorf(r.Pos, "%s: route to %s listed twice (same table and metric)", what, r.To)
		}
		seen[k] = true
	}
}

// checkRules validates rules; what names where they are.
func checkRules(errs *ErrorList, what string, rules []Rule) {
	for _, r := range rules {
		if r.Priority == 0 {
			errs.errorf(r.Pos, "%s: rule needs a priority (1..4294967295; keepalived's preference)", what)
		}
		if r.Table == 0 {
			errs.errorf(r.Pos, "%s: rule needs a table", what)
		}
		if r.FWMask != nil && r.FWMark == nil {
			errs.errorf(r.Pos, "%s: fwmask without fwmark", what)
		}
		if r.From != nil && r.To != nil && r.From.Addr().Is6() != r.To.Addr().Is6() {
			errs.errorf(r.Pos, "%s: rule from %s to %s mixes address families", what, r.From, r.To)
		}
		switch {
		case r.Family != "" && r.Family != "IPv4" && r.Family != "IPv6":
			errs.errorf(r.Pos, "%s: family %q is not IPv4 or IPv6", what, r.Family)
		case r.Family != "" && (r.From != nil || r.To != nil) && r.IPv6() != (r.Family == "IPv6"):
			errs.errorf(r.Pos, "%s: family %s does not match the rule's addresses", what, r.Family)
		}
	}
}

// validateStatic checks the static addresses, routes and rules.
func (c *Config) validateStatic(errs *ErrorList) {
	seen := map[netip.Addr]bool{}
	for _, v := range c.StaticIPAddresses {
		p := v.Address.Prefix
		switch {
		case !p.IsValid():
			errs.errorf(v.Pos, "static address without an address")
			continue
		case v.Interface == "":
			errs.errorf(v.Pos, "static address %s needs an interface", p)
		case seen[p.Addr()]:
			errs.errorf(v.Pos, "static address %s listed twice", p.Addr())
		}
		if v.Label != "" && p.Addr().Is6() {
			errs.errorf(v.Pos, "static address %s: labels exist only for IPv4 addresses", p)
		}
		seen[p.Addr()] = true
	}
	checkRoutes(errs, "static_routes", c.StaticRoutes)
	checkRules(errs, "static_rules", c.StaticRules)
}
