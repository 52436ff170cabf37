package conf

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const example = `global:
  router_id: lb1
  vrrp:
    version: 3
    advert_interval: 100ms
vrrp_scripts:
  - name: chk_web
    script: /bin/true --quiet
    interval: 2
    weight: -20
vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 51
    priority: 150
    unicast_src_ip: 192.0.2.1
    unicast_peers: [192.0.2.2]
    virtual_ipaddresses:
      - 192.0.2.100
      - {address: 192.0.2.101/24, interface: eth1, label: "eth1:vip"}
    track_scripts:
      - name: chk_web
    track_interfaces:
      - {name: eth1, weight: -10}
    notify: [/bin/true, extra]
  - name: VI_6
    interface: eth0
    virtual_router_id: 51
    garp_master_refresh: 0
    virtual_ipaddresses: ["2001:db8::100/64"]
vrrp_sync_groups:
  - name: G
    group: [VI_1, VI_6]
`

func TestParseExample(t *testing.T) {
	c, err := Parse("lbd.yaml", []byte(example))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.VRRPInstances) != 2 || len(c.VRRPScripts) != 1 || len(c.VRRPSyncGroups) != 1 {
		t.Fatalf("decoded %+v", c)
	}
	v4, v6 := c.VRRPInstances[0], c.VRRPInstances[1]
	checks := []struct {
		name      string
		got, want any
	}{
		{"instance position", v4.Pos, Pos{"lbd.yaml", 12, 5}},
		{"version from global", v4.Version, 3},
		{"interval from global", v4.AdvertInterval.D(), 100 * time.Millisecond},
		{"priority", v4.Priority, 150},
		{"default priority", v6.Priority, DefaultPriority},
		{"accept default", *v4.Accept, true},
		{"garp delay default", v4.GARPMasterDelay.D(), DefaultGARPMasterDelay},
		{"garp refresh default", v4.GARPMasterRefresh.D(), DefaultGARPRefresh},
		{"garp refresh off", v6.GARPMasterRefresh.D(), time.Duration(0)},
		{"host VIP", v4.VirtualIPAddresses[0].Address.Prefix, netip.MustParsePrefix("192.0.2.100/32")},
		{"VIP interface default", v4.VirtualIPAddresses[0].Interface, "eth0"},
		{"VIP mapping", v4.VirtualIPAddresses[1], VIP{Pos: Pos{"lbd.yaml", 20, 9},
			Address: Prefix{netip.MustParsePrefix("192.0.2.101/24")}, Interface: "eth1", Label: "eth1:vip"}},
		{"unicast peer", v4.UnicastPeers[0].Addr, netip.MustParseAddr("192.0.2.2")},
		{"script split on spaces", strings.Join(c.VRRPScripts[0].Script, "|"), "/bin/true|--quiet"},
		{"seconds as a number", c.VRRPScripts[0].Interval.D(), 2 * time.Second},
		{"timeout defaults to interval", c.VRRPScripts[0].Timeout.D(), 2 * time.Second},
		{"notify as a list", strings.Join(v4.Notify, "|"), "/bin/true|extra"},
		{"IPv6 VIP", v6.VirtualIPAddresses[0].Address.Prefix, netip.MustParsePrefix("2001:db8::100/64")},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

// TestParseErrors checks that each mistake is reported with its position
// and a message that says what is wrong.
func TestParseErrors(t *testing.T) {
	base := "vrrp_instances:\n  - name: VI_1\n    interface: eth0\n    virtual_router_id: 51\n    virtual_ipaddresses: [192.0.2.100]\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"typo", base + "    priorty: 100\n", `x.yaml:6:5: unknown key "priorty" (did you mean "priority"?)`},
		{"unknown top-level", "vrrp_instance: []\n", `x.yaml:1:1: unknown key "vrrp_instance" (did you mean "vrrp_instances"?)`},
		{"repeated key", base + "    interface: eth1\n", `x.yaml:6:5: repeated key "interface"`},
		{"not a number", base + "    priority: high\n", "x.yaml:6:15: cannot unmarshal !!str `high` into int"},
		{"bad duration", base + "    advert_interval: soon\n", `x.yaml:6:22: invalid duration "soon"`},
		{"bad address", "vrrp_instances:\n  - name: a\n    interface: eth0\n    virtual_router_id: 1\n    virtual_ipaddresses: [192.0.2.300]\n",
			`x.yaml:5:27: invalid IP address "192.0.2.300"`},
		{"list expected", base + "    unicast_peers: 192.0.2.2\n", `x.yaml:6:20: expected a list, found "192.0.2.2"`},
		{"YAML 1.1 boolean", base + "    nopreempt: yes\n", `x.yaml:6:16: expected true or false, found "yes"`},
		{"syntax", "vrrp_instances:\n  - name: [\n", "x.yaml:2:1: YAML syntax"},
		{"vrid range", strings.Replace(base, "51", "256", 1), "x.yaml:2:5: vrrp instance VI_1: virtual_router_id 256 outside 1..255"},
		{"duplicate vrid", base + strings.Replace(strings.TrimPrefix(base, "vrrp_instances:\n"), "VI_1", "VI_2", 1),
			"x.yaml:6:5: vrrp instance VI_2: virtual_router_id 51 is already used by VI_1 on eth0"},
		{"v2 IPv6", "vrrp_instances:\n  - name: a\n    interface: eth0\n    virtual_router_id: 1\n    version: 2\n    virtual_ipaddresses: [\"2001:db8::1\"]\n",
			"VRRPv2 is IPv4 only"},
		{"v2 interval", base + "    version: 2\n    advert_interval: 100ms\n", "VRRPv2 advert_interval must be whole seconds"},
		{"v3 interval", base + "    advert_interval: 5ms\n", "VRRPv3 advert_interval must be centiseconds"},
		{"auth in v3", base + "    authentication: {type: PASS, password: x}\n", "x.yaml:6:21: vrrp instance VI_1: authentication exists only in VRRPv2"},
		{"mixed families", base + "    virtual_ipaddresses_excluded: [\"2001:db8::1\"]\n    unicast_peers: [\"2001:db8::2\"]\n",
			"unicast peer 2001:db8::2 is not of the virtual addresses' family"},
		{"mixed VIPs", strings.Replace(base, "[192.0.2.100]", "[192.0.2.100, \"2001:db8::1\"]", 1), "virtual addresses mix IPv4 and IPv6"},
		{"undefined script", base + "    track_scripts: [{name: nope}]\n", `x.yaml:6:21: vrrp instance VI_1: track script "nope" is not defined`},
		{"missing notify", base + "    notify_master: /nonexistent/notify.sh\n", "notify_master: stat /nonexistent/notify.sh: no such file or directory"},
		{"relative notify", base + "    notify_master: notify.sh\n", `"notify.sh" must be an absolute path`},
		{"sync group member", base + "vrrp_sync_groups: [{name: G, group: [VI_1, VI_9]}]\n", `x.yaml:6:20: vrrp sync group "G": instance "VI_9" is not defined`},
		{"weight range", base + "    track_interfaces: [{name: eth1, weight: 300}]\n", "weight 300 outside -253..253"},
		{"no VIPs", "vrrp_instances:\n  - name: a\n    interface: eth0\n    virtual_router_id: 1\n", "no virtual_ipaddresses"},
		{"two documents", base + "---\nx: 1\n", "more than one YAML document"},
		{"fast takeover mode", base + "    fast_takeover: arp\n", `x.yaml:2:5: vrrp instance VI_1: fast_takeover "arp" is not icmp, bfd or off`},
		{"bfd without peers", "global:\n  vrrp: {fast_takeover: bfd}\n" + base,
			"x.yaml:4:5: vrrp instance VI_1: fast_takeover bfd needs unicast_peers"},
		{"bfd multiplier", base + "    unicast_peers: [192.0.2.2]\n    fast_takeover: bfd\n    fast_takeover_bfd_multiplier: 1\n",
			"x.yaml:2:5: vrrp instance VI_1: fast_takeover_bfd_multiplier 1 outside 2..50"},
		{"bfd interval", base + "    fast_takeover_bfd_interval: 5ms\n", "fast_takeover_bfd_interval 5ms outside 10ms..10s"},
		{"net_namespace path", "global:\n  net_namespace: /var/run/netns/blue\n" + base,
			`x.yaml:2:3: net_namespace "/var/run/netns/blue" is not a namespace name as ip netns takes it`},
		{"net_namespace dot-dot", "\nglobal: {net_namespace: ..}\n" + base, `x.yaml:2:9: net_namespace ".." is not a namespace name`},
		{"net_namespace long", "global:\n  net_namespace: " + strings.Repeat("n", 256) + "\n" + base, "at most 255 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("accepted:\n%s", tc.yaml)
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error %T is not an ErrorList: %v", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got:\n%v\nwant it to contain:\n%s", err, tc.want)
			}
		})
	}
}

