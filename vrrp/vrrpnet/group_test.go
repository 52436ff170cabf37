//go:build linux

package vrrpnet_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/vrrp"
	"github.com/mdlayher/packet"
)

// lbd and keepalived 2.2.7, both configured with another multicast group
// (vrrp_mcast_group4) and a source address of their own (mcast_src_ip,
// a secondary address of the interface), send their adverts there from
// that source, none to 224.0.0.18, and run one VRRP group: lbd Master,
// keepalived Backup, keepalived Master once lbd stops.
func TestIntegrationMulticastGroup(t *testing.T) {
	group := netip.MustParseAddr("224.0.0.19")
	srcL, srcK := netip.MustParseAddr("192.0.2.11"), netip.MustParseAddr("192.0.2.12")
	l := lab.New(t)
	lan := l.LAN("lan")
	nl := newNode(t, l, lan, "lbd", "192.0.2.1/24", srcL.String()+"/24")
	nk := newNode(t, l, lan, "ka", "192.0.2.2/24", srcK.String()+"/24")
	obs := newNode(t, l, lan, "observer", "192.0.2.9/24")
	waitReady(t, nl, nk, obs)
	capt := listenCapture(t, obs)

	ka := startKeepalived(t, nk, kaOpts{version: vrrp.Version2, vrid: 51, interval: time.Second, prio: 100, vip: "192.0.2.100/32",
		global: "  vrrp_mcast_group4 " + group.String() + "\n", instance: "  mcast_src_ip " + srcK.String() + "\n"})
	lb := startLBD(t, nl, lbdOpts{version: vrrp.Version2, prio: 200, primary: srcL, group: group})
	eventually(t, 6*time.Second, "lbd Master with the VIP, keepalived Backup without", func() bool {
		return lb.state() == vrrp.StateMaster && ka.state() == "BACKUP" && nl.HasAddr(vip4) && !nk.HasAddr(vip4)
	})
	if d := lb.stats().Drops; sum(d) != 0 {
		t.Errorf("lbd dropped adverts: %v", d)
	}
	seen := adverts(t, capt, time.Now().Add(2500*time.Millisecond))
	if seen[[2]netip.Addr{srcL, group}] == 0 {
		t.Errorf("no advert from lbd (%v) to %v on the wire: %v", srcL, group, seen)
	}
	for k := range seen {
		if k[1] != group || (k[0] != srcL && k[0] != srcK) {
			t.Errorf("advert from %v to %v on the wire; want only %v and %v to %v", k[0], k[1], srcL, srcK, group)
		}
	}
	lb.stop()
	eventually(t, 5*time.Second, "keepalived Master after lbd stopped", func() bool {
		return ka.state() == "MASTER" && nk.HasAddr(vip4)
	})
	if seen := adverts(t, capt, time.Now().Add(1500*time.Millisecond)); seen[[2]netip.Addr{srcK, group}] == 0 {
		t.Errorf("no advert from keepalived (%v) to %v on the wire: %v", srcK, group, seen)
	}
}

// adverts counts the VRRP packets c sees until the deadline, by source
// and destination.
func adverts(t *testing.T, c *packet.Conn, until time.Time) map[[2]netip.Addr]int {
	t.Helper()
	seen := map[[2]netip.Addr]int{}
	frames(c, until, func(pkt gopacket.Packet, _ *layers.Ethernet) {
		if ip, ok := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok && ip.Protocol == 112 {
			src, _ := netip.AddrFromSlice(ip.SrcIP)
			dst, _ := netip.AddrFromSlice(ip.DstIP)
			seen[[2]netip.Addr{src.Unmap(), dst.Unmap()}]++
		}
	})
	return seen
}
