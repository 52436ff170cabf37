package keepalived

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/lbd-project/lbd/conf"
	"go.yaml.in/yaml/v3"
)

// This file converts virtual_routes, virtual_rules, static_routes,
// static_rules and static_ipaddress: lines in the words of `ip route add`
// and `ip rule add`.

// firstRulePref is the preference keepalived gives the first rule written
// without one; each further one gets one less ("Rule has no preference
// specified - setting to 16384").
const firstRulePref = 16384

// routeValue lists route options that take a value and that lbd does not
// convert, so that their value is not read as a destination.
var routeValue = map[string]bool{
	"mtu": true, "advmss": true, "rtt": true, "rttvar": true, "reordering": true, "window": true, "cwnd": true,
	"ssthresh": true, "realms": true, "rto_min": true, "initcwnd": true, "initrwnd": true, "features": true,
	"quickack": true, "congctl": true, "tos": true, "hoplimit": true, "fastopen_no_cookie": true, "pref": true,
	"expires": true, "vrf": true, "encap": true, "ttl-propagate": true, "nhid": true, "weight": true,
}

// lines converts each line of block b with one, leaving out the lines it
// refuses (nil).
func lines(b *Node, one func(*Node) *yaml.Node) *yaml.Node {
	var items []*yaml.Node
	for _, n := range b.Children {
		if y := one(n); y != nil {
			items = append(items, y)
		}
	}
	return yseq(items...)
}

// route converts one route: [TYPE] [src ADDR] [to] PREFIX|default
// [via|gw ADDR] [dev IF] [table N] [metric N] [scope S] [onlink] ...
func (c *converter) route(n *Node) *yaml.Node {
	words := append([]string{n.Key}, n.Args...)
	var (
		dst, typ, via, dev, src, scope string
		table, metric                  int64 = -1, -1
		onlink, inet6, noTrack         bool
	)
	for i := 0; i < len(words); i++ {
		w := words[i]
		next := func() (string, bool) {
			if i+1 >= len(words) {
				c.dropEntry(n, "%s needs a value", w)
				return "", false
			}
			i++
			return words[i], true
		}
		var ok bool
		switch w {
		case "unicast":
		case "blackhole", "unreachable", "prohibit":
			typ = w
		case "to":
			if dst, ok = next(); !ok {
				return nil
			}
		case "src", "via", "gw":
			v, ok := next()
			if !ok {
				return nil
			}
			if v == "inet" || v == "inet6" { // via inet6 ADDR
				if v, ok = next(); !ok {
					return nil
				}
			}
			a, err := netip.ParseAddr(v)
			if err != nil || a.Zone() != "" {
				c.dropEntry(n, "%s %q is not an IP address", w, v)
				return nil
			}
			inet6 = inet6 || a.Is6()
			if w == "src" {
				src = v
			} else {
				via = v
			}
		case "dev", "oif":
			if dev, ok = next(); !ok {
				return nil
			}
		case "table":
			v, ok := next()
			if !ok {
				return nil
			}
			if table, ok = c.table(n, v); !ok {
				return nil
			}
		case "metric", "priority", "preference":
			v, ok := next()
			if !ok {
				return nil
			}
			m, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				c.dropEntry(n, "%s %q is not a number", w, v)
				return nil
			}
			metric = int64(m)
		case "scope":
			v, ok := next()
			if !ok {
				return nil
			}
			switch v {
			case "global", "universe", "0":
				scope = "global"
			case "site", "link", "host":
				scope = v
			default:
				c.find(n, Unsupported, "route scope "+v+" is not supported; lbd uses ip route's default scope")
			}
		case "onlink":
			onlink = true
		case "inet6":
			inet6 = true
		case "inet":
		case "no_track":
			noTrack = true
			c.find(n, NotApplicable, "lbd never leaves MASTER because a route or rule was deleted behind its back")
		case "track_group":
			if v, ok := next(); ok {
				c.find(n, Unsupported, "track_group "+v+" is not supported: a deleted static route never changes a VRRP state in lbd")
			}
		case "or":
			if v, ok := next(); ok {
				c.find(n, Unsupported, "the alternative gateway (or "+v+") is not supported; lbd installs the route via the first")
			}
		case "proto", "protocol":
			if v, ok := next(); ok {
				c.find(n, Approximated, "lbd installs routes with protocol boot, not "+v)
			}
		case "append":
			c.find(n, Approximated, "lbd adds the route (ip route add), it does not append it beside a matching one")
		case "nexthop":
			c.find(n, Unsupported, "multipath routes (nexthop) are not supported; lbd installs the route without its next hops")
			i = len(words)
		default:
			if dst == "" && (w == "default" || w == "default6" || w == "any" || w == "all" || strings.ContainsAny(w, ".:")) {
				dst = w
				continue
			}
			msg := "route option " + w
			if routeValue[w] && i+1 < len(words) {
				i++
				msg += " " + words[i]
			}
			c.find(n, Unsupported, msg+" is not supported; lbd installs the route without it")
		}
	}
	to, ok := c.destination(n, dst, inet6)
	if !ok {
		return nil
	}
	if dev == "" && !noTrack {
		c.find(n, NotApplicable, "no dev: keepalived 2.2.7 does not track this route (\"cannot track route ... with "+
			"no interface specified\"); lbd tracks no route")
	}
	m := newMap()
	c.src[m.n] = n.Pos
	m.comment(n.Comments)
	m.set("to", ystr(to))
	for _, kv := range [][2]string{{"type", typ}, {"via", via}, {"interface", dev}, {"src", src}} {
		if kv[1] != "" {
			m.set(kv[0], ystr(kv[1]))
		}
	}
	if table >= 0 {
		m.set("table", yint(table))
	}
	if metric >= 0 {
		m.set("metric", yint(metric))
	}
	if scope != "" {
		m.set("scope", ystr(scope))
	}
	if onlink {
		m.set("onlink", ybool(true))
	}
	return m.n
}