// TestNetNamespace: any name ip netns add takes is accepted, and appears
// in the summary lbd -t and the daemon's log print.
func TestNetNamespace(t *testing.T) {
	for _, name := range []string{"amphora-haproxy", "qrouter-6f1c.x", ".hidden", "with space", strings.Repeat("n", 255)} {
		c, err := Parse("x.yaml", []byte(fmt.Sprintf("global:\n  net_namespace: %q\n", name)))
		if err != nil {
			t.Errorf("net_namespace %q: %v", name, err)
			continue
		}
		if c.Global.NetNamespace != name || !strings.HasSuffix(c.Summary(), ", network namespace "+name) {
			t.Errorf("net_namespace %q: decoded %q, summary %q", name, c.Global.NetNamespace, c.Summary())
		}
	}
	c, err := Parse("x.yaml", nil)
	if err != nil || c.Global.NetNamespace != "" || strings.Contains(c.Summary(), "namespace") {
		t.Errorf("no net_namespace: %q, summary %q, %v", c.Global.NetNamespace, c.Summary(), err)
	}
}

func TestParseReportsAllErrors(t *testing.T) {
	_, err := Parse("x.yaml", []byte("global:\n  routr_id: a\n  notify_timeout: -1s\nvrrp_scriptz: []\n"))
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 3 {
		t.Fatalf("want 3 errors, got: %v", err)
	}
}

