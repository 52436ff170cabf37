//go:build linux

package vrrpnet_test

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/vrrp"
	"github.com/lbd-project/lbd/vrrp/vrrpnet"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// The routes and rules of this test, in lbd's terms and in keepalived's.
var (
	gw         = netip.MustParseAddr("192.0.2.254")
	testRoutes = netip.MustParsePrefix("10.0.0.0/8") // every route of the test is in here
	virtRoutes = []vrrp.Route{
		{Dst: netip.MustParsePrefix("10.40.0.0/24"), Via: gw, Dev: "eth0", Src: vip4},
		{Dst: netip.MustParsePrefix("10.41.0.0/24"), Type: "blackhole"},
		{Dst: netip.MustParsePrefix("10.42.0.0/24"), Via: gw, Table: 100, Metric: 7},
		{Dst: netip.MustParsePrefix("10.43.0.0/24"), Dev: "eth0", Scope: "link"},
	}
	virtRules = []vrrp.Rule{
		{Priority: 300, From: netip.MustParsePrefix("10.50.0.0/24"), Table: 101},
		{Priority: 301, To: netip.MustParsePrefix("10.51.0.0/16"), Mark: 7, Mask: 0xff, Table: 102},
	}
	kaVirtual = `  virtual_routes {
    src 192.0.2.100 10.40.0.0/24 via 192.0.2.254 dev eth0
    blackhole 10.41.0.0/24
    10.42.0.0/24 via 192.0.2.254 table 100 metric 7
    10.43.0.0/24 dev eth0 scope link
  }
  virtual_rules {
    from 10.50.0.0/24 table 101 preference 300
    to 10.51.0.0/16 fwmark 7/0xff table 102 preference 301
  }
`
	staticSet = vrrpnet.StaticSet{
		Addrs:  []vrrp.VIP{{Prefix: netip.MustParsePrefix("10.9.0.5/24"), Dev: "eth0"}},
		Routes: []vrrp.Route{{Dst: netip.MustParsePrefix("10.20.0.0/24"), Via: gw, Dev: "eth0"}},
		Rules:  []vrrp.Rule{{Priority: 200, From: netip.MustParsePrefix("10.30.0.0/24"), Table: 100}},
	}
	kaStatic = `static_ipaddress {
  10.9.0.5/24 dev eth0
}
static_routes {
  10.20.0.0/24 via 192.0.2.254 dev eth0
}
static_rules {
  from 10.30.0.0/24 table 100 preference 200
}
`
)

// lbd and keepalived 2.2.7 run one VRRP group with the same virtual and
// static routes and rules: each Master has exactly the virtual ones,
// attribute for attribute the same on both (the routing protocol aside:
// keepalived marks its own), the Backup none of them, and both have the
// static ones throughout. When lbd stops, its virtual routes go with the
// mastership; its static ones stay until a new set leaves them out.
func TestIntegrationVirtualRoutes(t *testing.T) {
	l := lab.New(t)
	lan := l.LAN("lan")
	nl := newNode(t, l, lan, "lbd", "192.0.2.1/24")
	nk := newNode(t, l, lan, "ka", "192.0.2.2/24")
	waitReady(t, nl, nk)

	var static *vrrpnet.Static
	if err := nl.Do(func() (err error) { static, err = vrrpnet.NewStatic(); return err }); err != nil {
		t.Fatal(err)
	}
	defer static.Close()
	if err := static.Apply(staticSet); err != nil {
		t.Fatal(err)
	}
	ka := startKeepalived(t, nk, kaOpts{version: vrrp.Version3, vrid: 51, interval: 100 * time.Millisecond, prio: 100,
		vip: "192.0.2.100/32", instance: kaVirtual, top: kaStatic})
	lb := startLBD(t, nl, lbdOpts{prio: 200, primary: netip.MustParseAddr("192.0.2.1"), routes: virtRoutes, rules: virtRules})

	const nVirtual = 4 + 2 // routes + rules
	eventually(t, 5*time.Second, "lbd Master with its virtual routes, keepalived Backup without", func() bool {
		return lb.state() == vrrp.StateMaster && ka.state() == "BACKUP" &&
			len(routing(t, nl)) == nVirtual+2 && len(routing(t, nk)) == 2
	})
	master := virtual(routing(t, nl))
	lb.stop()
	eventually(t, 5*time.Second, "keepalived Master with its virtual routes, lbd without", func() bool {
		return ka.state() == "MASTER" && len(routing(t, nk)) == nVirtual+2 && len(routing(t, nl)) == 2
	})
	if got := virtual(routing(t, nk)); !slices.Equal(got, master) {
		t.Errorf("keepalived's virtual routes and rules differ from lbd's:\nkeepalived %q\nlbd        %q", got, master)
	}
	if a, b := routing(t, nl), staticOnly(routing(t, nk)); !slices.Equal(a, b) {
		t.Errorf("static routes and rules differ:\nlbd        %q\nkeepalived %q", a, b)
	}
	if !nl.HasAddr(netip.MustParseAddr("10.9.0.5")) {
		t.Error("lbd's static address is gone")
	}
	// A new set without them removes what the previous one installed.
	if err := static.Apply(vrrpnet.StaticSet{}); err != nil {
		t.Fatal(err)
	}
	if got := routing(t, nl); len(got) != 0 || nl.HasAddr(netip.MustParseAddr("10.9.0.5")) {
		t.Errorf("after an empty set lbd still has %q (or its static address)", got)
	}
}

