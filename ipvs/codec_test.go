package ipvs

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/mdlayher/netlink"
)

// encodedService returns the service nest as encodeService writes it.
func encodedService(t testing.TB, s Service) []byte {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	encodeService(ae, s, true)
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	nest, err := nested(b, attrService)
	if err != nil {
		t.Fatal(err)
	}
	return nest
}

func encodedDestination(t testing.TB, d Destination) []byte {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	encodeDestination(ae, d, true)
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	nest, err := nested(b, attrDest)
	if err != nil {
		t.Fatal(err)
	}
	return nest
}

// roundTripServices covers every field and both families.
var roundTripServices = []Service{
	web,
	{Protocol: SCTP, Address: netip.MustParseAddr("192.0.2.1"), Port: 0, Persistent: true, Timeout: 1, Netmask: 1, Scheduler: "sh", SchedFlags: SHPort},
	{Protocol: UDP, Address: netip.MustParseAddr("2001:db8::53"), Port: 53, OnePacket: true, Scheduler: "mh", SchedFlags: MHFallback | MHPort},
	{Protocol: UDP, Address: netip.MustParseAddr("2001:db8::5"), Port: 5060, Persistent: true, Netmask: 48, PEName: "sip"},
	{FWMark: 0xffffffff, Family: IPv6, Scheduler: "twos"},
	{FWMark: 1, Persistent: true, Netmask: 24, Timeout: 86400},
}

var roundTripDestinations = []Destination{
	rs1,
	{Address: netip.MustParseAddr("2001:db8::15"), Port: 443, ForwardMethod: Route, Weight: 1<<31 - 1, UpperThreshold: 9, LowerThreshold: 3},
	{Address: netip.MustParseAddr("192.0.2.99"), ForwardMethod: Tunnel, TunnelType: GUE, TunnelPort: 6080, TunnelFlags: TunnelRemCsum},
	{Address: netip.MustParseAddr("192.0.2.98"), Port: 1, ForwardMethod: Tunnel, TunnelType: GRE, TunnelFlags: TunnelCsum},
	{Address: netip.MustParseAddr("192.0.2.97"), Port: 1, ForwardMethod: Local},
}

func TestServiceRoundTrip(t *testing.T) {
	for _, s := range roundTripServices {
		e, err := decodeService(encodedService(t, s))
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if got, want := e.Service.normalized(), s.normalized(); got != want {
			t.Errorf("round trip\n got %+v\nwant %+v", got, want)
		}
	}
}

func TestDestinationRoundTrip(t *testing.T) {
	for _, d := range roundTripDestinations {
		e, err := decodeDestination(encodedDestination(t, d), IPv4)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		if got, want := e.Destination, d.normalized(); got != want {
			t.Errorf("round trip\n got %+v\nwant %+v", got, want)
		}
	}
}

func TestNetmaskEncoding(t *testing.T) {
	tests := []struct {
		fam    Family
		prefix int
		want   []byte
	}{
		{IPv4, 0, n32(0xffffffff)},
		{IPv4, 32, n32(0xffffffff)},
		{IPv4, 24, []byte{255, 255, 255, 0}},
		{IPv4, 1, []byte{128, 0, 0, 0}},
		{IPv6, 0, u32(128)},
		{IPv6, 64, u32(64)},
	}
	for _, tt := range tests {
		got := netmaskBytes(tt.fam, tt.prefix)
		if string(got) != string(tt.want) {
			t.Errorf("%s /%d: % x, want % x", tt.fam, tt.prefix, got, tt.want)
		}
		back, err := decodeNetmask(tt.fam, got)
		if err != nil || (tt.prefix != 0 && back != tt.prefix) {
			t.Errorf("%s /%d decodes to /%d, %v", tt.fam, tt.prefix, back, err)
		}
	}
}

