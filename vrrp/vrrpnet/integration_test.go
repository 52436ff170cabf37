//go:build linux

package vrrpnet_test

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/vrrp"
	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"
)

// Two lbd instances elect the higher priority; the VIP lives only on the
// Master; priority 0 on shutdown hands over after Skew_Time; a Master
// whose link goes down is replaced within Master_Down_Interval.
func TestIntegrationElectionAndFailover(t *testing.T) {
	t.Parallel()
	l := lab.New(t)
	lan := l.LAN("lan")
	n1 := newNode(t, l, lan, "lb1", "192.0.2.1/24")
	n2 := newNode(t, l, lan, "lb2", "192.0.2.2/24")
	waitReady(t, n1, n2)
	iv := 100 * time.Millisecond
	o1 := lbdOpts{prio: 200, primary: netip.MustParseAddr("192.0.2.1")}
	o2 := lbdOpts{prio: 100, primary: netip.MustParseAddr("192.0.2.2")}
	lb1, lb2 := startLBD(t, n1, o1), startLBD(t, n2, o2)

	settled := func(m, b *lbd) func() bool {
		return func() bool {
			return m.state() == vrrp.StateMaster && b.state() == vrrp.StateBackup &&
				m.node.HasAddr(vip4) && !b.node.HasAddr(vip4)
		}
	}
	eventually(t, 3*time.Second, "lb1 Master with the VIP, lb2 Backup without", settled(lb1, lb2))

	// Planned stop: priority 0, takeover after Skew_Time.
	start := time.Now()
	lb1.stop()
	eventually(t, 2*time.Second, "lb2 Master after lb1 stopped", func() bool { _, ok := lb2.becameMaster(start); return ok })
	at, _ := lb2.becameMaster(start)
	skew := vrrp.SkewTime(vrrp.Version3, 100, iv)
	t.Logf("takeover after priority 0: %v (Skew_Time %v)", at.Sub(start), skew)
	if d := at.Sub(start); d > vrrp.MasterDownInterval(vrrp.Version3, 100, iv)-iv {
		t.Errorf("takeover after priority 0 took %v; want about Skew_Time %v", d, skew)
	}
	eventually(t, time.Second, "VIP moved to lb2", func() bool { return n2.HasAddr(vip4) && !n1.HasAddr(vip4) })

	// lb1 comes back and preempts.
	lb1 = startLBD(t, n1, o1)
	eventually(t, 3*time.Second, "lb1 preempts lb2", settled(lb1, lb2))

	// Crash-like: lb1's link goes down. lb2 hears nothing and takes over
	// after Master_Down_Interval; lb1 goes Fault and drops the VIP.
	start = time.Now()
	n1.SetLink("eth0", false)
	eventually(t, 2*time.Second, "lb2 Master after lb1's link went down", func() bool { _, ok := lb2.becameMaster(start); return ok })
	at, _ = lb2.becameMaster(start)
	down := vrrp.MasterDownInterval(vrrp.Version3, 100, iv)
	t.Logf("takeover after link down: %v (Master_Down_Interval %v)", at.Sub(start), down)
	if d := at.Sub(start); d > down+150*time.Millisecond {
		t.Errorf("takeover after link down took %v; want within Master_Down_Interval %v", d, down)
	}
	eventually(t, time.Second, "lb1 Fault without VIP", func() bool {
		return lb1.state() == vrrp.StateFault && !n1.HasAddr(vip4) && n2.HasAddr(vip4)
	})

	// Link back: lb1 recovers to Backup and preempts again.
	n1.SetLink("eth0", true)
	eventually(t, 3*time.Second, "lb1 Master again after its link came back", settled(lb1, lb2))
}

// listenCapture opens an AF_PACKET socket on n's eth0 that sees every
// frame, for announcements to count gratuitous ARPs and unsolicited NAs.
func listenCapture(t *testing.T, n *lab.Node) *packet.Conn {
	t.Helper()
	var c *packet.Conn
	err := n.Do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		c, err = packet.Listen(ifi, packet.Raw, unix.ETH_P_ALL, nil)
		return err
	})
	if err != nil {
		t.Fatalf("capture: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// frames calls fn with each frame c reads until the deadline, decoded
// from Ethernet up.
func frames(c *packet.Conn, until time.Time, fn func(pkt gopacket.Packet, eth *layers.Ethernet)) {
	buf := make([]byte, 2048)
	c.SetReadDeadline(until)
	for time.Now().Before(until) {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			break
		}
		pkt := gopacket.NewPacket(buf[:n], layers.LayerTypeEthernet, gopacket.Default)
		if eth, ok := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet); ok {
			fn(pkt, eth)
		}
	}
}

// announcements reads frames until deadline and counts gratuitous ARP
// announcing ip4 and unsolicited NAs for ip6.
func announcements(t *testing.T, c *packet.Conn, until time.Time, ip4, ip6 netip.Addr) (garp, na int, senders map[string]bool) {
	t.Helper()
	g, n, senders := announceTimes(t, c, until, ip4, ip6)
	return len(g), len(n), senders
}