// routing lists a node's routes in 10.0.0.0/8 (any table) and its rules
// of priority 200..399, as comparable strings.
func routing(t *testing.T, n *lab.Node) []string {
	t.Helper()
	var out []string
	err := n.Do(func() error {
		routes, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
		if err != nil {
			return err
		}
		for _, r := range routes {
			if r.Dst == nil {
				continue
			}
			p, _ := netip.AddrFromSlice(r.Dst.IP)
			if !testRoutes.Contains(p.Unmap()) || r.Protocol == unix.RTPROT_KERNEL {
				continue
			}
			out = append(out, fmt.Sprintf("route %v type %d via %v src %v link %d table %d metric %d scope %v flags %d",
				r.Dst, r.Type, r.Gw, r.Src, r.LinkIndex, r.Table, r.Priority, r.Scope, r.Flags))
		}
		rules, err := netlink.RuleList(netlink.FAMILY_V4)
		if err != nil {
			return err
		}
		for _, r := range rules {
			if r.Priority < 200 || r.Priority >= 400 {
				continue
			}
			mask := uint32(0)
			if r.Mask != nil {
				mask = *r.Mask
			}
			out = append(out, fmt.Sprintf("rule %d from %v to %v mark %#x/%#x table %d iif %q oif %q",
				r.Priority, r.Src, r.Dst, r.Mark, mask, r.Table, r.IifName, r.OifName))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", n.Name, err)
	}
	slices.Sort(out)
	return out
}

// virtual keeps the virtual entries of a listing, staticOnly the others.
func virtual(l []string) []string { return slices.DeleteFunc(slices.Clone(l), isStatic) }
func staticOnly(l []string) []string {
	return slices.DeleteFunc(slices.Clone(l), func(s string) bool { return !isStatic(s) })
}

func isStatic(s string) bool {
	return strings.HasPrefix(s, "route 10.20.0.0/24 ") || strings.HasPrefix(s, "rule 200 ")
}

// Adding a route or rule that is there changes nothing (the runner adds
// them again at each refresh), and removing one that is gone is no error.
func TestRoutesIdempotent(t *testing.T) {
	l := lab.New(t)
	lan := l.LAN("lan")
	n := newNode(t, l, lan, "lbd", "192.0.2.1/24", "2001:db8::1/64")
	n.AddAddr("eth0", vip4.String()+"/32") // the src of a route
	waitReady(t, n)
	var rm *vrrpnet.Routes
	if err := n.Do(func() (err error) { rm, err = vrrpnet.NewRoutes(); return err }); err != nil {
		t.Fatal(err)
	}
	defer rm.Close()
	v6 := vrrp.Route{Dst: netip.MustParsePrefix("2001:db8:40::/48"), Via: netip.MustParseAddr("2001:db8::254"), Metric: 3}
	rule6 := vrrp.Rule{IPv6: true, Priority: 310, OIF: "eth0", Table: 103}
	for range 2 {
		for _, r := range append(slices.Clone(virtRoutes), v6) {
			if err := rm.AddRoute(r); err != nil {
				t.Fatal(err)
			}
		}
		for _, r := range append(slices.Clone(virtRules), rule6) {
			if err := rm.AddRule(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := routing(t, n); len(got) != len(virtRoutes)+len(virtRules) {
		t.Errorf("after adding twice: %q", got)
	}
	out := n.MustRun("ip", "-6", "rule", "show", "priority", "310") + n.MustRun("ip", "-6", "route", "show", "2001:db8:40::/48")
	if strings.Count(out, "lookup 103") != 1 || strings.Count(out, "via 2001:db8::254") != 1 {
		t.Errorf("IPv6 route and rule:\n%s", out)
	}
	for _, want := range []bool{true, false} {
		for _, r := range append(slices.Clone(virtRoutes), v6) {
			if ok, err := rm.RemoveRoute(r); ok != want || err != nil {
				t.Errorf("remove %v: %v, %v; want %v", r, ok, err, want)
			}
		}
		for _, r := range append(slices.Clone(virtRules), rule6) {
			if ok, err := rm.RemoveRule(r); ok != want || err != nil {
				t.Errorf("remove %v: %v, %v; want %v", r, ok, err, want)
			}
		}
	}
	if got := routing(t, n); len(got) != 0 {
		t.Errorf("after removing: %q", got)
	}
}
