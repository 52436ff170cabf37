package conf

import (
	"strings"
	"testing"
)

func TestRoutesAndRules(t *testing.T) {
	const file = `static_ipaddresses:
  - {address: 10.9.0.5/24, interface: eth0}
static_routes:
  - {to: 10.20.0.0/24, via: 10.9.0.1, interface: eth0}
static_rules:
  - {from: 10.30.0.0/24, table: 100, priority: 200}
vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 7
    virtual_ipaddresses: [10.9.0.100/24]
    virtual_routes:
      - {to: 10.40.0.0/24, via: 10.9.0.1, src: 10.9.0.100, table: 100, metric: 5}
      - {to: 10.41.0.0/24, type: blackhole}
      - {to: "2001:db8:1::/64", interface: eth0, scope: link}
    virtual_rules:
      - {to: "2001:db8:2::/64", table: 101, priority: 300}
      - {fwmark: 7, table: 101, priority: 301, family: IPv6}
`
	c, err := Parse("x.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	in := c.VRRPInstances[0]
	if len(c.StaticIPAddresses) != 1 || len(c.StaticRoutes) != 1 || len(c.StaticRules) != 1 ||
		len(in.VirtualRoutes) != 3 || len(in.VirtualRules) != 2 {
		t.Fatalf("decoded %+v", c)
	}
	if r := in.VirtualRoutes[0]; r.Via.String() != "10.9.0.1" || r.Src.String() != "10.9.0.100" || r.Table != 100 || r.Metric != 5 {
		t.Errorf("route = %+v", r)
	}
	if r := in.VirtualRules[1]; !r.IPv6() || *r.FWMark != 7 {
		t.Errorf("rule = %+v", r)
	}
	if !in.VirtualRules[0].IPv6() || c.StaticRules[0].IPv6() {
		t.Error("rule families wrong")
	}
}

func TestRouteErrors(t *testing.T) {
	base := "vrrp_instances:\n  - name: VI_1\n    interface: eth0\n    virtual_router_id: 51\n    virtual_ipaddresses: [192.0.2.100]\n"
	tests := []struct{ name, yaml, want string }{
		{"no destination", base + "    virtual_routes: [{via: 192.0.2.1}]\n", "x.yaml:6:22: vrrp instance VI_1: route without a destination (to)"},
		{"no via or dev", base + "    virtual_routes: [{to: 10.0.0.0/8}]\n", "x.yaml:6:22: vrrp instance VI_1: route to 10.0.0.0/8 needs via or interface"},
		{"blackhole via", base + "    virtual_routes:\n      - {to: 10.0.0.0/8, type: blackhole, via: 192.0.2.1}\n",
			"x.yaml:7:9: vrrp instance VI_1: blackhole route to 10.0.0.0/8 takes no via or interface"},
		{"family", base + "    virtual_routes: [{to: 10.0.0.0/8, via: \"2001:db8::1\"}]\n", "via 2001:db8::1 is not of the destination's family"},
		{"bad type", base + "    virtual_routes: [{to: 10.0.0.0/8, type: nat, interface: eth0}]\n", `route type "nat" is not unicast`},
		{"bad scope", base + "    virtual_routes: [{to: 10.0.0.0/8, scope: far, interface: eth0}]\n", `route scope "far" is not global`},
		{"twice", base + "    virtual_routes: [{to: 10.0.0.0/8, interface: eth0}, {to: 10.0.0.0/8, via: 192.0.2.1}]\n", "listed twice"},
		{"rule priority", base + "    virtual_rules: [{from: 10.0.0.0/8, table: 5}]\n", "x.yaml:6:21: vrrp instance VI_1: rule needs a priority"},
		{"rule table", base + "    virtual_rules: [{from: 10.0.0.0/8, priority: 5}]\n", "rule needs a table"},
		{"rule families", base + "    virtual_rules: [{from: 10.0.0.0/8, to: \"::/0\", table: 1, priority: 5}]\n", "mixes address families"},
		{"rule family", base + "    virtual_rules: [{from: 10.0.0.0/8, family: IPv6, table: 1, priority: 5}]\n", "family IPv6 does not match"},
		{"fwmask alone", base + "    virtual_rules: [{fwmask: 3, table: 1, priority: 5}]\n", "fwmask without fwmark"},
		{"static no interface", "static_ipaddresses: [10.0.0.1/24]\n", "x.yaml:1:22: static address 10.0.0.1/24 needs an interface"},
		{"static route", "static_routes:\n  - {to: 10.0.0.0/8}\n", "x.yaml:2:5: static_routes: route to 10.0.0.0/8 needs via or interface"},
		{"static rule", "static_rules:\n  - {table: 3}\n", "x.yaml:2:5: static_rules: rule needs a priority"},
		{"unknown key", base + "    virtual_routes: [{to: 10.0.0.0/8, dev: eth0}]\n", `unknown key "dev"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got:\n%v\nwant it to contain:\n%s", err, tc.want)
			}
		})
	}
}
