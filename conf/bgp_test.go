package conf

import (
	"strings"
	"testing"
	"time"
)

const bgpSection = `bgp:
  local_asn: 65001
  router_id: 192.0.2.11
  peers:
    - {address: 192.0.2.1, asn: 65000}
    - {address: "2001:db8::1", asn: 65000, passive: true, bfd: {}}
`

func TestParseBGP(t *testing.T) {
	c, err := Parse("x.yaml", []byte(bgpSection+`virtual_servers:
  - address: 203.0.113.10:80
    announce: bgp
    scheduler: mh
    bgp_route: {communities: ["65000:100"], med: 10}
    real_servers: [{address: 198.51.100.1:80, inhibit_on_failure: true}, 198.51.100.2:80]
  - address: 203.0.113.10:443
    announce: bgp
    bgp_route: {communities: ["65000:100"], med: 10}
`))
	if err != nil {
		t.Fatal(err)
	}
	b := c.BGP
	if b.HoldDown.D() != 10*time.Second || b.DrainDelay.D() != 3*time.Second || b.VIPInterface != "lo" {
		t.Errorf("defaults: hold_down %v drain_delay %v vip_interface %q", b.HoldDown.D(), b.DrainDelay.D(), b.VIPInterface)
	}
	// A passive peer needs a listener.
	if b.ListenPort != 179 {
		t.Errorf("listen_port %d with a passive peer, want 179", b.ListenPort)
	}
	p := b.Peers[1]
	if p.Port != 179 || p.HoldTime.D() != 90*time.Second || p.BFD == nil || p.BFD.MinRx.D() != 100*time.Millisecond ||
		p.BFD.Multiplier != 3 {
		t.Errorf("peer defaults: %+v bfd %+v", p, p.BFD)
	}
	if b.Peers[0].BFD != nil {
		t.Error("bfd enabled on a peer without bfd")
	}
	vs := &c.VirtualServers[0]
	if !vs.AnnouncesBGP() || !vs.Inhibit(&vs.RealServers[1]) {
		t.Error("a bgp virtual server must keep failed real servers in place")
	}
	if got, err := ParseCommunity(vs.BGPRoute.Communities[0]); err != nil || got != 65000<<16|100 {
		t.Errorf("community = %#x, %v", got, err)
	}
}

