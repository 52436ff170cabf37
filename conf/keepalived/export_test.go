package keepalived

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lbd-project/lbd/conf"
)

const exportYAML = `global: {router_id: lb1, net_namespace: blue, vrrp: {version: 2, mcast_group4: 224.0.0.19, garp_master_refresh_repeat: 2}}
static_ipaddresses: [{address: 10.9.0.5/24, interface: eth1, label: "eth1:s"}]
static_routes: [{to: 10.20.0.0/24, via: 192.0.2.254, interface: eth0}]
static_rules: [{from: 10.30.0.0/24, table: 100, priority: 200}]
vrrp_scripts:
  - {name: chk, script: "/bin/sh -c 'exit 0'", interval: 2s, fall: 2, weight: -20}
vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 51
    priority: 150
    nopreempt: true
    authentication: {type: PASS, password: secret}
    unicast_src_ip: 192.0.2.1
    unicast_peers: [192.0.2.2]
    virtual_ipaddresses: [198.51.100.10/24, {address: 198.51.100.11, label: "eth0:1"}]
    track_scripts: [{name: chk, weight: -30}]
    track_interfaces: [{name: eth1, weight: -5}]
    notify_master: /bin/true master
    garp_interval: 10ms
    virtual_routes:
      - {to: 10.40.0.0/24, via: 192.0.2.254, src: 198.51.100.10, table: 100, metric: 5, scope: global, onlink: true}
      - {to: 10.41.0.0/24, type: blackhole}
    virtual_rules:
      - {to: 10.51.0.0/16, fwmark: 7, fwmask: 255, iif: eth1, table: 102, priority: 301}
      - {oif: eth1, family: IPv6, table: 103, priority: 302}
  - name: VI_2
    interface: eth1
    virtual_router_id: 52
    mcast_src_ip: 192.0.2.5
    virtual_ipaddresses: [198.51.100.20]
vrrp_sync_groups:
  - {name: G, group: [VI_2], notify_master: /bin/true g, notify_fault: /bin/true f, notify: /bin/true}
virtual_servers:
  - address: 198.51.100.10:80
    scheduler: wrr
    forwarding: DR
    persistence_timeout: 50s
    check: {type: HTTP_GET, delay_loop: 6s, urls: [{path: /, digest: 976a47265d9fee46c6941b1b15ba7328}, {path: /h, status_code: [200-299, 301]}]}
    inhibit_on_failure: true
    real_servers: [{address: 192.0.2.11:80, weight: 2}, {address: 192.0.2.12:80, inhibit_on_failure: false}]
  - fwmark: 5
    scheduler: sh
    scheduler_flags: [sh-port, sh-fallback]
    sorry_server: 192.0.2.99:80
    real_servers:
      - {address: 192.0.2.21:80, check: {type: TCP, connect_timeout: 2s}}
      - {address: 192.0.2.22:80, check: {type: MISC, misc_path: "/bin/true x"}}
      - {address: 192.0.2.23:80, checks: [{type: TCP, connect_port: 22}, {type: HTTP_GET, urls: [{path: /}]}]}
      - {address: 192.0.2.24:80, check: {type: SMTP, helo_name: lb1.example.org, connect_port: 25}}
`

