package vrrpnet

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Link-layer destinations of announcements.
var (
	// BroadcastMAC is where gratuitous ARP goes.
	BroadcastMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	// AllNodesMAC is the Ethernet address of ff02::1, where unsolicited
	// neighbour advertisements go.
	AllNodesMAC = net.HardwareAddr{0x33, 0x33, 0x00, 0x00, 0x00, 0x01}
	// AllNodes is the IPv6 all-nodes multicast address.
	AllNodes = netip.MustParseAddr("ff02::1")
)

// ErrFrame is wrapped by the frame builders for invalid arguments.
var ErrFrame = errors.New("vrrpnet: cannot build frame")

// GARPFrame returns a gratuitous ARP frame announcing that ip is at hw: an
// ARP request to the broadcast address whose sender and target protocol
// addresses are both ip (RFC 5227 section 3 "ARP Announcement", what
// keepalived sends), padded to the Ethernet minimum.
func GARPFrame(hw net.HardwareAddr, ip netip.Addr) ([]byte, error) {
	ip = ip.Unmap()
	if len(hw) != 6 || !ip.Is4() {
		return nil, fmt.Errorf("%w: gratuitous ARP for %v from %v", ErrFrame, ip, hw)
	}
	eth := &layers.Ethernet{SrcMAC: hw, DstMAC: BroadcastMAC, EthernetType: layers.EthernetTypeARP}
	arp := &layers.ARP{
		AddrType:          layers.LinkTypeEthernet,
		Protocol:          layers.EthernetTypeIPv4,
		HwAddressSize:     6,
		ProtAddressSize:   4,
		Operation:         layers.ARPRequest,
		SourceHwAddress:   hw,
		SourceProtAddress: ip.AsSlice(),
		DstHwAddress:      make([]byte, 6),
		DstProtAddress:    ip.AsSlice(),
	}
	return serialize(eth, arp)
}

// UnsolicitedNAFrame returns an unsolicited neighbour advertisement for
// target at hw, from src (the link-local address of the interface) to
// ff02::1 with hop limit 255, the Override flag set (and the Router flag
// when router is true), and the target link-layer address option; the
// ICMPv6 checksum is computed.
func UnsolicitedNAFrame(hw net.HardwareAddr, src, target netip.Addr, router bool) ([]byte, error) {
	if len(hw) != 6 || !src.Is6() || src.Is4In6() || !target.Is6() || target.Is4In6() {
		return nil, fmt.Errorf("%w: neighbour advertisement for %v from %v (%v)", ErrFrame, target, src, hw)
	}
	eth := &layers.Ethernet{SrcMAC: hw, DstMAC: AllNodesMAC, EthernetType: layers.EthernetTypeIPv6}
	ip6 := &layers.IPv6{
		Version:    6,
		NextHeader: layers.IPProtocolICMPv6,
		HopLimit:   255,
		SrcIP:      src.WithZone("").AsSlice(),
		DstIP:      AllNodes.AsSlice(),
	}
	icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeNeighborAdvertisement, 0)}
	if err := icmp.SetNetworkLayerForChecksum(ip6); err != nil {
		return nil, err
	}
	flags := uint8(0x20) // Override
	if router {
		flags |= 0x80
	}
	na := &layers.ICMPv6NeighborAdvertisement{
		Flags:         flags,
		TargetAddress: target.WithZone("").AsSlice(),
		Options:       layers.ICMPv6Options{{Type: layers.ICMPv6OptTargetAddress, Data: hw}},
	}
	return serialize(eth, ip6, icmp, na)
}

func serialize(ls ...gopacket.SerializableLayer) ([]byte, error) {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFrame, err)
	}
	return buf.Bytes(), nil
}

// AnnouncedBy reports whether frame, read from an interface whose
// Ethernet address is self, is another host's claim to one of addrs: an
// ARP request or reply whose sender protocol address is one of them
// (a gratuitous ARP among others), or a neighbour advertisement with hop
// limit 255 (RFC 4861 section 7.1.2) whose target is one of them. Frames
// from self (our own announcements, read back) and frames that do not
// decode are not.
func AnnouncedBy(frame []byte, self net.HardwareAddr, addrs []netip.Addr) bool {
	pkt := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
	eth, ok := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if !ok || bytes.Equal(eth.SrcMAC, self) {
		return false
	}
	var claimed netip.Addr
	switch {
	case eth.EthernetType == layers.EthernetTypeARP:
		a, ok := pkt.Layer(layers.LayerTypeARP).(*layers.ARP)
		if !ok || a.Protocol != layers.EthernetTypeIPv4 || bytes.Equal(a.SourceHwAddress, self) {
			return false
		}
		claimed, _ = netip.AddrFromSlice(a.SourceProtAddress)
	case eth.EthernetType == layers.EthernetTypeIPv6:
		ip, ok := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
		na, isNA := pkt.Layer(layers.LayerTypeICMPv6NeighborAdvertisement).(*layers.ICMPv6NeighborAdvertisement)
		if !ok || !isNA || ip.HopLimit != 255 {
			return false
		}
		claimed, _ = netip.AddrFromSlice(na.TargetAddress)
	}
	return claimed.IsValid() && slices.Contains(addrs, claimed)
}
