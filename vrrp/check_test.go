package vrrp

import (
	"net/netip"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	var pass, other [8]byte
	copy(pass[:], "secret12")
	copy(other[:], "secret13")
	vips := addrs("192.0.2.100", "192.0.2.101")
	v2 := CheckConfig{Version: Version2, VRID: 51, Interval: time.Second, AuthType: AuthSimple, AuthData: pass, Addrs: vips}
	v3 := CheckConfig{Version: Version3, VRID: 53, Interval: time.Second, Addrs: vips, Self: v4a}
	adv2 := Advert{Version: Version2, VRID: 51, Priority: 100, Interval: time.Second, AuthType: AuthSimple, AuthData: pass, Addrs: addrs("192.0.2.101", "192.0.2.100")}
	adv3 := Advert{Version: Version3, VRID: 53, Priority: 100, Interval: time.Second, Addrs: vips}
	with := func(a Advert, f func(*Advert)) Advert { f(&a); return a }
	withCfg := func(c CheckConfig, f func(*CheckConfig)) CheckConfig { f(&c); return c }
	cases := []struct {
		name string
		cfg  CheckConfig
		a    Advert
		src  netip.Addr
		ttl  int
		want Verdict
	}{
		{"v2 ok, addresses in another order", v2, adv2, v4b, 255, Verdict{}},
		{"v3 ok", v3, adv3, v4b, 255, Verdict{}},
		{"ttl 254", v3, adv3, v4b, 254, Verdict{Drop: ReasonTTL}},
		{"ttl 1", v2, adv2, v4b, 1, Verdict{Drop: ReasonTTL}},
		{"ttl unknown", v3, adv3, v4b, -1, Verdict{}},
		{"unicast skips ttl", withCfg(v3, func(c *CheckConfig) { c.Unicast = true }), adv3, v4b, 64, Verdict{}},
		{"version mismatch", v3, with(adv3, func(a *Advert) { a.Version = Version2 }), v4b, 255, Verdict{Drop: ReasonVersion}},
		{"vrid", v3, with(adv3, func(a *Advert) { a.VRID = 54 }), v4b, 255, Verdict{Drop: ReasonVRID}},
		{"own address", v3, adv3, v4a, 255, Verdict{Drop: ReasonLoop}},
		{"own address mapped", v3, adv3, netip.AddrFrom16(v4a.As16()), 255, Verdict{Drop: ReasonLoop}},
		{"peer ok", withCfg(v3, func(c *CheckConfig) { c.Peers = addrs("192.0.2.9", "192.0.2.2") }), adv3, v4b, 255, Verdict{}},
		{"not a peer", withCfg(v3, func(c *CheckConfig) { c.Peers = addrs("192.0.2.9") }), adv3, v4b, 255, Verdict{Drop: ReasonPeer}},
		{"v2 no auth when PASS wanted", v2, with(adv2, func(a *Advert) { a.AuthType = AuthNone; a.AuthData = [8]byte{} }), v4b, 255, Verdict{Drop: ReasonAuthType}},
		{"v2 AH", withCfg(v2, func(c *CheckConfig) { c.AuthType = AuthAH }), with(adv2, func(a *Advert) { a.AuthType = AuthAH }), v4b, 255, Verdict{Drop: ReasonAuthType}},
		{"v2 unknown auth", v2, with(adv2, func(a *Advert) { a.AuthType = 7 }), v4b, 255, Verdict{Drop: ReasonAuthType}},
		{"v2 wrong password", v2, with(adv2, func(a *Advert) { a.AuthData = other }), v4b, 255, Verdict{Drop: ReasonAuth}},
		{"v2 none ignores data", withCfg(v2, func(c *CheckConfig) { c.AuthType = AuthNone }), with(adv2, func(a *Advert) { a.AuthType = AuthNone; a.AuthData = other }), v4b, 255, Verdict{}},
		{"v2 interval", v2, with(adv2, func(a *Advert) { a.Interval = 2 * time.Second }), v4b, 255, Verdict{Drop: ReasonInterval}},
		{"v3 interval 0", v3, with(adv3, func(a *Advert) { a.Interval = 0 }), v4b, 255, Verdict{Drop: ReasonInterval}},
		{"v2 interval 0", v2, with(adv2, func(a *Advert) { a.Interval = 0 }), v4b, 255, Verdict{Drop: ReasonInterval}},
		{"v3 interval flagged", v3, with(adv3, func(a *Advert) { a.Interval = 100 * time.Millisecond }), v4b, 255, Verdict{IntervalMismatch: true}},
		{"address list differs", v3, with(adv3, func(a *Advert) { a.Addrs = addrs("192.0.2.100", "192.0.2.102") }), v4b, 255, Verdict{AddrMismatch: true}},
		{"address count differs", v3, with(adv3, func(a *Advert) { a.Addrs = addrs("192.0.2.100") }), v4b, 255, Verdict{AddrMismatch: true}},
		{"priority 0 accepted", v3, with(adv3, func(a *Advert) { a.Priority = 0 }), v4b, 255, Verdict{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.cfg.Check(&c.a, c.src, c.ttl)
			if got != c.want {
				t.Errorf("Check = %+v, want %+v", got, c.want)
			}
			if got.OK() != (c.want.Drop == ReasonNone) {
				t.Errorf("OK() = %v", got.OK())
			}
		})
	}
}