func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lbd.yaml")
	if err := os.WriteFile(path, []byte(example), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil || c.Global.RouterID != "lb1" {
		t.Fatalf("Load = %+v, %v", c, err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
	c, err = Parse("empty.yaml", nil)
	if err != nil || len(c.VRRPInstances) != 0 || c.Global.VRRP.Version != DefaultVRRPVersion {
		t.Errorf("empty file: %+v, %v", c, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(example))
	f.Add([]byte("vrrp_instances: [{name: a, interface: b, virtual_router_id: 1, virtual_ipaddresses: [&x 1.2.3.4, *x]}]"))
	f.Add([]byte("global: {vrrp: {advert_interval: 1e300}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if (c == nil) == (err == nil) {
			t.Fatalf("Parse returned config %v and error %v", c, err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "fuzz.yaml:") {
			t.Fatalf("error without position: %v", err)
		}
	})
}

// aliasBomb nests four aliased lists (virtual_servers → real_servers → urls
// → status_code), each k wide: a few hundred bytes of text that expand to
// k⁴ status codes.
func aliasBomb(k int) string {
	rep := func(alias string) string { return strings.Repeat(", "+alias, k-1) }
	return "virtual_servers:\n" +
		"  - &vs {address: 192.0.2.100:80, real_servers: [" +
		"&rs {address: 198.51.100.1, check: {type: HTTP_GET, urls: [" +
		"&u {path: /, status_code: [&s 200" + rep("*s") + "]}" + rep("*u") + "]}}" + rep("*rs") + "]}\n" +
		strings.Repeat("  - *vs\n", k-1)
}

func TestAliasBombRefused(t *testing.T) {
	bomb := aliasBomb(20)
	start := time.Now()
	_, err := Parse("bomb.yaml", []byte(bomb))
	if err == nil || !strings.Contains(err.Error(), "alias") {
		t.Fatalf("alias bomb (%d bytes) not refused: %.200v", len(bomb), err)
	}
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 1 || list[0].Pos.File != "bomb.yaml" {
		t.Fatalf("want one error, got %.200v", err)
	}
	lines := strings.Split(bomb, "\n")
	if p := list[0].Pos; p.Line < 1 || p.Line > len(lines) || p.Col < 1 || p.Col > len(lines[p.Line-1]) || lines[p.Line-1][p.Col-1] != '*' {
		t.Errorf("error at %d:%d, not at an alias: %v", p.Line, p.Col, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("refusing took %v", d)
	}
	// The incremental Parser decodes the item on its own, then the file.
	if _, err := (&Parser{}).Parse("bomb.yaml", []byte(bomb)); err == nil || !strings.Contains(err.Error(), "alias bomb") {
		t.Errorf("Parser: alias bomb not refused: %.200v", err)
	}
}

func TestAliasesWithinBudget(t *testing.T) {
	// A check shared by anchor, as real files do, loads.
	data := "virtual_servers:\n" +
		"  - address: 192.0.2.100:80\n" +
		"    check: &chk {type: HTTP_GET, urls: [{path: /health, status_code: [200-299]}]}\n" +
		"    real_servers: [198.51.100.1]\n"
	for i := 1; i < 100; i++ {
		data += fmt.Sprintf("  - {address: 192.0.2.%d:80, check: *chk, real_servers: [198.51.100.1]}\n", 100+i)
	}
	c, err := Parse("shared.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.VirtualServers[99].Check.URLs[0].Path; got != "/health" {
		t.Errorf("aliased check path = %q", got)
	}
}
