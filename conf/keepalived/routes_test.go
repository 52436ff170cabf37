package keepalived

import (
	"strings"
	"testing"
)

func TestImportRoutesAndRules(t *testing.T) {
	res, cfg := convertValid(t, `global_defs {
    default_interface eth1
}
static_ipaddress {
    10.9.0.5/24 dev eth0 scope link
    10.9.1.5/24
}
static_routes {
    10.20.0.0/24 via 192.0.2.254 dev eth0
}
static_rules {
    from 10.30.0.0/24 table 100
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        192.0.2.100
    }
    virtual_routes {
        src 192.0.2.100 10.40.0.0/24 via 192.0.2.254 dev eth0
        blackhole 10.41.0.0/24
        default via 192.0.2.1 table 100 metric 7 no_track
        10.43.0.0/24 dev eth0 scope link onlink mtu 1400
        2001:db8:1::/64 via 2001:db8::1 or 2001:db8::2
    }
    virtual_rules {
        to 10.51.0.0/16 fwmark 0x7/0xff table 102 preference 301
        inet6 iif eth1 lookup main pref 302
        from all goto 40
    }
}
`)
	if n := len(cfg.StaticIPAddresses); n != 2 || cfg.StaticIPAddresses[1].Interface != "eth1" || cfg.StaticIPAddresses[0].Interface != "eth0" {
		t.Errorf("static addresses %+v", cfg.StaticIPAddresses)
	}
	if len(cfg.StaticRoutes) != 1 || cfg.StaticRoutes[0].Via.String() != "192.0.2.254" || cfg.StaticRoutes[0].Interface != "eth0" {
		t.Errorf("static routes %+v", cfg.StaticRoutes)
	}
	if len(cfg.StaticRules) != 1 || cfg.StaticRules[0].Priority != firstRulePref || cfg.StaticRules[0].Table != 100 {
		t.Errorf("static rules %+v", cfg.StaticRules)
	}
	in := cfg.VRRPInstances[0]
	rs := in.VirtualRoutes
	if len(rs) != 5 {
		t.Fatalf("virtual routes %+v", rs)
	}
	if rs[0].Src.String() != "192.0.2.100" || rs[0].To.String() != "10.40.0.0/24" || rs[1].Type != "blackhole" ||
		rs[2].To.String() != "0.0.0.0/0" || rs[2].Table != 100 || rs[2].Metric != 7 ||
		rs[3].Scope != "link" || !rs[3].OnLink || rs[4].Via.String() != "2001:db8::1" {
		t.Errorf("virtual routes %+v", rs)
	}
	ru := in.VirtualRules
	if len(ru) != 2 || *ru[0].FWMark != 7 || *ru[0].FWMask != 0xff || ru[0].Priority != 301 ||
		!ru[1].IPv6() || ru[1].IIF != "eth1" || ru[1].Table != 254 {
		t.Errorf("virtual rules %+v", ru)
	}
	report := Report(res.Findings)
	for _, want := range []string{
		"k.conf:5: approximated: 10.9.0.5/24: lbd adds virtual addresses with scope global",
		"k.conf:12: note: from: no preference: keepalived numbers such rules down from 16384 and gives this one 16384",
		"k.conf:23: note: default: lbd never leaves MASTER",
		"k.conf:24: unsupported: 10.43.0.0/24: route option mtu 1400 is not supported",
		"k.conf:25: unsupported: 2001:db8:1::/64: the alternative gateway (or 2001:db8::2) is not supported",
		"k.conf:30: unsupported: from: lbd's rules select a table",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
}

// TestImportRoutesKeepalivedRefuses: a route or rule keepalived 2.2.7
// cannot read is logged and left out, and the rest of the file runs;
// the import does the same, with a finding at its line.
func TestImportRoutesKeepalivedRefuses(t *testing.T) {
	for _, tc := range []struct{ block, line, want string }{
		{"virtual_routes", "10.40.0.0/24 via nowhere", `10.40.0.0/24: via "nowhere" is not an IP address`},
		{"virtual_routes", "via 192.0.2.1", "via: no destination"},
		{"virtual_routes", "10.40.0.0/24 dev eth0 table wan", `10.40.0.0/24: table "wan": write the table's number`},
		{"virtual_routes", "10.40.0.0/24 dev eth0 metric", "10.40.0.0/24: metric needs a value"},
		// From keepalived's own sample doc/samples/keepalived.conf.vrrp.rules.
		{"virtual_rules", "to 192.168.100./24 table 1", `to: "192.168.100./24" is not an address or address/prefix`},
	} {
		res, cfg := convertValid(t, "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 1\n  "+tc.block+" {\n    "+tc.line+"\n  }\n  virtual_ipaddress {\n    192.0.2.1\n  }\n}\n")
		if in := cfg.VRRPInstances[0]; len(in.VirtualRoutes)+len(in.VirtualRules) != 0 {
			t.Errorf("%s: converted to routes %v, rules %v; keepalived leaves it out", tc.line, in.VirtualRoutes, in.VirtualRules)
		}
		want := "k.conf:5: unsupported: " + tc.want
		if report := Report(res.Findings); !strings.Contains(report, want) || !strings.Contains(report, "leaves the entry out") {
			t.Errorf("%s: report lacks %q:\n%s", tc.line, want, report)
		}
	}
}

// TestImportDefaultRouteFamily: keepalived gives "default" the family
// of the route's gateway or source (octavia's VRRP template writes one
// default route per family in one table).
func TestImportDefaultRouteFamily(t *testing.T) {
	_, cfg := convertValid(t, `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  virtual_ipaddress {
    192.0.2.1
  }
  virtual_routes {
    default via 2001:db8::ff dev eth1 onlink table 1
    default via 10.1.0.1 dev eth1 onlink table 1
    default6 dev eth1 table 2
    any src 2001:db8::15 dev eth1 table 3
  }
}
`)
	var got []string
	for _, r := range cfg.VRRPInstances[0].VirtualRoutes {
		got = append(got, r.To.String())
	}
	if want := "::/0 0.0.0.0/0 ::/0 ::/0"; strings.Join(got, " ") != want {
		t.Errorf("destinations %q, want %q", strings.Join(got, " "), want)
	}
}