func TestReceive(t *testing.T) {
	cfg := CheckConfig{Version: Version3, VRID: 53, Interval: time.Second, Addrs: addrs("2001:db8::1")}
	a := Advert{Version: Version3, VRID: 53, Priority: 100, Interval: time.Second, Addrs: cfg.Addrs}
	msg, err := a.Marshal(v6b, MulticastIPv6)
	if err != nil {
		t.Fatal(err)
	}
	if got, v := cfg.Receive(msg, v6b, MulticastIPv6, 255); !v.OK() || !equalAdvert(got, &a) {
		t.Errorf("Receive = %+v, %+v", got, v)
	}
	// TTL is checked before the packet is even parsed.
	if got, v := cfg.Receive([]byte{1}, v6b, MulticastIPv6, 64); v.Drop != ReasonTTL || got != nil {
		t.Errorf("bad TTL: %+v, %+v", got, v)
	}
	msg[len(msg)-1] ^= 1
	if got, v := cfg.Receive(msg, v6b, MulticastIPv6, 255); v.Drop != ReasonChecksum || got != nil {
		t.Errorf("bad checksum: %+v, %+v", got, v)
	}
}

func TestReceiveDestination(t *testing.T) {
	multicast := CheckConfig{Version: Version3, VRID: 53, Interval: time.Second}
	unicast := multicast
	unicast.Unicast, unicast.Peers = true, addrs("192.0.2.2", "fe80::2")
	cases := []struct {
		name     string
		cfg      CheckConfig
		src, dst netip.Addr
		want     DropReason
	}{
		{"multicast group v4", multicast, v4b, MulticastIPv4, ReasonNone},
		{"multicast group v6", multicast, v6b, MulticastIPv6, ReasonNone},
		{"multicast mode, sent to us", multicast, v4b, v4a, ReasonDestination},
		{"multicast mode, sent to us v6", multicast, v6b, v6a, ReasonDestination},
		{"multicast mode, another group", multicast, v4b, netip.MustParseAddr("224.0.0.19"), ReasonDestination},
		{"multicast mode, all nodes v6", multicast, v6b, netip.MustParseAddr("ff02::1"), ReasonDestination},
		{"multicast mode, broadcast", multicast, v4b, netip.MustParseAddr("255.255.255.255"), ReasonDestination},
		{"unicast to us", unicast, v4b, v4a, ReasonNone},
		{"unicast to us v6", unicast, v6b, v6a, ReasonNone},
		{"unicast mode, multicast group", unicast, v4b, MulticastIPv4, ReasonDestination},
		{"unicast mode, multicast group v6", unicast, v6b, MulticastIPv6, ReasonDestination},
		{"unicast mode, broadcast", unicast, v4b, netip.MustParseAddr("255.255.255.255"), ReasonDestination},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := Advert{Version: Version3, VRID: 53, Priority: 100, Interval: time.Second}
			msg, err := a.Marshal(c.src, c.dst)
			if err != nil {
				t.Fatal(err)
			}
			got, v := c.cfg.Receive(msg, c.src, c.dst, 255)
			if v.Drop != c.want {
				t.Errorf("Receive to %v: drop %v, want %v", c.dst, v.Drop, c.want)
			}
			if got == nil {
				t.Error("a decoded advert was not returned")
			}
		})
	}
}

func TestDropReasonNames(t *testing.T) {
	seen := map[string]bool{}
	rs := DropReasons()
	if len(rs) != int(numReasons)-1 || rs[0] == ReasonNone {
		t.Fatalf("DropReasons() = %v", rs)
	}
	for _, r := range append(rs, ReasonNone) {
		s := r.String()
		if s == "" || seen[s] {
			t.Errorf("reason %d has empty or duplicate name %q", r, s)
		}
		seen[s] = true
	}
	if ReasonOf(nil) != ReasonNone {
		t.Error("ReasonOf(nil) is not ReasonNone")
	}
}
