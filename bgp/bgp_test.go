package bgp

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	gobgplog "github.com/osrg/gobgp/v3/pkg/log"
	pkt "github.com/osrg/gobgp/v3/pkg/packet/bgp"
)

func TestValidateNamesFields(t *testing.T) {
	good := Config{LocalASN: 65001, RouterID: netip.MustParseAddr("192.0.2.11"),
		Peers: []PeerConfig{{Address: netip.MustParseAddr("192.0.2.1"), ASN: 65000}}}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	bad := Config{LocalASN: 0, RouterID: netip.MustParseAddr("2001:db8::1"), Peers: []PeerConfig{
		{Address: netip.MustParseAddr("192.0.2.1"), ASN: 23456, HoldTime: time.Second},
		{Address: netip.MustParseAddr("192.0.2.1"), ASN: 65000, Password: strings.Repeat("x", 81),
			LocalAddress: netip.MustParseAddr("2001:db8::2"), Families: []Family{IPv4Unicast, IPv4Unicast, 9}},
		{ASN: 65000},
	}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, field := range []string{"LocalASN", "RouterID", "Peers[0].ASN", "Peers[0].HoldTime", "Peers[1].Address",
		"Peers[1].Password", "Peers[1].LocalAddress", "Peers[1].Families: ipv4-unicast listed twice",
		"Peers[1].Families: unknown family", "Peers[2].Address"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error does not name %s:\n%v", field, err)
		}
	}
}

func TestWithDefaults(t *testing.T) {
	c := Config{Peers: []PeerConfig{
		{Address: netip.MustParseAddr("2001:db8::1")},
		{Address: netip.MustParseAddr("::ffff:192.0.2.1"), Passive: true, Port: 1179, HoldTime: 30 * time.Second},
	}}
	d := c.WithDefaults()
	if d.ListenPort != DefaultPort {
		t.Errorf("ListenPort %d with a passive peer, want %d", d.ListenPort, DefaultPort)
	}
	p0, p1 := d.Peers[0], d.Peers[1]
	if p0.Port != DefaultPort || p0.HoldTime != DefaultHoldTime || len(p0.Families) != 1 || p0.Families[0] != IPv6Unicast {
		t.Errorf("peer 0 defaults: %+v", p0)
	}
	if p1.Address != netip.MustParseAddr("192.0.2.1") || p1.Port != 1179 || p1.HoldTime != 30*time.Second || p1.Families[0] != IPv4Unicast {
		t.Errorf("peer 1 defaults: %+v", p1)
	}
	if c.Peers[0].Port != 0 {
		t.Error("WithDefaults changed its receiver")
	}
	if d := (Config{Peers: c.Peers[:1]}).WithDefaults(); d.ListenPort != 0 {
		t.Errorf("ListenPort %d without passive peers, want 0", d.ListenPort)
	}
	ap := apiPeer(Config{LocalASN: 65001}, PeerConfig{Address: netip.MustParseAddr("192.0.2.1"), ASN: 65000, HoldTime: 9 * time.Second, MultihopTTL: 3}.withDefaults())
	if ap.Timers.Config.HoldTime != 9 || ap.Timers.Config.KeepaliveInterval != 3 || !ap.EbgpMultihop.Enabled || ap.EbgpMultihop.MultihopTtl != 3 {
		t.Errorf("gobgp peer: %v", ap)
	}
}

