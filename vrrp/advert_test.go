package vrrp

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

var (
	v4a = netip.MustParseAddr("192.0.2.1")
	v4b = netip.MustParseAddr("192.0.2.2")
	v6a = netip.MustParseAddr("fe80::1")
	v6b = netip.MustParseAddr("fe80::2")
)

type vector struct {
	src, dst netip.Addr
	ttl      int
	msg      []byte
}

func readVectors(t testing.TB) []vector {
	t.Helper()
	f, err := os.Open("testdata/keepalived-2.2.7.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var vs []vector
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) != 4 {
			t.Fatalf("bad vector line %q", line)
		}
		ttl, _ := strconv.Atoi(fs[2])
		msg, err := hex.DecodeString(fs[3])
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, vector{netip.MustParseAddr(fs[0]), netip.MustParseAddr(fs[1]), ttl, msg})
	}
	if len(vs) == 0 {
		t.Fatal("no vectors")
	}
	return vs
}

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

// TestKeepalivedVectors decodes adverts captured from keepalived 2.2.7 and
// checks that encoding the result gives back the same bytes, checksum
// included: the same wire format in both directions.
func TestKeepalivedVectors(t *testing.T) {
	var pass [8]byte
	copy(pass[:], "secret12")
	want := map[uint8]Advert{
		51: {Version: Version2, VRID: 51, Priority: 200, Interval: time.Second, AuthType: AuthSimple, AuthData: pass, Addrs: addrs("192.0.2.100", "192.0.2.101")},
		52: {Version: Version2, VRID: 52, Priority: 150, Interval: 2 * time.Second, Addrs: addrs("192.0.2.102")},
		53: {Version: Version3, VRID: 53, Priority: 120, Interval: 500 * time.Millisecond, Addrs: addrs("192.0.2.103", "192.0.2.104", "192.0.2.105")},
		54: {Version: Version3, VRID: 54, Priority: 254, Interval: 300 * time.Millisecond, Addrs: addrs("2001:db8::100")},
	}
	seen := map[uint8]map[uint8]bool{}
	for _, v := range readVectors(t) {
		a, err := Decode(v.msg, v.src, v.dst)
		if err != nil {
			t.Fatalf("Decode(%x): %v", v.msg, err)
		}
		w, ok := want[a.VRID]
		if !ok {
			t.Fatalf("unexpected VRID %d", a.VRID)
		}
		if a.Priority != PriorityStop {
			if a.Priority != w.Priority {
				t.Errorf("VRID %d priority %d, want %d", a.VRID, a.Priority, w.Priority)
			}
		}
		w.Priority = a.Priority // running or priority 0 on stop
		if !reflect.DeepEqual(*a, w) {
			t.Errorf("VRID %d decoded\n %+v\nwant\n %+v", a.VRID, *a, w)
		}
		if seen[a.VRID] == nil {
			seen[a.VRID] = map[uint8]bool{}
		}
		seen[a.VRID][a.Priority] = true
		b, err := a.Marshal(v.src, v.dst)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != string(v.msg) {
			t.Errorf("VRID %d re-encoded\n %x\nkeepalived sent\n %x", a.VRID, b, v.msg)
		}
		cc := CheckConfig{Version: w.Version, VRID: w.VRID, Interval: w.Interval, AuthType: w.AuthType, AuthData: w.AuthData, Addrs: w.Addrs}
		if _, vd := cc.Receive(v.msg, v.src, v.dst, v.ttl); vd != (Verdict{}) {
			t.Errorf("VRID %d: Receive verdict %+v", a.VRID, vd)
		}
	}
	for vrid := range want {
		if !seen[vrid][0] || len(seen[vrid]) != 2 {
			t.Errorf("VRID %d: want a running and a priority 0 advert, saw priorities %v", vrid, seen[vrid])
		}
	}
}

