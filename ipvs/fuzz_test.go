package ipvs

import (
	"net/netip"
	"testing"

	"github.com/mdlayher/netlink"
)

// The fuzzers feed arbitrary bytes to the decoders of kernel messages.
// Decoding must never panic, and whatever decodes must survive an
// encode/decode round trip unchanged (up to normalization, which is what
// Diff compares).

func FuzzDecodeService(f *testing.F) {
	for _, s := range roundTripServices {
		f.Add(encodedService(f, s))
	}
	f.Add([]byte{4, 0, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeService(b)
		if err != nil {
			return
		}
		again, err := decodeService(encodedService(t, e.Service))
		if err != nil {
			t.Fatalf("re-decoding %+v: %v", e.Service, err)
		}
		if got, want := again.Service.normalized(), e.Service.normalized(); got != want {
			t.Fatalf("round trip\n got %+v\nwant %+v", got, want)
		}
	})
}

func FuzzDecodeDestination(f *testing.F) {
	for _, d := range roundTripDestinations {
		f.Add(encodedDestination(f, d), false)
	}
	f.Fuzz(func(t *testing.T, b []byte, v6 bool) {
		fam := IPv4
		if v6 {
			fam = IPv6
		}
		e, err := decodeDestination(b, fam)
		if err != nil {
			return
		}
		again, err := decodeDestination(encodedDestination(t, e.Destination), fam)
		if err != nil {
			t.Fatalf("re-decoding %+v: %v", e.Destination, err)
		}
		if got, want := again.Destination.normalized(), e.Destination.normalized(); got != want {
			t.Fatalf("round trip\n got %+v\nwant %+v", got, want)
		}
	})
}

func FuzzDecodeDaemon(f *testing.F) {
	for _, d := range []SyncDaemon{
		{State: Master, McastIfn: "eth0", SyncID: 1},
		{State: Backup, McastIfn: "bond0.100", SyncID: 255, SyncMaxLen: 1472,
			McastGroup: netip.MustParseAddr("239.1.2.3"), McastPort: 8848, McastTTL: 1},
		{State: Master, McastIfn: "eth1", McastGroup: netip.MustParseAddr("ff05::81")},
	} {
		ae := netlink.NewAttributeEncoder()
		encodeDaemon(ae, d, true)
		b, _ := ae.Encode()
		nest, err := nested(b, attrDaemon)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(nest)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := decodeDaemon(b)
		if err != nil {
			return
		}
		ae := netlink.NewAttributeEncoder()
		encodeDaemon(ae, d, true)
		enc, err := ae.Encode()
		if err != nil {
			t.Fatal(err)
		}
		nest, err := nested(enc, attrDaemon)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodeDaemon(nest)
		if err != nil || again != d {
			t.Fatalf("round trip %+v -> %+v, %v", d, again, err)
		}
	})
}

// FuzzDecodeReply covers the top-level reply decoders: info, timeouts and
// the lookup of a nested object.
func FuzzDecodeReply(f *testing.F) {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(infoVersion, 0x010201)
	ae.Uint32(infoConnTabSize, 4096)
	b, _ := ae.Encode()
	f.Add(b)
	ae = netlink.NewAttributeEncoder()
	encodeTimeouts(ae, Timeouts{TCP: 900e9, TCPFin: 120e9, UDP: 300e9})
	b, _ = ae.Encode()
	f.Add(b)
	ae = netlink.NewAttributeEncoder()
	encodeService(ae, web, true)
	encodeDestination(ae, rs1, true)
	b, _ = ae.Encode()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decodeInfo(b)
		_, _ = decodeTimeouts(b)
		if nest, err := nested(b, attrService); err == nil {
			_, _ = decodeService(nest)
		}
		if nest, err := nested(b, attrDest); err == nil {
			_, _ = decodeDestination(nest, IPv6)
		}
	})
}
