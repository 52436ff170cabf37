package conf

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lbd-project/lbd/ipvs"
)

const lbExample = `global:
  lvs_timeouts: {tcp: 900, tcpfin: 120, udp: 300}
  lvs_sync_daemon: {interface: eth0, vrrp_instance: VI_1, sync_id: 7}
vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 51
    virtual_ipaddresses: [192.0.2.100]
virtual_server_groups:
  - name: web
    addresses: ["192.0.2.10-12:80", "192.0.2.20:8080"]
    fwmarks: [5]
virtual_servers:
  - address: 192.0.2.100:80
    scheduler: sh
    scheduler_flags: [sh-port]
    persistence_granularity: 255.255.255.0
    quorum: 2
    hysteresis: 1
    sorry_server: 198.51.100.99:80
    check:
      type: HTTP_GET
      delay_loop: 2s
      urls:
        - {path: /health, status_code: [200-299, 503], digest: 9b3a0c85a887a256d6939da79e6a0c62}
    real_servers:
      - 198.51.100.15:8080
      - address: 198.51.100.16:8080
        weight: 3
        inhibit_on_failure: true
        check: {connect_port: 9000, rise: 2}
      - address: 198.51.100.17
        check: {type: NONE}
  - group: web
    forwarding: DR
    real_servers: [198.51.100.20]
  - fwmark: 1
    family: IPv6
    forwarding: TUN
    tunnel: {type: gue, port: 6080, checksum: csum}
    check: {type: TCP, connect_port: 80}
    real_servers: ["2001:db8::20", "198.51.100.21"]
`