// TestGopacketCrossCheck decodes our VRRPv2 encoding with gopacket's
// independent VRRPv2 layer, inside an IPv4 packet serialised by gopacket.
func TestGopacketCrossCheck(t *testing.T) {
	a := Advert{Version: Version2, VRID: 7, Priority: 123, Interval: 3 * time.Second, Addrs: addrs("198.51.100.1", "198.51.100.2", "198.51.100.3")}
	msg, err := a.Marshal(v4a, MulticastIPv4)
	if err != nil {
		t.Fatal(err)
	}
	ip := &layers.IPv4{Version: 4, TTL: TTL, Protocol: layers.IPProtocolVRRP, SrcIP: v4a.AsSlice(), DstIP: MulticastIPv4.AsSlice()}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, gopacket.Payload(msg)); err != nil {
		t.Fatal(err)
	}
	pkt := gopacket.NewPacket(buf.Bytes(), layers.LayerTypeIPv4, gopacket.Default)
	l, ok := pkt.Layer(layers.LayerTypeVRRP).(*layers.VRRPv2)
	if !ok {
		t.Fatalf("gopacket found no VRRPv2 layer: %v", pkt)
	}
	if l.Version != 2 || l.Type != layers.VRRPv2Advertisement || l.VirtualRtrID != 7 || l.Priority != 123 ||
		l.CountIPAddr != 3 || l.AuthType != 0 || l.AdverInt != 3 || l.Checksum != binary.BigEndian.Uint16(msg[6:]) {
		t.Errorf("gopacket decoded %+v", l)
	}
	for k, ipa := range l.IPAddress {
		if !ipa.Equal(net.IP(a.Addrs[k].AsSlice())) {
			t.Errorf("address %d: gopacket %v, want %v", k, ipa, a.Addrs[k])
		}
	}
	// And the checksum gopacket carries verifies with a plain RFC 1071 sum.
	if refChecksum(l.Contents) != 0 {
		t.Errorf("checksum does not verify")
	}
}