func TestParseCommunities(t *testing.T) {
	for in, want := range map[string]uint32{"65001:100": 65001<<16 | 100, "0:0": 0, "65535:65535": 0xffffffff} {
		if got, err := ParseCommunity(in); err != nil || got != want {
			t.Errorf("ParseCommunity(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "65536:1", "1:65536", "a:b", "1:2:3", "-1:1", "100"} {
		if _, err := ParseCommunity(in); err == nil {
			t.Errorf("ParseCommunity(%q) accepted", in)
		}
	}
	if c, err := ParseLargeCommunity("65001:1:4294967295"); err != nil || c != [3]uint32{65001, 1, 0xffffffff} {
		t.Errorf("ParseLargeCommunity: %v, %v", c, err)
	}
	for _, in := range []string{"1:2", "1:2:x", "1:2:3:4", "1:2:4294967296"} {
		if _, err := ParseLargeCommunity(in); err == nil {
			t.Errorf("ParseLargeCommunity(%q) accepted", in)
		}
	}
}

func TestParseBGPErrors(t *testing.T) {
	vs := func(body string) string {
		return "virtual_servers:\n  - address: 203.0.113.10:80\n    announce: bgp\n" + body
	}
	for _, tc := range []struct{ name, yaml, want string }{
		{"no bgp section", vs(""), "x.yaml:2:5: virtual server TCP 203.0.113.10:80: announce: bgp needs a bgp section"},
		{"route without announce", bgpSection + "virtual_servers:\n  - address: 203.0.113.10:80\n    bgp_route: {med: 1}\n",
			"x.yaml:9:16: virtual server TCP 203.0.113.10:80: bgp_route without announce: bgp"},
		{"unknown announce", "virtual_servers:\n  - address: 203.0.113.10:80\n    announce: ospf\n", `"ospf"`},
		{"no asn", "bgp: {router_id: 192.0.2.11, peers: [{address: 192.0.2.1, asn: 1}]}\n", "x.yaml:1:6: bgp: local_asn is required"},
		{"router id v6", "bgp: {local_asn: 1, router_id: \"2001:db8::1\", peers: [{address: 192.0.2.1, asn: 1}]}\n",
			"bgp: router_id must be an IPv4 address"},
		{"no peers", "bgp: {local_asn: 1, router_id: 192.0.2.11}\n", "bgp: no peers"},
		{"peer twice", "bgp: {local_asn: 1, router_id: 192.0.2.11, peers: [{address: 192.0.2.1, asn: 1}, {address: 192.0.2.1, asn: 2}]}\n",
			"bgp peer 192.0.2.1: listed twice"},
		{"peer without asn", "bgp: {local_asn: 1, router_id: 192.0.2.11, peers: [{address: 192.0.2.1}]}\n", "bgp peer 192.0.2.1: asn is required"},
		{"short hold time", "bgp: {local_asn: 1, router_id: 192.0.2.11, peers: [{address: 192.0.2.1, asn: 1, hold_time: 1s}]}\n",
			"hold_time 1s is under 3s"},
		{"long password", "bgp: {local_asn: 1, router_id: 192.0.2.11, peers: [{address: 192.0.2.1, asn: 1, password: " +
			strings.Repeat("x", 81) + "}]}\n", "password is longer than TCP MD5's 80 bytes"},
		{"local address family", "bgp: {local_asn: 1, router_id: 192.0.2.11, peers: [{address: 192.0.2.1, asn: 1, local_address: \"2001:db8::2\"}]}\n",
			"local_address 2001:db8::2 is of the other address family"},
		{"bfd multihop", "bgp: {local_asn: 1, router_id: 192.0.2.11, peers: [{address: 192.0.2.1, asn: 1, multihop: 4, bfd: {}}]}\n",
			"bfd is single hop"},
		{"bfd too fast", "bgp: {local_asn: 1, router_id: 192.0.2.11, peers: [{address: 192.0.2.1, asn: 1, bfd: {min_rx: 1ms}}]}\n",
			"bfd min_rx and min_tx must be at least 10ms"},
		{"bad community", bgpSection + vs("    bgp_route: {communities: [\"65000:70000\"]}\n"), `community "65000:70000" is not ASN:VALUE`},
		{"bad large community", bgpSection + vs("    bgp_route: {large_communities: [\"1:2\"]}\n"), `large community "1:2" is not ASN:DATA1:DATA2`},
		{"fwmark", bgpSection + "virtual_servers:\n  - fwmark: 3\n    announce: bgp\n", "announce: bgp needs an address"},
		{"and vrrp", bgpSection + "vrrp_instances: [{name: VI_1, interface: eth0, virtual_router_id: 1, virtual_ipaddresses: [192.0.2.9]}]\n" +
			vs("    vrrp_instance: VI_1\n"), "announce: bgp and vrrp_instance VI_1"},
		{"vip of vrrp", bgpSection + "vrrp_instances: [{name: VI_1, interface: eth0, virtual_router_id: 1, virtual_ipaddresses: [203.0.113.10]}]\n" +
			vs(""), "203.0.113.10 is announced over bgp and is a virtual_ipaddress of vrrp instance VI_1"},
		{"routes differ", bgpSection + vs("    bgp_route: {med: 1}\n  - address: 203.0.113.10:443\n    announce: bgp\n"),
			"virtual server TCP 203.0.113.10:443: bgp_route differs from virtual server TCP 203.0.113.10:80's on the same address"},
		{"no inhibit", bgpSection + vs("    real_servers: [{address: 198.51.100.1:80, inhibit_on_failure: false}]\n"),
			"inhibit_on_failure: false with announce: bgp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got:\n%v\nwant it to contain:\n%s", err, tc.want)
			}
		})
	}
}

func TestSummaryCountsBGPPeers(t *testing.T) {
	c, err := Parse("x.yaml", []byte(bgpSection))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Summary(); !strings.HasSuffix(got, ", 2 bgp peers") {
		t.Errorf("Summary = %q", got)
	}
}