func TestParseVirtualServers(t *testing.T) {
	c, err := Parse("lbd.yaml", []byte(lbExample))
	if err != nil {
		t.Fatal(err)
	}
	groups := c.GroupIndex()
	vs := &c.VirtualServers[0]
	svcs := vs.Services(groups)
	want := ipvs.Service{Protocol: ipvs.TCP, Address: netip.MustParseAddr("192.0.2.100"), Port: 80, Scheduler: "sh",
		SchedFlags: ipvs.SHPort, Persistent: true, Timeout: 360, Netmask: 24}
	if len(svcs) != 1 || svcs[0] != want {
		t.Errorf("services = %+v, want %+v", svcs, want)
	}
	rs1 := vs.Destination(&vs.RealServers[1], svcs[0])
	if rs1.Weight != 3 || rs1.Port != 8080 || rs1.ForwardMethod != ipvs.Masq {
		t.Errorf("real server 2 = %+v", rs1)
	}
	if d := vs.Destination(&vs.RealServers[2], svcs[0]); d.Port != 80 || d.Weight != DefaultWeight {
		t.Errorf("port-less real server = %+v, want the service port and weight 1", d)
	}
	chk := vs.EffectiveCheck(&vs.RealServers[1])
	checks := []struct {
		name      string
		got, want any
	}{
		{"name default", vs.Name, "TCP 192.0.2.100:80"},
		{"forwarding default", vs.Forwarding, "NAT"},
		{"inherited type", chk.Type, "HTTP_GET"},
		{"overridden port", chk.CheckTarget(&vs.RealServers[1], svcs[0]), netip.MustParseAddrPort("198.51.100.16:9000")},
		{"inherited delay_loop", chk.DelayLoop.D(), 2 * time.Second},
		{"warmup defaults to delay_loop", chk.Warmup.D(), 2 * time.Second},
		{"HTTP retry delay", chk.DelayBeforeRetry.D(), DefaultHTTPRetryDelay},
		{"rise override", chk.Rise, 2},
		{"status ranges", len(chk.URLs[0].StatusCode), 2},
		{"NONE turns checks off", vs.EffectiveCheck(&vs.RealServers[2]) == nil, true},
		{"inhibit override", vs.Inhibit(&vs.RealServers[1]), true},
		{"group services", len(c.VirtualServers[1].Services(groups)), 5},
		{"group name", c.VirtualServers[1].Name, "group web"},
		{"timeouts", c.Global.LVSTimeouts.TCP.D(), 900 * time.Second},
		{"drain default", c.Global.LVSDrainTimeout.D(), DefaultDrainTimeout},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	sorry, ok := vs.SorryDestination(svcs[0])
	if !ok || sorry.Address != netip.MustParseAddr("198.51.100.99") || sorry.Port != 80 || sorry.Weight != 1 {
		t.Errorf("sorry = %+v", sorry)
	}
	fw := &c.VirtualServers[2]
	fsvc := fw.Services(groups)[0]
	d := fw.Destination(&fw.RealServers[1], fsvc)
	if fsvc.Key().String() != "FWM 1 IPv6" || d.ForwardMethod != ipvs.Tunnel || d.TunnelType != ipvs.GUE ||
		d.TunnelPort != 6080 || d.TunnelFlags != ipvs.TunnelCsum {
		t.Errorf("fwmark service %v, destination %+v", fsvc, d)
	}
	for _, s := range c.VirtualServers[1].Services(groups) {
		if d := c.VirtualServers[1].Destination(&c.VirtualServers[1].RealServers[0], s); d.Port != s.Port {
			t.Errorf("DR real server in %v got port %d", s, d.Port)
		}
	}
}

func TestParseVirtualServerErrors(t *testing.T) {
	vrrp := "vrrp_instances:\n  - name: VI_1\n    interface: eth0\n    virtual_router_id: 51\n    virtual_ipaddresses: [192.0.2.100]\n"
	vs := func(body string) string { return "virtual_servers:\n  - address: 192.0.2.10:80\n" + body }
	tests := []struct {
		name, yaml, want string
	}{
		{"duplicate service", vs("  - address: 192.0.2.10:80\n"), "x.yaml:3:5: virtual server TCP 192.0.2.10:80: defined twice"},
		{"duplicate through group",
			"virtual_server_groups: [{name: g, addresses: [192.0.2.8-12:80]}]\n" + vs("  - group: g\n"),
			"x.yaml:4:5: virtual server group g: service TCP 192.0.2.10:80 is already defined by virtual server TCP 192.0.2.10:80 at x.yaml:3:5"},
		{"DR port change", vs("    forwarding: DR\n    real_servers: [192.0.2.15:8080]\n"),
			"x.yaml:4:20: virtual server TCP 192.0.2.10:80 real server 192.0.2.15:8080: port 8080 differs from the service port 80; DR forwarding cannot change ports"},
		{"TUN port change via override", vs("    real_servers: [{address: 192.0.2.15:81, forwarding: TUN}]\n"),
			"TUN forwarding cannot change ports"},
		{"mixed families", vs("    real_servers: [\"[2001:db8::15]:80\"]\n"),
			"an IPv6 real server in IPv4 service TCP 192.0.2.10:80 needs TUN forwarding"},
		{"mixed families TUN is fine... but not NAT sorry", vs("    sorry_server: \"[2001:db8::99]:80\"\n"),
			"sorry server [2001:db8::99]:80: an IPv6 real server"},
		{"check port 0 on fwmark", "virtual_servers:\n  - fwmark: 3\n    check: {type: TCP}\n    real_servers: [192.0.2.15]\n",
			"x.yaml:3:12: virtual server FWM 3 real server 192.0.2.15: TCP check would connect to port 0"},
		{"bad digest", vs("    check: {type: HTTP_GET, urls: [{path: /, digest: abc}]}\n    real_servers: [192.0.2.15]\n"),
			`x.yaml:3:36: virtual server TCP 192.0.2.10:80: digest "abc" must be 32 hex digits`},
		{"bad status range", vs("    check: {type: HTTP_GET, urls: [{path: /, status_code: [299-200]}]}\n"),
			`x.yaml:3:60: invalid status code "299-200"`},
		{"status out of range", vs("    check: {type: HTTP_GET, urls: [{path: /, status_code: [42]}]}\n"), `invalid status code "42"`},
		{"no urls", vs("    check: {type: HTTP_GET}\n    real_servers: [192.0.2.15]\n"), "HTTP_GET check needs at least one url"},
		{"unknown check type", vs("    check: {type: BFD}\n"), `check type "BFD"`},
		{"check and checks", vs("    real_servers:\n      - {address: 192.0.2.15, check: {type: TCP}, checks: [{type: TCP}]}\n"),
			"x.yaml:4:38: virtual server TCP 192.0.2.10:80 real server 192.0.2.15: check and checks: give one check, or all of them in checks"},
		{"one of checks bad", vs("    real_servers:\n      - address: 192.0.2.15\n        checks: [{type: TCP}, {type: HTTP_GET}]\n"),
			"x.yaml:5:31: virtual server TCP 192.0.2.10:80 real server 192.0.2.15: HTTP_GET check needs at least one url"},
		{"unknown scheduler", vs("    scheduler: fast\n"), `unknown scheduler "fast"`},
		{"bad sched flag", vs("    scheduler: rr\n    scheduler_flags: [sh-port]\n"), `scheduler "rr" has no flag "sh-port"`},
		{"two identities", vs("    fwmark: 2\n"), "set exactly one of address, fwmark and group"},
		{"undefined group", "virtual_servers: [{group: nope}]\n", `group "nope" is not defined`},
		{"port 0 without persistence", "virtual_servers: [{address: 192.0.2.10:0}]\n", "port 0 needs persistence"},
		{"no port", "virtual_servers: [{address: 192.0.2.10}]\n", "needs a port"},
		{"IPv6 dotted granularity", "virtual_servers: [{address: \"[2001:db8::1]:80\", persistence_granularity: 255.255.255.0}]\n",
			"prefix length, not"},
		{"sync daemon instance", "global: {lvs_sync_daemon: {interface: eth0, vrrp_instance: VI_9}}\n",
			`x.yaml:1:27: lvs_sync_daemon: vrrp instance "VI_9" is not defined`},
		{"vs vrrp instance", vrrp + vs("    vrrp_instance: VI_2\n"), `vrrp instance "VI_2" is not defined`},
		{"quorum", vs("    quorum: 0\n"), "quorum 0 must be at least 1"},
		{"duplicate real server", vs("    real_servers: [192.0.2.15:80, 192.0.2.15]\n"), "listed twice (as 192.0.2.15:80)"},
		{"duplicate among many real servers", vs("    real_servers: [" + manyServers(40) + ", 198.51.100.7:80]\n"), "listed twice (as 198.51.100.7:80)"},
		{"gue without port", vs("    forwarding: TUN\n    tunnel: {type: gue}\n"), "a gue tunnel needs a port"},
		{"tunnel on NAT", vs("    tunnel: {type: ipip}\n"), "tunnel settings need forwarding TUN"},
		{"bad range", "virtual_server_groups: [{name: g, addresses: [192.0.2.20-10:80]}]\n", "range end below its start"},
		{"weight", vs("    real_servers: [{address: 192.0.2.15, weight: -1}]\n"), "weight -1 outside 0..2147483647"},
		{"MISC path", vs("    check: {type: MISC, misc_path: /nonexistent/chk}\n"), "stat /nonexistent/chk"},
		{"typo in check", vs("    check: {type: TCP, conect_port: 1}\n"), `unknown key "conect_port" (did you mean "connect_port"?)`},
		{"bad UDP payload", vs("    check: {type: UDP, payload: \"0g\"}\n"), `payload: invalid hex digit 'g'`},
		{"bad UDP reply", vs("    check: {type: UDP, reply: \"01 zz\"}\n"), `reply: invalid hex digit`},
		{"reply lengths", vs("    check: {type: UDP, require_reply: true, min_reply_length: 9, max_reply_length: 4}\n"),
			"min_reply_length 9 and max_reply_length 4"},
		{"UDP key on TCP", vs("    check: {type: TCP, payload: \"01\"}\n"), "are for UDP checks"},
		{"DNS type", vs("    check: {type: DNS, query_type: PTR}\n"), `query_type "PTR"`},
		{"DNS key on UDP", vs("    check: {type: UDP, query_name: example.org}\n"), "are for DNS checks"},
		{"SMTP key on TCP", vs("    check: {type: TCP, helo_name: lb1.example.org}\n"), "x.yaml:3:12: virtual server TCP 192.0.2.10:80: helo_name is for SMTP checks"},
		{"helo_name with a space", vs("    real_servers: [{address: 192.0.2.15, check: {type: SMTP, helo_name: \"lb1 RSET\"}}]\n"),
			`x.yaml:3:49: virtual server TCP 192.0.2.10:80 real server 192.0.2.15: helo_name "lb1 RSET": a host name or address literal has no ' '`},
		{"SMTP on fwmark", "virtual_servers:\n  - fwmark: 3\n    check: {type: SMTP}\n    real_servers: [192.0.2.15]\n",
			"x.yaml:3:12: virtual server FWM 3 real server 192.0.2.15: SMTP check would connect to port 0"},
		{"verify on HTTP_GET", vs("    check: {type: HTTP_GET, verify: true, urls: [{path: /}]}\n"), "verify, ca_file and server_name are for SSL_GET checks"},
		{"ca_file without verify", vs("    check: {type: SSL_GET, ca_file: /dev/null, urls: [{path: /}]}\n    real_servers: [192.0.2.15]\n"),
			"ca_file and server_name take effect only with verify: true"},
		{"server_name without verify", vs("    check: {type: SSL_GET, urls: [{path: /}]}\n    real_servers: [{address: 192.0.2.15, check: {server_name: a.example}}]\n"),
			"x.yaml:4:49: virtual server TCP 192.0.2.10:80 real server 192.0.2.15: ca_file and server_name take effect only with verify: true"},
		{"missing ca_file", vs("    check: {type: SSL_GET, verify: true, ca_file: /nonexistent/ca.pem, urls: [{path: /}]}\n"),
			"x.yaml:3:12: virtual server TCP 192.0.2.10:80: ca_file: read CA certificates: open /nonexistent/ca.pem: no such file or directory"},
		{"ca_file not PEM", vs("    check: {type: SSL_GET, verify: true, ca_file: /dev/null, urls: [{path: /}]}\n"), "ca_file: /dev/null holds no PEM certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("accepted:\n%s", tc.yaml)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got:\n%v\nwant it to contain:\n%s", err, tc.want)
			}
		})
	}
}