// refChecksum is a second, deliberately naive RFC 1071 implementation.
func refChecksum(parts ...[]byte) uint16 {
	var all []byte
	for _, p := range parts {
		all = append(all, p...)
	}
	if len(all)%2 == 1 {
		all = append(all, 0)
	}
	var sum uint64
	for k := 0; k < len(all); k += 2 {
		sum += uint64(all[k])<<8 + uint64(all[k+1])
	}
	for sum>>16 != 0 {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// pseudoHeader builds the RFC 5798 section 5.2.8 pseudo-header byte by byte.
func pseudoHeader(src, dst netip.Addr, n int) []byte {
	var b []byte
	b = append(b, src.AsSlice()...)
	b = append(b, dst.AsSlice()...)
	if src.Is4() {
		return append(b, 0, Protocol, byte(n>>8), byte(n))
	}
	return append(b, byte(n>>24), byte(n>>16), byte(n>>8), byte(n), 0, 0, 0, Protocol)
}

func TestChecksumAgainstReference(t *testing.T) {
	cases := []struct {
		name     string
		a        Advert
		src, dst netip.Addr
	}{
		{"v2", Advert{Version: Version2, VRID: 1, Priority: 100, Interval: time.Second, AuthType: AuthSimple, AuthData: [8]byte{'a', 'b'}, Addrs: addrs("10.0.0.1")}, v4a, MulticastIPv4},
		{"v3 ipv4 multicast", Advert{Version: Version3, VRID: 9, Priority: 255, Interval: 20 * time.Millisecond, Addrs: addrs("203.0.113.9", "203.0.113.10")}, v4a, MulticastIPv4},
		{"v3 ipv4 unicast", Advert{Version: Version3, VRID: 9, Priority: 1, Interval: 40950 * time.Millisecond, Addrs: addrs("203.0.113.9")}, v4a, v4b},
		{"v3 ipv6", Advert{Version: Version3, VRID: 200, Priority: 42, Interval: time.Second, Addrs: addrs("2001:db8::1", "2001:db8::2")}, v6a, MulticastIPv6},
		{"v3 no addrs", Advert{Version: Version3, VRID: 2, Priority: 0, Interval: time.Second}, v6a, v6b},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg, err := c.a.Marshal(c.src, c.dst)
			if err != nil {
				t.Fatal(err)
			}
			if len(msg) != c.a.Len() {
				t.Errorf("len %d, Len() %d", len(msg), c.a.Len())
			}
			var got uint16
			if c.a.Version == Version3 {
				got = refChecksum(pseudoHeader(c.src, c.dst, len(msg)), msg)
			} else {
				got = refChecksum(msg)
			}
			if got != 0 {
				t.Errorf("reference sum over %x = %#04x, want 0", msg, got)
			}
			back, err := Decode(msg, c.src, c.dst)
			if err != nil {
				t.Fatal(err)
			}
			if !equalAdvert(back, &c.a) {
				t.Errorf("round trip %+v, want %+v", back, c.a)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	good := func() []byte {
		a := Advert{Version: Version3, VRID: 5, Priority: 100, Interval: time.Second, Addrs: addrs("192.0.2.50")}
		b, err := a.Marshal(v4a, MulticastIPv4)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good2 := func() []byte {
		a := Advert{Version: Version2, VRID: 5, Priority: 100, Interval: time.Second, Addrs: addrs("192.0.2.50")}
		b, err := a.Marshal(v4a, MulticastIPv4)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// fix recomputes the v3 checksum after an edit, so that only the
	// intended check fails.
	fix := func(b []byte) []byte {
		binary.BigEndian.PutUint16(b[6:], 0)
		binary.BigEndian.PutUint16(b[6:], checksum(Version(b[0]>>4), v4a, MulticastIPv4, b))
		return b
	}
	cases := []struct {
		name     string
		msg      []byte
		src, dst netip.Addr
		want     error
		reason   DropReason
	}{
		{"empty", nil, v4a, MulticastIPv4, ErrTruncated, ReasonTruncated},
		{"short header", good()[:7], v4a, MulticastIPv4, ErrTruncated, ReasonTruncated},
		{"short address", good()[:11], v4a, MulticastIPv4, ErrTruncated, ReasonTruncated},
		{"v2 missing auth data", good2()[:12], v4a, MulticastIPv4, ErrTruncated, ReasonTruncated},
		{"trailing byte", append(good(), 0), v4a, MulticastIPv4, ErrAddrCount, ReasonAddrCount},
		{"count too small", fix(func() []byte { b := good(); b[3] = 0; return b }()), v4a, MulticastIPv4, ErrAddrCount, ReasonAddrCount},
		{"count too big", fix(func() []byte { b := good(); b[3] = 2; return b }()), v4a, MulticastIPv4, ErrTruncated, ReasonTruncated},
		{"version 1", fix(func() []byte { b := good(); b[0] = 0x11; return b }()), v4a, MulticastIPv4, ErrVersion, ReasonVersion},
		{"version 4", fix(func() []byte { b := good(); b[0] = 0x41; return b }()), v4a, MulticastIPv4, ErrVersion, ReasonVersion},
		{"v2 over ipv6", good2(), v6a, MulticastIPv6, ErrVersion, ReasonVersion},
		{"type 2", fix(func() []byte { b := good(); b[0] = 0x32; return b }()), v4a, MulticastIPv4, ErrType, ReasonType},
		{"bad checksum", func() []byte { b := good(); b[2]++; return b }(), v4a, MulticastIPv4, ErrChecksum, ReasonChecksum},
		{"v2 bad checksum", func() []byte { b := good2(); b[len(b)-1]++; return b }(), v4a, MulticastIPv4, ErrChecksum, ReasonChecksum},
		{"v3 pseudo-header dst differs", good(), v4a, v4b, ErrChecksum, ReasonChecksum},
		{"v3 pseudo-header src differs", good(), v4b, MulticastIPv4, ErrChecksum, ReasonChecksum},
		{"family mix", good(), v4a, MulticastIPv6, ErrFamily, ReasonFamily},
		{"no source", good(), netip.Addr{}, MulticastIPv4, ErrFamily, ReasonFamily},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := Decode(c.msg, c.src, c.dst)
			if !errors.Is(err, c.want) || a != nil {
				t.Fatalf("Decode = %v, %v; want %v", a, err, c.want)
			}
			if r := ReasonOf(err); r != c.reason {
				t.Errorf("ReasonOf = %v, want %v", r, c.reason)
			}
		})
	}
	// The v2 checksum ignores the addresses of the IP header.
	if _, err := Decode(good2(), v4b, v4a); err != nil {
		t.Errorf("v2 decode with other IP addresses: %v", err)
	}
	// Reserved bits of v3 are ignored on receive.
	b := fix(func() []byte { b := good(); b[4] |= 0xf0; return b }())
	if a, err := Decode(b, v4a, MulticastIPv4); err != nil || a.Interval != time.Second {
		t.Errorf("reserved bits: %v, %v", a, err)
	}
}

func TestMarshalErrors(t *testing.T) {
	many := make([]netip.Addr, 256)
	for k := range many {
		many[k] = netip.AddrFrom4([4]byte{10, 0, byte(k >> 8), byte(k)})
	}
	cases := []struct {
		name     string
		a        Advert
		src, dst netip.Addr
		want     error
	}{
		{"v2 fractional interval", Advert{Version: Version2, Interval: 1500 * time.Millisecond}, v4a, v4b, ErrInterval},
		{"v2 interval too long", Advert{Version: Version2, Interval: 256 * time.Second}, v4a, v4b, ErrInterval},
		{"v3 sub-centisecond", Advert{Version: Version3, Interval: 5 * time.Millisecond}, v4a, v4b, ErrInterval},
		{"v3 interval too long", Advert{Version: Version3, Interval: 40960 * time.Millisecond}, v4a, v4b, ErrInterval},
		{"v3 with auth", Advert{Version: Version3, Interval: time.Second, AuthType: AuthSimple}, v4a, v4b, ErrAuth},
		{"v2 over ipv6", Advert{Version: Version2, Interval: time.Second}, v6a, v6b, ErrFamily},
		{"ipv6 vip in ipv4", Advert{Version: Version3, Interval: time.Second, Addrs: addrs("2001:db8::1")}, v4a, v4b, ErrFamily},
		{"ipv4 vip in ipv6", Advert{Version: Version3, Interval: time.Second, Addrs: addrs("192.0.2.1")}, v6a, v6b, ErrFamily},
		{"mapped vip", Advert{Version: Version3, Interval: time.Second, Addrs: addrs("::ffff:192.0.2.1")}, v4a, v4b, ErrFamily},
		{"invalid vip", Advert{Version: Version3, Interval: time.Second, Addrs: []netip.Addr{{}}}, v4a, v4b, ErrFamily},
		{"256 addresses", Advert{Version: Version3, Interval: time.Second, Addrs: many}, v4a, v4b, ErrAddrCount},
		{"version 4", Advert{Version: 4, Interval: time.Second}, v4a, v4b, ErrVersion},
		{"family mix", Advert{Version: Version3, Interval: time.Second}, v4a, v6b, ErrFamily},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := c.a.Marshal(c.src, c.dst); !errors.Is(err, c.want) {
				t.Errorf("Marshal error %v, want %v", err, c.want)
			}
		})
	}
}

// equalAdvert compares adverts, treating nil and empty address lists alike.
func equalAdvert(x, y *Advert) bool {
	xc, yc := *x, *y
	if len(xc.Addrs) == 0 {
		xc.Addrs = nil
	}
	if len(yc.Addrs) == 0 {
		yc.Addrs = nil
	}
	return reflect.DeepEqual(xc, yc)
}

// FuzzDecode feeds arbitrary bytes to Decode: it must not panic, and what
// it accepts must encode back to the same bytes (reserved bits aside) and
// decode to the same advert.
func FuzzDecode(f *testing.F) {
	for _, v := range readVectors(f) {
		f.Add(v.msg, v.src.Is6())
	}
	f.Add([]byte{0x31, 1, 100, 0, 0, 100, 0, 0}, false)
	f.Add([]byte{0x21}, false)
	f.Fuzz(func(t *testing.T, b []byte, ipv6 bool) {
		src, dst := v4a, MulticastIPv4
		if ipv6 {
			src, dst = v6a, MulticastIPv6
		}
		a, err := Decode(b, src, dst)
		if err != nil {
			if a != nil {
				t.Fatalf("advert and error %v", err)
			}
			if ReasonOf(err) == ReasonNone {
				t.Fatalf("error %v maps to no reason", err)
			}
			return
		}
		out, err := a.Marshal(src, dst)
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", a, err)
		}
		if a.Version == Version2 || b[4]&0xf0 == 0 {
			if string(out) != string(b) {
				t.Fatalf("re-encoded\n %x\nfrom\n %x", out, b)
			}
		}
		back, err := Decode(out, src, dst)
		if err != nil || !equalAdvert(back, a) {
			t.Fatalf("second decode %+v, %v; want %+v", back, err, a)
		}
	})
}

// FuzzRoundTrip builds adverts from fuzzed fields: whatever encodes must
// decode to the same advert, pass the reference checksum, and fail to
// decode once any single bit is flipped.
func FuzzRoundTrip(f *testing.F) {
	f.Add(uint8(3), uint8(1), uint8(100), uint16(100), uint8(0), []byte("12345678"), []byte{192, 0, 2, 1}, false, uint16(0))
	f.Add(uint8(2), uint8(51), uint8(200), uint16(1), uint8(1), []byte("secret12"), []byte{192, 0, 2, 100, 192, 0, 2, 101}, false, uint16(77))
	f.Add(uint8(3), uint8(54), uint8(0), uint16(4095), uint8(0), []byte{}, make([]byte, 32), true, uint16(5))
	f.Fuzz(func(t *testing.T, ver, vrid, prio uint8, interval uint16, auth uint8, authData, addrBytes []byte, ipv6 bool, flip uint16) {
		a := Advert{Version: Version(ver), VRID: vrid, Priority: prio}
		src, dst := v4a, MulticastIPv4
		alen := 4
		if ipv6 {
			src, dst, alen = v6a, MulticastIPv6, 16
		}
		if a.Version == Version2 {
			a.Interval = time.Duration(interval%256) * time.Second
			a.AuthType = AuthType(auth)
			copy(a.AuthData[:], authData)
		} else {
			a.Interval = time.Duration(interval) * 10 * time.Millisecond
		}
		for k := 0; k+alen <= len(addrBytes) && len(a.Addrs) < 300; k += alen {
			ip, _ := netip.AddrFromSlice(addrBytes[k : k+alen])
			a.Addrs = append(a.Addrs, ip)
		}
		msg, err := a.Marshal(src, dst)
		if err != nil {
			return
		}
		back, err := Decode(msg, src, dst)
		if err != nil {
			t.Fatalf("Decode(Marshal(%+v)): %v", a, err)
		}
		if !equalAdvert(back, &a) {
			t.Fatalf("round trip\n %+v\nwant\n %+v", back, a)
		}
		sum := refChecksum(msg)
		if a.Version == Version3 {
			sum = refChecksum(pseudoHeader(src, dst, len(msg)), msg)
		}
		if sum != 0 {
			t.Fatalf("reference checksum %#04x over %x", sum, msg)
		}
		// Flip one bit outside the v3 reserved bits: decoding must fail or
		// give a different advert.
		bit := int(flip) % (len(msg) * 8)
		if a.Version == Version3 && bit/8 == 4 && bit%8 < 4 {
			return
		}
		bad := append([]byte(nil), msg...)
		bad[bit/8] ^= 0x80 >> (bit % 8)
		if got, err := Decode(bad, src, dst); err == nil && equalAdvert(got, &a) {
			t.Fatalf("bit %d flipped, still decodes to the same advert", bit)
		}
	})
}
