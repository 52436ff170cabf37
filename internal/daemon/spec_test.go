package daemon

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/vrrp"
)

const baseYAML = `
global:
  notify_timeout: 2s
  vrrp:
    version: 3
    advert_interval: 100ms
vrrp_scripts:
  - name: chk_web
    script: /bin/true --web
    interval: 2s
    rise: 2
    fall: 3
    weight: -20
  - name: chk_db
    script: [/bin/true, db]
    init_fail: true
vrrp_instances:
  - name: VI_WEB
    interface: eth0
    virtual_router_id: 51
    priority: 150
    unicast_src_ip: 192.0.2.1
    unicast_peers: [192.0.2.2]
    garp_master_delay: 0
    virtual_ipaddresses:
      - 192.0.2.100
      - {address: 192.0.2.101/24, interface: eth1, label: eth1:web}
    virtual_ipaddresses_excluded: [2001:db8::100]
    track_interfaces: [{name: eth1, weight: -30}, {name: eth2}]
    track_scripts: [{name: chk_web}, {name: chk_db, weight: 10}]
    track_files: [{path: /run/lbd/web.weight, weight: -5, reverse: true}]
    notify: /bin/true
  - name: VI_DB
    interface: eth0
    virtual_router_id: 52
    virtual_ipaddresses: [192.0.2.110]
  - name: VI_DB6
    interface: eth0
    virtual_router_id: 52
    virtual_ipaddresses: [2001:db8::110]
    track_scripts: [{name: chk_db}]
  - name: VI_V2
    interface: eth0
    version: 2
    advert_interval: 1
    virtual_router_id: 53
    authentication: {type: PASS, password: secret}
    virtual_ipaddresses: [192.0.2.120]
vrrp_sync_groups:
  - name: DB
    group: [VI_DB, VI_DB6]
    notify: /bin/true
`

func parse(t *testing.T, y string) []unitSpec {
	t.Helper()
	cfg, err := conf.Parse("lbd.yaml", []byte(y))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	us, err := units(cfg)
	if err != nil {
		t.Fatalf("units: %v", err)
	}
	return us
}

func TestUnitsMapping(t *testing.T) {
	us := parse(t, baseYAML)
	var keys []string
	for _, u := range us {
		keys = append(keys, u.Key)
	}
	if want := []string{"group DB", "instance VI_WEB", "instance VI_V2"}; !slices.Equal(keys, want) {
		t.Fatalf("units %q, want %q", keys, want)
	}
	db := us[0]
	if db.Group != "DB" || len(db.Members) != 2 || db.Members[0].Name() != "VI_DB" || db.Members[1].Name() != "VI_DB6" {
		t.Errorf("sync group unit: %+v", db)
	}
	if !slices.Equal(db.GroupNotify.Generic, []string{"/bin/true"}) || db.GroupNotify.Master != nil {
		t.Errorf("group notify %q", db.GroupNotify)
	}
	if m := db.Members[1]; !m.IPv6 || m.Config.Primary.IsValid() || m.Config.Priority != 100 {
		t.Errorf("VI_DB6: IPv6 %v primary %v (want none: link-local at start) priority %d", m.IPv6, m.Config.Primary, m.Config.Priority)
	}

	w := us[1].Members[0]
	c := w.Config
	if c.Version != vrrp.Version3 || c.VRID != 51 || c.Priority != 150 || c.AdvertInterval != 100*time.Millisecond || !c.Accept {
		t.Errorf("VI_WEB vrrp config: %+v", c)
	}
	if c.Primary != netip.MustParseAddr("192.0.2.1") || !slices.Equal(w.Peers, []netip.Addr{netip.MustParseAddr("192.0.2.2")}) {
		t.Errorf("unicast: primary %v peers %v", c.Primary, w.Peers)
	}
	if want := []netip.Addr{netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("192.0.2.101")}; !slices.Equal(c.VIPs, want) {
		t.Errorf("advertised VIPs %v, want %v", c.VIPs, want)
	}
	if w.VIPs[0].Dev != "eth0" || w.VIPs[1].Dev != "eth1" || w.VIPs[1].Label != "eth1:web" || w.VIPs[1].Prefix.Bits() != 24 {
		t.Errorf("VIP install specs: %+v", w.VIPs)
	}
	if len(w.Excluded) != 1 || w.Excluded[0].Addr() != netip.MustParseAddr("2001:db8::100") || w.Excluded[0].Dev != "eth0" {
		t.Errorf("excluded: %+v", w.Excluded)
	}
	// garp_master_delay 0 turns the second burst off (negative); the
	// others are conf's defaults.
	if want := (vrrp.GARPConfig{Delay: -1, Repeat: 5, Refresh: time.Minute, RefreshRepeat: 1, LowerPrioRepeat: 5, LowerPrioDelay: -1}); w.GARP != want {
		t.Errorf("GARP: %+v, want %+v", w.GARP, want)
	}
	wantTracks := []vrrp.Track{
		{Name: "interface eth1", Kind: vrrp.TrackInterface, Weight: -30},
		{Name: "interface eth2", Kind: vrrp.TrackInterface, Weight: 0},
		{Name: "script chk_web", Kind: vrrp.TrackScript, Weight: -20},
		{Name: "script chk_db", Kind: vrrp.TrackScript, Weight: 10, InitFail: true},
		{Name: "file /run/lbd/web.weight", Kind: vrrp.TrackFile, Weight: -5, Reverse: true},
	}
	if !slices.Equal(c.Tracks, wantTracks) {
		t.Errorf("tracks\n got %+v\nwant %+v", c.Tracks, wantTracks)
	}
	s := w.Scripts[0]
	if s.Interval != 2*time.Second || s.Timeout != 2*time.Second || s.Rise != 2 || s.Fall != 3 || !slices.Equal(s.Args, []string{"/bin/true", "--web"}) {
		t.Errorf("script chk_web: %+v", s)
	}
	if len(w.Notify.Generic) != 1 || len(w.Notify.Master) != 0 {
		t.Errorf("notify: %+v", w.Notify)
	}
	// The whole config must be accepted by the state machine.
	for _, u := range us {
		for _, m := range u.Members {
			cfg := m.Config
			if !cfg.Primary.IsValid() {
				cfg.Primary = netip.MustParseAddr("192.0.2.9")
				if m.IPv6 {
					cfg.Primary = netip.MustParseAddr("fe80::9")
				}
			}
			if _, err := vrrp.NewInstance(cfg); err != nil {
				t.Errorf("%s: %v", m.Name(), err)
			}
		}
	}
	v2 := us[2].Members[0]
	if v2.AuthType != vrrp.AuthSimple || string(v2.AuthData[:6]) != "secret" || v2.Config.AdvertInterval != time.Second {
		t.Errorf("VI_V2: auth %v %q interval %v", v2.AuthType, v2.AuthData, v2.Config.AdvertInterval)
	}
}