func TestUDPAndDNSCheckDefaults(t *testing.T) {
	c, err := Parse("x.yaml", []byte(`virtual_servers:
  - address: 192.0.2.10:53
    protocol: UDP
    check: {type: DNS, delay_loop: 7s, query_type: aaaa, query_name: example.org}
    real_servers:
      - 192.0.2.15
      - {address: 192.0.2.16, check: {type: UDP, payload: "01 02", reply: "0x"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	vs := &c.VirtualServers[0]
	dns := vs.EffectiveCheck(&vs.RealServers[0])
	if *dns.Retry != DefaultDNSRetry || dns.DelayBeforeRetry.D() != 7*time.Second || dns.QueryName != "example.org" {
		t.Errorf("DNS check defaults: retry %d, delay_before_retry %v", *dns.Retry, dns.DelayBeforeRetry.D())
	}
	udp := vs.EffectiveCheck(&vs.RealServers[1])
	if udp.Type != "UDP" || *udp.Retry != 1 || udp.DelayBeforeRetry.D() != DefaultDelayBeforeRetry || udp.Payload != "01 02" {
		t.Errorf("UDP check: %+v", udp)
	}
	if got := udp.CheckTarget(&vs.RealServers[1], vs.Services(nil)[0]); got.String() != "192.0.2.16:53" {
		t.Errorf("UDP check target %s", got)
	}
}

func TestSMTPCheckDefaults(t *testing.T) {
	c, err := Parse("x.yaml", []byte(`virtual_servers:
  - address: 192.0.2.10:25
    check: {type: SMTP, helo_name: lb1.example.org, connect_timeout: 3s}
    real_servers:
      - 192.0.2.15
      - {address: 192.0.2.16, check: {connect_port: 587}}
`))
	if err != nil {
		t.Fatal(err)
	}
	vs := &c.VirtualServers[0]
	svc := vs.Services(nil)[0]
	plain := vs.EffectiveCheck(&vs.RealServers[0])
	if plain.Type != "SMTP" || *plain.Retry != 1 || plain.DelayBeforeRetry.D() != DefaultDelayBeforeRetry ||
		plain.ConnectTimeout.D() != 3*time.Second || plain.HeloName != "lb1.example.org" {
		t.Errorf("SMTP check defaults: %+v", plain)
	}
	if got := plain.CheckTarget(&vs.RealServers[0], svc); got.String() != "192.0.2.15:25" {
		t.Errorf("SMTP check target %s, want the real server's port", got)
	}
	merged := vs.EffectiveCheck(&vs.RealServers[1])
	if merged.HeloName != "lb1.example.org" || merged.CheckTarget(&vs.RealServers[1], svc).String() != "192.0.2.16:587" {
		t.Errorf("merged SMTP check: %+v", merged)
	}
}

// manyServers lists n real servers, 198.51.100.1:80 upwards.
func manyServers(n int) string {
	var b []string
	for i := 1; i <= n; i++ {
		b = append(b, fmt.Sprintf("198.51.100.%d:80", i))
	}
	return strings.Join(b, ", ")
}

func TestAddrRange(t *testing.T) {
	var r AddrRange
	if err := r.UnmarshalText([]byte("[2001:db8::fe-101]:443")); err != nil {
		t.Fatal(err)
	}
	if got := r.Addrs(); len(got) != 4 || got[3] != netip.MustParseAddr("2001:db8::101") || r.Port != 443 {
		t.Errorf("IPv6 range = %v port %d", got, r.Port)
	}
	for _, bad := range []string{"192.0.2.1-300:80", "192.0.2.1", "192.0.2.1:x", "[2001:db8::1]"} {
		if err := r.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