func TestDecodeStatsPrefers64(t *testing.T) {
	ae := netlink.NewAttributeEncoder()
	ae.Nested(destStats, func(nae *netlink.AttributeEncoder) error {
		nae.Uint32(statsConns, 1)
		nae.Uint64(statsInBytes, 2)
		return nil
	})
	ae.Nested(destStats64, func(nae *netlink.AttributeEncoder) error {
		encodeStats64(nae, Stats{Conns: 1 << 33, InBytes: 1 << 34, OutBPS: 5})
		nae.Uint64(11, 0) // IPVS_STATS_ATTR_PAD is skipped
		return nil
	})
	extra, _ := ae.Encode()
	e, err := decodeDestination(append(encodedDestination(t, rs1), extra...), IPv4)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Stats{Conns: 1 << 33, InBytes: 1 << 34, OutBPS: 5}); e.Stats != want {
		t.Errorf("stats %+v, want the 64-bit ones %+v", e.Stats, want)
	}

	// Only 32-bit stats: use them.
	ae = netlink.NewAttributeEncoder()
	ae.Nested(destStats, func(nae *netlink.AttributeEncoder) error {
		nae.Uint32(statsConns, 7)
		nae.Uint64(statsOutBytes, 1<<40)
		return nil
	})
	extra, _ = ae.Encode()
	e, err = decodeDestination(append(encodedDestination(t, rs1), extra...), IPv4)
	if err != nil || e.Stats != (Stats{Conns: 7, OutBytes: 1 << 40}) {
		t.Errorf("32-bit stats %+v, %v", e.Stats, err)
	}
}

func TestDecodeDestinationWithoutFamily(t *testing.T) {
	// Kernels before 3.18 send no ADDR_FAMILY; the service's applies.
	ae := netlink.NewAttributeEncoder()
	ae.Bytes(destAddr, in16("2001:db8::7"))
	ae.Bytes(destPort, n16(80))
	b, _ := ae.Encode()
	e, err := decodeDestination(b, IPv6)
	if err != nil || e.Address != netip.MustParseAddr("2001:db8::7") || e.Family != IPv6 {
		t.Errorf("got %+v, %v", e.Destination, err)
	}
}

func TestDecodeMalformed(t *testing.T) {
	attrs := func(f func(ae *netlink.AttributeEncoder)) []byte {
		ae := netlink.NewAttributeEncoder()
		f(ae)
		b, _ := ae.Encode()
		return b
	}
	svcKey := func(ae *netlink.AttributeEncoder) {
		ae.Uint16(svcProtocol, 6)
		ae.Bytes(svcAddr, in16("192.0.2.1"))
		ae.Bytes(svcPort, n16(80))
		ae.Bytes(svcFlags, make([]byte, 8))
	}
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"truncated attribute", []byte{8, 0, 1}, "decode service"},
		{"no family", attrs(svcKey), "missing service family"},
		{"bad family", attrs(func(ae *netlink.AttributeEncoder) { ae.Uint16(svcAF, 3); svcKey(ae) }), "unsupported address family 3"},
		{"short address", attrs(func(ae *netlink.AttributeEncoder) {
			ae.Uint16(svcAF, uint16(IPv6))
			svcKey(ae)
			ae.Bytes(svcAddr, []byte{192, 0, 2, 1}) // the last ADDR wins
		}), "4-byte address for IPv6"},
		{"3-byte port", attrs(func(ae *netlink.AttributeEncoder) {
			ae.Uint16(svcAF, uint16(IPv4))
			ae.Bytes(svcPort, []byte{1, 2, 3})
		}), "3-byte port"},
		{"no key", attrs(func(ae *netlink.AttributeEncoder) { ae.Uint16(svcAF, uint16(IPv4)) }), "missing service protocol"},
		{"no flags", attrs(func(ae *netlink.AttributeEncoder) {
			ae.Uint16(svcAF, uint16(IPv4))
			ae.Uint32(svcFWMark, 1)
		}), "missing service flags"},
		{"non-contiguous netmask", attrs(func(ae *netlink.AttributeEncoder) {
			ae.Uint16(svcAF, uint16(IPv4))
			svcKey(ae)
			ae.Bytes(svcNetmask, []byte{255, 0, 255, 0})
		}), "non-contiguous netmask"},
		{"wide u16", attrs(func(ae *netlink.AttributeEncoder) { ae.Uint32(svcAF, 2) }), "not a uint16"},
		{"bad stats counter", attrs(func(ae *netlink.AttributeEncoder) {
			ae.Uint16(svcAF, uint16(IPv4))
			svcKey(ae)
			ae.Nested(svcStats64, func(nae *netlink.AttributeEncoder) error { nae.Uint16(statsConns, 1); return nil })
		}), "2-byte counter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeService(tt.b)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}