// announceTimes reads frames until deadline and returns when each
// gratuitous ARP announcing ip4 and each unsolicited NA for ip6 arrived,
// and the MAC addresses that sent them.
func announceTimes(t *testing.T, c *packet.Conn, until time.Time, ip4, ip6 netip.Addr) (garp, na []time.Time, senders map[string]bool) {
	t.Helper()
	senders = map[string]bool{}
	frames(c, until, func(pkt gopacket.Packet, eth *layers.Ethernet) {
		at := time.Now()
		if a, ok := pkt.Layer(layers.LayerTypeARP).(*layers.ARP); ok {
			src, _ := netip.AddrFromSlice(a.SourceProtAddress)
			dst, _ := netip.AddrFromSlice(a.DstProtAddress)
			if a.Operation == layers.ARPRequest && src == ip4 && dst == ip4 {
				garp = append(garp, at)
				senders[eth.SrcMAC.String()] = true
			}
		}
		if a, ok := pkt.Layer(layers.LayerTypeICMPv6NeighborAdvertisement).(*layers.ICMPv6NeighborAdvertisement); ok {
			tgt, _ := netip.AddrFromSlice(a.TargetAddress)
			ip, _ := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
			if tgt == ip6 && ip != nil && ip.HopLimit == 255 && a.Flags&0x20 != 0 {
				na = append(na, at)
				senders[eth.SrcMAC.String()] = true
			}
		}
	})
	return garp, na, senders
}

// A new Master sends a burst of gratuitous ARP / unsolicited NA at once and
// a second burst after garp_master_delay; a lower-priority Master heard
// later is answered with another burst (the split-brain guard).
func TestIntegrationGARPAndNA(t *testing.T) {
	t.Parallel()
	l := lab.New(t)
	lan := l.LAN("lan")
	n1 := newNode(t, l, lan, "lb1", "192.0.2.1/24", "2001:db8::1/64")
	obs := newNode(t, l, lan, "observer", "192.0.2.9/24", "2001:db8::9/64")
	waitReady(t, n1, obs)
	capt := listenCapture(t, obs)
	garp := vrrp.GARPConfig{Delay: 300 * time.Millisecond, Repeat: 3, Refresh: -1}
	lb4 := startLBD(t, n1, lbdOpts{prio: 255, vrid: 51, primary: netip.MustParseAddr("192.0.2.1"), garp: garp})
	lb6 := startLBD(t, n1, lbdOpts{prio: 255, vrid: 61, vips: []netip.Addr{vip6}, garp: garp})

	g, na, senders := announcements(t, capt, time.Now().Add(700*time.Millisecond), vip4, vip6)
	if lb4.state() != vrrp.StateMaster || lb6.state() != vrrp.StateMaster {
		t.Fatalf("owners not Master: %v %v", lb4.state(), lb6.state())
	}
	if s := lb6.stats(); s.SendErrors != 0 || s.AdvertsSent == 0 {
		t.Errorf("IPv6 adverts: %d sent, %d errors", s.AdvertsSent, s.SendErrors)
	}
	if g != 6 || na != 6 {
		t.Errorf("saw %d gratuitous ARP and %d NA in 700ms; want 6 each (2 bursts of 3)", g, na)
	}
	var mac string
	n1.Do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err == nil {
			mac = ifi.HardwareAddr.String()
		}
		return err
	})
	if len(senders) != 1 || !senders[mac] {
		t.Errorf("announcements from %v, want only lb1's %s", senders, mac)
	}

	// A lower-priority router claims Master: lb1 answers with an advert,
	// a burst of gratuitous ARP at once and another garp.Delay later
	// (garp_lower_prio_delay). The bursts are told apart by their gap, not
	// by a capture window, which a loaded machine would blur.
	sendRaw(t, obs, 255, lowerAdvert(t))
	times, _, _ := announceTimes(t, capt, time.Now().Add(2*garp.Delay), vip4, vip6)
	if len(times) != 6 {
		t.Fatalf("saw %d gratuitous ARP after a lower-priority advert; want 2 bursts of 3", len(times))
	}
	first := 0
	for _, at := range times {
		if at.Sub(times[0]) < garp.Delay/2 {
			first++
		}
	}
	if first != 3 {
		t.Errorf("first burst after a lower-priority advert had %d gratuitous ARP, want 3 (times %v)", first, times)
	}
}