// destination checks a route's or rule's prefix: an address, an
// address/length, or default.
func (c *converter) destination(n *Node, s string, inet6 bool) (string, bool) {
	switch {
	case s == "":
		c.dropEntry(n, "no destination")
		return "", false
	case s == "default6", (s == "default" || s == "any" || s == "all") && inet6:
		return "::/0", true
	case s == "default" || s == "any" || s == "all":
		return "0.0.0.0/0", true
	}
	if _, err := netip.ParsePrefix(s); err == nil {
		return s, true
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return s, true
	}
	c.dropEntry(n, "%q is not an address or address/prefix", s)
	return "", false
}

// dropEntry reports a route or rule keepalived 2.2.7 refuses: it logs
// the line and carries on without it, and so does the converted file.
func (c *converter) dropEntry(n *Node, format string, args ...any) {
	c.find(n, Unsupported, fmt.Sprintf(format, args...)+"; keepalived 2.2.7 logs it and leaves the entry out, and so does the converted file")
}

// table reads a routing table: a number or one of the names every
// system has.
func (c *converter) table(n *Node, s string) (int64, bool) {
	switch s {
	case "main":
		return 254, true
	case "local":
		return 255, true
	case "default":
		return 253, true
	}
	v, err := strconv.ParseUint(s, 0, 32)
	if err != nil || v == 0 {
		c.dropEntry(n, "table %q: write the table's number (1..4294967295)", s)
		return 0, false
	}
	return int64(v), true
}