// TestExportRoundTrip checks import(export(x)) == x for the exported
// subset: the same kernel services and destinations, the same effective
// checks and VRRP settings (compared through a second export, which
// writes every effective value).
func TestExportRoundTrip(t *testing.T) {
	cfg, err := conf.Parse("x.yaml", []byte(exportYAML))
	if err != nil {
		t.Fatal(err)
	}
	text, findings, err := Export(cfg)
	if err != nil || len(findings) > 0 {
		t.Fatalf("export: %v %v", err, findings)
	}
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	os.WriteFile(path, text, 0o644)
	res, err := Import(path)
	if err != nil {
		t.Fatalf("import of the export: %v\n%s", err, text)
	}
	if fs := withoutStopAndPacing(res.Findings); ChangesBehaviour(fs) {
		t.Errorf("import of the export has findings:\n%s", Report(fs))
	}
	cfg2, err := conf.Parse("y.yaml", res.YAML)
	if err != nil {
		t.Fatalf("%v\n%s", err, res.YAML)
	}
	text2, _, _ := Export(cfg2)
	if string(text) != string(text2) {
		t.Errorf("export(import(export(x))) differs:\n%s\nwant\n%s", text2, text)
	}
	g1, g2 := cfg.GroupIndex(), cfg2.GroupIndex()
	for i := range cfg.VirtualServers {
		a, b := &cfg.VirtualServers[i], &cfg2.VirtualServers[i]
		s1, s2 := a.Services(g1), b.Services(g2)
		if !reflect.DeepEqual(s1, s2) {
			t.Errorf("services %v != %v", s1, s2)
		}
		for j := range a.RealServers {
			if d1, d2 := a.Destination(&a.RealServers[j], s1[0]), b.Destination(&b.RealServers[j], s2[0]); d1 != d2 {
				t.Errorf("destination %v != %v", d1, d2)
			}
		}
	}
	if rs := cfg2.VirtualServers[1].RealServers[2]; len(rs.Checks) != 2 || rs.Checks[0].ConnectPort != 22 {
		t.Errorf("several checks exported and imported as %+v", rs)
	}
	if c := cfg2.VirtualServers[1].RealServers[3].Check; c == nil || c.Type != "SMTP" || c.HeloName != "lb1.example.org" || c.ConnectPort != 25 {
		t.Errorf("SMTP check exported and imported as %+v", c)
	}
	if !strings.Contains(string(text), "SMTP_CHECK {\n") || !strings.Contains(string(text), "helo_name lb1.example.org\n") {
		t.Errorf("no SMTP_CHECK with helo_name in the export:\n%s", text)
	}
	if a, b := cfg.VRRPInstances[0], cfg2.VRRPInstances[0]; a.Priority != b.Priority || a.Version != b.Version ||
		len(a.VirtualIPAddresses) != len(b.VirtualIPAddresses) || a.VirtualIPAddresses[1].Label != b.VirtualIPAddresses[1].Label {
		t.Errorf("instance %+v != %+v", a, b)
	}
	// What lbd and keepalived both have, back as it was.
	strip := func(c *conf.Config) any {
		routes := func(rs []conf.Route) []conf.Route {
			out := slices.Clone(rs)
			for i := range out {
				out[i].Pos = conf.Pos{}
			}
			return out
		}
		rules := func(rs []conf.Rule) []conf.Rule {
			out := slices.Clone(rs)
			for i := range out {
				out[i].Pos = conf.Pos{}
			}
			return out
		}
		type inst struct {
			Routes       []conf.Route
			Rules        []conf.Rule
			GARP, GNA    conf.Duration
			RefreshRep   int
			MCastSrc     *conf.Addr
			NotifyMaster conf.Command
		}
		var out struct {
			Netns  string
			Addrs  []conf.VIP
			Routes []conf.Route
			Rules  []conf.Rule
			Group4 *conf.Addr
			Inst   []inst
			Groups []conf.SyncGroup
		}
		out.Netns, out.Routes, out.Rules, out.Group4 = c.Global.NetNamespace, routes(c.StaticRoutes), rules(c.StaticRules), c.Global.VRRP.MCastGroup4
		for _, v := range c.StaticIPAddresses {
			v.Pos = conf.Pos{}
			out.Addrs = append(out.Addrs, v)
		}
		for _, in := range c.VRRPInstances {
			out.Inst = append(out.Inst, inst{routes(in.VirtualRoutes), rules(in.VirtualRules), *in.GARPInterval, *in.GNAInterval,
				in.GARPMasterRefreshRepeat, in.MCastSrcIP, in.NotifyMaster})
		}
		for _, g := range c.VRRPSyncGroups {
			g.Pos = conf.Pos{}
			out.Groups = append(out.Groups, g)
		}
		return out
	}
	if a, b := strip(cfg), strip(cfg2); !reflect.DeepEqual(a, b) {
		t.Errorf("round trip changed the routes, rules, groups or scripts:\n%+v\nwant\n%+v", b, a)
	}
}

// TestExportReportsLBDOnlyGlobals checks that global settings keepalived
// has no key for are reported, not silently dropped.
func TestExportReportsLBDOnlyGlobals(t *testing.T) {
	cfg, err := conf.Parse("x.yaml", []byte("global: {lvs_sloppy_tcp: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, findings, err := Export(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(findings) != 1 || findings[0].Severity != Unsupported || findings[0].Keyword != "lvs_sloppy_tcp" || !strings.Contains(findings[0].Message, "sysctl") {
		t.Errorf("findings %+v, want one Unsupported about lvs_sloppy_tcp", findings)
	}
}