func TestRouteValidate(t *testing.T) {
	v4, v6 := netip.MustParsePrefix("203.0.113.10/32"), netip.MustParsePrefix("2001:db8::10/128")
	ok := []struct {
		p netip.Prefix
		r Route
	}{{v4, Route{}}, {v6, Route{NextHop: netip.MustParseAddr("2001:db8::11")}}}
	for _, c := range ok {
		if err := c.r.validate(c.p); err != nil {
			t.Errorf("%v %+v: %v", c.p, c.r, err)
		}
		if _, err := apiPath(c.p, c.r, false); err != nil {
			t.Errorf("apiPath %v: %v", c.p, err)
		}
	}
	bad := []struct {
		p netip.Prefix
		r Route
	}{
		{netip.MustParsePrefix("203.0.113.10/24"), Route{}},
		{netip.Prefix{}, Route{}},
		{netip.MustParsePrefix("::ffff:203.0.113.10/128"), Route{}},
		{v4, Route{NextHop: netip.MustParseAddr("2001:db8::11")}},
		{v4, Route{NextHop: netip.MustParseAddr("0.0.0.0")}},
		{v4, Route{Communities: make([]uint32, maxCommunities+1)}},
	}
	for _, c := range bad {
		if err := c.r.validate(c.p); err == nil {
			t.Errorf("%v %+v accepted", c.p, c.r)
		}
	}
}

// TestObserve feeds the logger hook gobgp's reports as gobgp makes them:
// UPDATEs written (IPv4 in the body, IPv6 in MP_REACH/MP_UNREACH), a
// session going down, a failed connection, an unknown connection.
func TestObserve(t *testing.T) {
	s := New(nil)
	a := netip.MustParseAddr("2001:db8::1")
	s.peers[a] = &peerRecord{wire: make(map[netip.Prefix]struct{})}
	key := gobgplog.Fields{"Key": a.String()}
	with := func(kv ...any) gobgplog.Fields {
		f := gobgplog.Fields{"Key": a.String()}
		for i := 0; i < len(kv); i += 2 {
			f[kv[i].(string)] = kv[i+1]
		}
		return f
	}
	v4 := pkt.NewIPAddrPrefix(32, "203.0.113.10")
	v6 := pkt.NewIPv6AddrPrefix(128, "2001:db8:ffff::10")
	s.observe("sent update", with("nlri", []*pkt.IPAddrPrefix{v4}, "withdrawals", []*pkt.IPAddrPrefix{},
		"attributes", []pkt.PathAttributeInterface{pkt.NewPathAttributeMpReachNLRI("2001:db8::11", []pkt.AddrPrefixInterface{v6})}))
	if n := len(s.peers[a].wire); n != 2 {
		t.Fatalf("on the wire after two announcements: %d", n)
	}
	s.observe("sent update", with("withdrawals", []*pkt.IPAddrPrefix{v4},
		"attributes", []pkt.PathAttributeInterface{pkt.NewPathAttributeMpUnreachNLRI([]pkt.AddrPrefixInterface{v6})}))
	if n := len(s.peers[a].wire); n != 0 {
		t.Fatalf("on the wire after withdrawing both: %d", n)
	}
	s.observe("sent update", with("nlri", []*pkt.IPAddrPrefix{v4}))
	s.observe("Peer Down", with("Reason", "hold timer expired"))
	s.observe("failed to connect", with("Error", "i/o timeout"))
	s.observe("received notification", with("Code", 6, "Subcode", 2, "Communicated-Reason", "bye"))
	s.observe("sent update", gobgplog.Fields{"Key": "198.51.100.99"}) // not a peer
	s.observe("sent update", gobgplog.Fields{"Key": 42})              // garbage
	s.observe("Can't find configuration for a new passive connection", key)
	r := s.peers[a]
	if len(r.wire) != 0 || r.resets != 1 || r.connectFailed != 1 || r.lastError != "connect: i/o timeout" ||
		r.lastNotifyRecv != `code 6 subcode 2 "bye"` || s.unknown != 1 {
		t.Errorf("record: %+v, unknown %d", r, s.unknown)
	}
}

func TestNotRunning(t *testing.T) {
	s := New(nil)
	if err := s.Announce(netip.MustParsePrefix("203.0.113.10/32"), Route{}); err != ErrNotRunning {
		t.Errorf("Announce on a stopped speaker: %v", err)
	}
	if s.Peers() != nil {
		t.Error("Peers of a stopped speaker")
	}
	s.Stop()
}