// rule converts one rule: [from PREFIX|all] [to PREFIX|all] [fwmark
// N[/M]] [iif IF] [oif IF] [preference N] table N ...
func (c *converter) rule(n *Node) *yaml.Node {
	words := append([]string{n.Key}, n.Args...)
	m := newMap()
	c.src[m.n] = n.Pos
	m.comment(n.Comments)
	var pref, table int64 = -1, -1
	inet6 := false
	var unsupported []string
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "inet6" || w == "inet" || w == "no_track" {
			inet6 = inet6 || w == "inet6"
			if w == "no_track" {
				c.find(n, NotApplicable, "lbd never leaves MASTER because a route or rule was deleted behind its back")
			}
			continue
		}
		if i+1 >= len(words) {
			unsupported = append(unsupported, w)
			continue
		}
		i++
		v := words[i]
		switch w {
		case "from", "to":
			if v == "all" || v == "any" || v == "default" {
				continue
			}
			p, ok := c.destination(n, v, false)
			if !ok {
				return nil
			}
			m.set(w, ystr(p))
		case "table", "lookup":
			var ok bool
			if table, ok = c.table(n, v); !ok {
				return nil
			}
		case "preference", "priority", "pref", "order":
			p, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				c.dropEntry(n, "%s %q is not a number", w, v)
				return nil
			}
			pref = int64(p)
		case "fwmark":
			mark, mask, _ := strings.Cut(v, "/")
			mk, err := strconv.ParseUint(mark, 0, 32)
			if err != nil {
				c.dropEntry(n, "fwmark %q is not a number", v)
				return nil
			}
			m.set("fwmark", yint(int64(mk)))
			if mask != "" {
				ms, err := strconv.ParseUint(mask, 0, 32)
				if err != nil {
					c.dropEntry(n, "fwmark mask %q is not a number", mask)
					return nil
				}
				m.set("fwmask", yint(int64(ms)))
			}
		case "iif", "dev":
			m.set("iif", ystr(v))
		case "oif":
			m.set("oif", ystr(v))
		case "track_group":
			c.find(n, Unsupported, "track_group "+v+" is not supported: a deleted static rule never changes a VRRP state in lbd")
		default:
			unsupported = append(unsupported, w+" "+v)
		}
	}
	if table < 0 {
		c.find(n, Unsupported, "lbd's rules select a table (goto and the other actions are not supported); this rule is left out")
		return nil
	}
	for _, o := range unsupported {
		c.find(n, Unsupported, "rule option "+o+" is not supported; lbd installs the rule without it")
	}
	if pref < 0 {
		pref = c.rulePref
		c.rulePref--
		c.find(n, NotApplicable, fmt.Sprintf("no preference: keepalived numbers such rules down from %d and gives this one %d; so does the converted file", firstRulePref, pref))
	}
	if inet6 && m.get("from") == nil && m.get("to") == nil {
		m.set("family", ystr("IPv6"))
	}
	m.set("table", yint(table))
	m.set("priority", yint(pref))
	return m.n
}

// staticAddresses converts static_ipaddress: each address needs its
// interface, keepalived's default_interface (eth0 unless set) when the
// line names none.
func (c *converter) staticAddresses(b *Node) {
	for _, v := range b.Children {
		y, _, ok := c.vip(v, "")
		if !ok {
			continue
		}
		if y.Kind == yaml.ScalarNode {
			m := newMap()
			m.set("address", y)
			y = m.n
		}
		m := ymap{y}
		if m.get("interface") == nil {
			m.set("interface", ystr(c.defaultIface))
		}
		c.src[y] = v.Pos
		c.staticAddrs = append(c.staticAddrs, y)
	}
}

// routeLine writes a route in keepalived's words, for Export.
func routeLine(r conf.Route) string {
	var b strings.Builder
	if r.Type != "" && r.Type != "unicast" {
		b.WriteString(r.Type + " ")
	}
	if r.Src != nil {
		fmt.Fprintf(&b, "src %s ", r.Src)
	}
	b.WriteString(r.To.String())
	if r.Via != nil {
		fmt.Fprintf(&b, " via %s", r.Via)
	}
	if r.Interface != "" {
		b.WriteString(" dev " + r.Interface)
	}
	if r.Table != 0 {
		fmt.Fprintf(&b, " table %d", r.Table)
	}
	if r.Metric != 0 {
		fmt.Fprintf(&b, " metric %d", r.Metric)
	}
	if r.Scope != "" {
		b.WriteString(" scope " + r.Scope)
	}
	if r.OnLink {
		b.WriteString(" onlink")
	}
	return b.String()
}

// ruleLine writes a rule in keepalived's words, for Export.
func ruleLine(r conf.Rule) string {
	var b strings.Builder
	if r.IPv6() && r.From == nil && r.To == nil {
		b.WriteString("inet6 ")
	}
	if r.From != nil {
		fmt.Fprintf(&b, "from %s ", r.From)
	}
	if r.To != nil {
		fmt.Fprintf(&b, "to %s ", r.To)
	}
	if r.FWMark != nil {
		fmt.Fprintf(&b, "fwmark %d", *r.FWMark)
		if r.FWMask != nil {
			fmt.Fprintf(&b, "/%d", *r.FWMask)
		}
		b.WriteString(" ")
	}
	if r.IIF != "" {
		b.WriteString("iif " + r.IIF + " ")
	}
	if r.OIF != "" {
		b.WriteString("oif " + r.OIF + " ")
	}
	fmt.Fprintf(&b, "table %d preference %d", r.Table, r.Priority)
	return b.String()
}
