package vrrpnet

import (
	"bytes"
	"net"
	"net/netip"
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