func TestDiff(t *testing.T) {
	base := parse(t, baseYAML)
	cases := []struct {
		name string
		edit func(string) string
		want plan
	}{
		{"unchanged", func(s string) string { return s }, plan{Keep: []string{"group DB", "instance VI_WEB", "instance VI_V2"}}},
		{"only positions move, notify_timeout changes (applied live)", func(s string) string {
			return "\n\n# comment\n" + strings.Replace(s, "notify_timeout: 2s", "notify_timeout: 5s", 1)
		}, plan{Keep: []string{"group DB", "instance VI_WEB", "instance VI_V2"}}},
		{"priority of one instance", func(s string) string {
			return strings.Replace(s, "priority: 150", "priority: 160", 1)
		}, plan{Keep: []string{"group DB", "instance VI_V2"}, Restart: []string{"instance VI_WEB"}}},
		{"global default reaches every instance that uses it", func(s string) string {
			return strings.Replace(s, "advert_interval: 100ms", "advert_interval: 200ms", 1)
		}, plan{Keep: []string{"instance VI_V2"}, Restart: []string{"group DB", "instance VI_WEB"}}},
		{"a tracked script restarts its trackers only", func(s string) string {
			return strings.Replace(s, "fall: 3", "fall: 4", 1)
		}, plan{Keep: []string{"group DB", "instance VI_V2"}, Restart: []string{"instance VI_WEB"}}},
		{"script used by a sync group member restarts the group", func(s string) string {
			return strings.Replace(s, "init_fail: true", "init_fail: false", 1)
		}, plan{Keep: []string{"instance VI_V2"}, Restart: []string{"group DB", "instance VI_WEB"}}},
		{"removed and added", func(s string) string {
			s = strings.Replace(s, "name: VI_V2", "name: VI_V2B", 1)
			return s
		}, plan{Keep: []string{"group DB", "instance VI_WEB"}, Start: []string{"instance VI_V2B"}, Stop: []string{"instance VI_V2"}}},
		{"instance leaves its sync group", func(s string) string {
			return strings.Replace(s, "group: [VI_DB, VI_DB6]", "group: [VI_DB]", 1)
		}, plan{Keep: []string{"instance VI_WEB", "instance VI_V2"}, Restart: []string{"group DB"}, Start: []string{"instance VI_DB6"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := diff(base, parse(t, c.edit(baseYAML)))
			if !slices.Equal(got.Keep, c.want.Keep) || !slices.Equal(got.Restart, c.want.Restart) ||
				!slices.Equal(got.Start, c.want.Start) || !slices.Equal(got.Stop, c.want.Stop) {
				t.Errorf("plan\n got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestUnitsVirtualRoutes(t *testing.T) {
	us := parse(t, `vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 7
    virtual_ipaddresses: [192.0.2.100]
    garp_interval: 10ms
    gna_interval: 20ms
    virtual_routes:
      - {to: 10.40.0.0/24, via: 192.0.2.254, src: 192.0.2.100, table: 100, metric: 5, scope: global}
      - {to: "2001:db8:1::/64", type: unreachable}
    virtual_rules:
      - {to: "2001:db8:2::/64", table: 101, priority: 300, fwmark: 7, fwmask: 15, iif: eth1}
`)
	m := us[0].Members[0]
	if m.GARP.Interval != 10*time.Millisecond || m.GARP.NAInterval != 20*time.Millisecond {
		t.Errorf("GARP %+v", m.GARP)
	}
	want := []vrrp.Route{
		{Dst: netip.MustParsePrefix("10.40.0.0/24"), Via: netip.MustParseAddr("192.0.2.254"), Src: netip.MustParseAddr("192.0.2.100"),
			Table: 100, Metric: 5, Scope: "global"},
		{Dst: netip.MustParsePrefix("2001:db8:1::/64"), Type: "unreachable"},
	}
	if !slices.Equal(m.Routes, want) {
		t.Errorf("routes %+v, want %+v", m.Routes, want)
	}
	if r := (vrrp.Rule{IPv6: true, Priority: 300, To: netip.MustParsePrefix("2001:db8:2::/64"), Table: 101, Mark: 7, Mask: 15, IIF: "eth1"}); !slices.Equal(m.Rules, []vrrp.Rule{r}) {
		t.Errorf("rules %+v", m.Rules)
	}
}

// global.vrrp's multicast groups go to the members of their family, and
// changing one restarts the units on reload.
func TestUnitsMulticastGroup(t *testing.T) {
	const instances = `vrrp_instances:
  - {name: V4, interface: eth0, virtual_router_id: 1, mcast_src_ip: 192.0.2.1, virtual_ipaddresses: [192.0.2.100]}
  - {name: V6, interface: eth0, virtual_router_id: 1, virtual_ipaddresses: ["2001:db8::100"]}
`
	us := parse(t, "global:\n  vrrp: {mcast_group4: 224.0.0.19, mcast_group6: \"ff02::13\"}\n"+instances)
	v4, v6 := us[0].Members[0], us[1].Members[0]
	if v4.Group != netip.MustParseAddr("224.0.0.19") || v4.Config.Primary != netip.MustParseAddr("192.0.2.1") || v6.Group != netip.MustParseAddr("ff02::13") {
		t.Errorf("V4 group %v primary %v, V6 group %v", v4.Group, v4.Config.Primary, v6.Group)
	}
	if p := diff(us, parse(t, instances)); len(p.Restart) != 2 {
		t.Errorf("dropping the groups: %+v, want both restarted", p)
	}
}

// use_vmac: the instance's addresses of its family on its interface go on
// the macvlan; another family's, or another interface's, stay where they
// are.
func TestUnitsVMAC(t *testing.T) {
	us := parse(t, `vrrp_instances:
  - name: V4
    interface: eth0
    virtual_router_id: 51
    use_vmac: true
    virtual_ipaddresses: [192.0.2.100, {address: 192.0.2.101, interface: eth1}]
    virtual_ipaddresses_excluded: [192.0.2.102, "2001:db8::102"]
  - {name: V6, interface: eth0, virtual_router_id: 51, use_vmac: true, vmac_name: v6vmac, vmac_xmit_base: true,
     virtual_ipaddresses: ["2001:db8::100"]}
  - {name: PLAIN, interface: eth0, virtual_router_id: 52, virtual_ipaddresses: [192.0.2.110]}
`)
	devs := func(vs []vrrp.VIP) (out []string) {
		for _, v := range vs {
			out = append(out, v.Addr().String()+"@"+v.Dev)
		}
		return out
	}
	v4, v6, plain := us[0].Members[0], us[1].Members[0], us[2].Members[0]
	if v4.VMAC == nil || *v4.VMAC != (vrrp.VMAC{Name: "vrrp.51"}) {
		t.Errorf("V4 vmac %+v", v4.VMAC)
	}
	if got, want := devs(slices.Concat(v4.VIPs, v4.Excluded)), []string{"192.0.2.100@vrrp.51", "192.0.2.101@eth1",
		"192.0.2.102@vrrp.51", "2001:db8::102@eth0"}; !slices.Equal(got, want) {
		t.Errorf("V4 addresses on %v, want %v", got, want)
	}
	if v6.VMAC == nil || *v6.VMAC != (vrrp.VMAC{Name: "v6vmac", XmitBase: true}) || devs(v6.VIPs)[0] != "2001:db8::100@v6vmac" {
		t.Errorf("V6 vmac %+v, addresses %v", v6.VMAC, devs(v6.VIPs))
	}
	if plain.VMAC != nil || devs(plain.VIPs)[0] != "192.0.2.110@eth0" {
		t.Errorf("PLAIN vmac %+v, addresses %v", plain.VMAC, devs(plain.VIPs))
	}
}