func lowerAdvert(t *testing.T) []byte {
	a := vrrp.Advert{Version: vrrp.Version3, VRID: 51, Priority: 50, Interval: 100 * time.Millisecond, Addrs: []netip.Addr{vip4}}
	b, err := a.Marshal(netip.MustParseAddr("192.0.2.9"), vrrp.MulticastIPv4)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sendRaw sends VRRP payloads from node n's eth0 to 224.0.0.18 with the
// given TTL through a raw IP socket of its own.
func sendRaw(t *testing.T, n *lab.Node, ttl int, payloads ...[]byte) {
	t.Helper()
	if err := n.SendRawIPv4("eth0", 112, ttl, vrrp.MulticastIPv4, payloads...); err != nil {
		t.Fatalf("%s: send raw: %v", n.Name, err)
	}
}

// Hostile packets from a third node, each claiming priority 255 (which
// would demote the Master if accepted), are dropped and counted by reason
// on both routers, and change no state.
func TestIntegrationHostilePackets(t *testing.T) {
	t.Parallel()
	l := lab.New(t)
	lan := l.LAN("lan")
	n1 := newNode(t, l, lan, "lb1", "192.0.2.1/24")
	n2 := newNode(t, l, lan, "lb2", "192.0.2.2/24")
	evil := newNode(t, l, lan, "evil", "192.0.2.66/24")
	waitReady(t, n1, n2, evil)
	const pass = "secret12"
	o := lbdOpts{version: vrrp.Version2, auth: pass}
	o.prio, o.primary = 200, netip.MustParseAddr("192.0.2.1")
	lb1 := startLBD(t, n1, o)
	o.prio, o.primary = 100, netip.MustParseAddr("192.0.2.2")
	lb2 := startLBD(t, n2, o)
	eventually(t, 6*time.Second, "lb1 Master, lb2 Backup", func() bool {
		return lb1.state() == vrrp.StateMaster && lb2.state() == vrrp.StateBackup
	})
	t1, t2 := lb1.transitions(), lb2.transitions()

	src := netip.MustParseAddr("192.0.2.66")
	base := vrrp.Advert{Version: vrrp.Version2, VRID: 51, Priority: 255, Interval: time.Second,
		AuthType: vrrp.AuthSimple, Addrs: []netip.Addr{vip4}}
	copy(base.AuthData[:], pass)
	mk := func(f func(a *vrrp.Advert)) []byte {
		a := base
		f(&a)
		b, err := a.Marshal(src, vrrp.MulticastIPv4)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	same := func(*vrrp.Advert) {}
	badSum := mk(same)
	badSum[6] ^= 0x55
	huge := mk(same)
	huge[3] = 255
	const n = 20
	type hostile struct {
		ttl     int
		payload []byte
		reason  vrrp.DropReason
	}
	cases := []hostile{
		{64, mk(same), vrrp.ReasonTTL},
		{255, badSum, vrrp.ReasonChecksum},
		{255, mk(func(a *vrrp.Advert) { copy(a.AuthData[:], "wrongpw!") }), vrrp.ReasonAuth},
		{255, mk(func(a *vrrp.Advert) { a.AuthType, a.AuthData = vrrp.AuthNone, [8]byte{} }), vrrp.ReasonAuthType},
		{255, mk(func(a *vrrp.Advert) { a.VRID = 52 }), vrrp.ReasonVRID},
		{255, mk(func(a *vrrp.Advert) { a.Interval = 2 * time.Second }), vrrp.ReasonInterval},
		{255, mk(same)[:6], vrrp.ReasonTruncated},
		{255, huge, vrrp.ReasonTruncated},
		{255, append(mk(same), make([]byte, 64)...), vrrp.ReasonAddrCount},
	}
	want := map[vrrp.DropReason]uint64{}
	for _, c := range cases {
		for range n {
			sendRaw(t, evil, c.ttl, c.payload)
		}
		want[c.reason] += n
	}
	// A flood of garbage between them.
	var flood [][]byte
	for i := range 500 {
		flood = append(flood, []byte{byte(i), byte(i >> 8), 0xff, byte(i * 7), 0, 0, 0, 0, 1})
	}
	sendRaw(t, evil, 255, flood...)

	for _, x := range []*lbd{lb1, lb2} {
		eventually(t, 3*time.Second, x.node.Name+" counts every hostile packet", func() bool {
			d := x.stats().Drops
			for r, w := range want {
				if d[r] < w {
					return false
				}
			}
			return true
		})
		d := x.stats().Drops
		for r, w := range want {
			if r != vrrp.ReasonTruncated && r != vrrp.ReasonVersion && d[r] != w {
				t.Errorf("%s: %d drops for %v, want %d", x.node.Name, d[r], r, w)
			}
		}
		t.Logf("%s drops: %v", x.node.Name, d)
	}
	// Still one Master advertising: the Backup's down timer never fired.
	time.Sleep(200 * time.Millisecond)
	if lb1.state() != vrrp.StateMaster || lb2.state() != vrrp.StateBackup || lb1.transitions() != t1 || lb2.transitions() != t2 {
		t.Errorf("hostile packets changed state: lb1 %v (%d->%d transitions), lb2 %v (%d->%d)",
			lb1.state(), t1, lb1.transitions(), lb2.state(), t2, lb2.transitions())
	}
	if !n1.HasAddr(vip4) || n2.HasAddr(vip4) {
		t.Error("VIP moved")
	}
}
