package vrrpnet

import (
	"bytes"
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

var hw = net.HardwareAddr{0x02, 0, 0x5e, 0, 1, 51}

func TestGARPFrame(t *testing.T) {
	b, err := GARPFrame(hw, netip.MustParseAddr("192.0.2.100"))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 60 {
		t.Errorf("frame is %d bytes, want the Ethernet minimum 60", len(b))
	}
	p := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
	eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	arp, ok := p.Layer(layers.LayerTypeARP).(*layers.ARP)
	if !ok {
		t.Fatalf("no ARP layer: %v", p)
	}
	if !bytes.Equal(eth.DstMAC, BroadcastMAC) || !bytes.Equal(eth.SrcMAC, hw) || arp.Operation != layers.ARPRequest ||
		!bytes.Equal(arp.SourceHwAddress, hw) || !net.IP(arp.SourceProtAddress).Equal(net.IPv4(192, 0, 2, 100)) ||
		!net.IP(arp.DstProtAddress).Equal(net.IPv4(192, 0, 2, 100)) || !bytes.Equal(arp.DstHwAddress, make([]byte, 6)) {
		t.Errorf("unexpected gratuitous ARP: %v", p)
	}
	if _, err := GARPFrame(hw, netip.MustParseAddr("2001:db8::1")); err == nil {
		t.Error("GARP for an IPv6 address built")
	}
}

func TestUnsolicitedNAFrame(t *testing.T) {
	src, tgt := netip.MustParseAddr("fe80::1"), netip.MustParseAddr("2001:db8::100")
	b, err := UnsolicitedNAFrame(hw, src, tgt, true)
	if err != nil {
		t.Fatal(err)
	}
	p := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
	ip6, _ := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	na, ok := p.Layer(layers.LayerTypeICMPv6NeighborAdvertisement).(*layers.ICMPv6NeighborAdvertisement)
	if !ok || ip6 == nil {
		t.Fatalf("no NA: %v", p)
	}
	if ip6.HopLimit != 255 || !ip6.DstIP.Equal(net.ParseIP("ff02::1")) || !ip6.SrcIP.Equal(net.ParseIP("fe80::1")) ||
		na.Flags != 0xa0 || !na.TargetAddress.Equal(net.ParseIP("2001:db8::100")) ||
		len(na.Options) != 1 || na.Options[0].Type != layers.ICMPv6OptTargetAddress || !bytes.Equal(na.Options[0].Data, hw) {
		t.Errorf("unexpected NA: %v", p)
	}
	// The ICMPv6 checksum verifies: summing the pseudo-header and the
	// message, checksum included, gives 0xffff.
	msg := ip6.Payload
	sum := uint32(0)
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(ip6.SrcIP)
	add(ip6.DstIP)
	sum += uint32(len(msg)) + 58
	add(msg)
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	if sum != 0xffff {
		t.Errorf("ICMPv6 checksum does not verify: 0x%04x", sum)
	}
}

func TestAnnouncedBy(t *testing.T) {
	other := net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
	vip4, vip6 := netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("2001:db8::100")
	ll := netip.MustParseAddr("fe80::2")
	mustFrame := func(b []byte, err error) []byte {
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	garp := mustFrame(GARPFrame(other, vip4))
	na := mustFrame(UnsolicitedNAFrame(other, ll, vip6, false))
	// An ARP reply from other for vip4 (to someone's request) claims it too.
	reply := mustFrame(serialize(
		&layers.Ethernet{SrcMAC: other, DstMAC: hw, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPReply, SourceHwAddress: other, SourceProtAddress: vip4.AsSlice(),
			DstHwAddress: hw, DstProtAddress: []byte{192, 0, 2, 9}}))
	naLowHops := slices.Clone(na)
	naLowHops[14+7] = 64 // the IPv6 hop limit
	addrs := []netip.Addr{vip4, vip6}
	for _, c := range []struct {
		name  string
		frame []byte
		addrs []netip.Addr
		want  bool
	}{
		{"gratuitous ARP of another host", garp, addrs, true},
		{"ARP reply of another host", reply, addrs, true},
		{"neighbour advertisement of another host", na, addrs, true},
		{"our own gratuitous ARP", mustFrame(GARPFrame(hw, vip4)), addrs, false},
		{"our own neighbour advertisement", mustFrame(UnsolicitedNAFrame(hw, ll, vip6, false)), addrs, false},
		{"another address", mustFrame(GARPFrame(other, netip.MustParseAddr("192.0.2.101"))), addrs, false},
		{"an address not watched", na, []netip.Addr{vip4}, false},
		{"hop limit below 255", naLowHops, addrs, false},
		{"truncated ARP", garp[:20], addrs, false},
		{"truncated advertisement", na[:60], addrs, false},
		{"empty", nil, addrs, false},
	} {
		if got := AnnouncedBy(c.frame, hw, c.addrs); got != c.want {
			t.Errorf("%s: AnnouncedBy = %v, want %v", c.name, got, c.want)
		}
	}
}

// FuzzAnnouncedBy feeds hostile frames from the LAN to the parser of the
// handover watch: it must not panic.
func FuzzAnnouncedBy(f *testing.F) {
	for _, ip := range []string{"192.0.2.100", "2001:db8::100"} {
		var b []byte
		if a := netip.MustParseAddr(ip); a.Is4() {
			b, _ = GARPFrame(net.HardwareAddr{2, 0, 0, 0, 0, 2}, a)
		} else {
			b, _ = UnsolicitedNAFrame(net.HardwareAddr{2, 0, 0, 0, 0, 2}, netip.MustParseAddr("fe80::2"), a, true)
		}
		f.Add(b)
	}
	addrs := []netip.Addr{netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("2001:db8::100")}
	f.Fuzz(func(t *testing.T, frame []byte) { AnnouncedBy(frame, hw, addrs) })
}
