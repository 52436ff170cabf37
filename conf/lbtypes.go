package conf

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/lbd-project/lbd/healthcheck"
)

// HostPort is an address with an optional port: "192.0.2.15",
// "192.0.2.15:8080", "2001:db8::15", "[2001:db8::15]:8080".
type HostPort struct {
	Addr netip.Addr
	Port uint16
	// HasPort reports whether a port was written.
	HasPort bool
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *HostPort) UnmarshalText(b []byte) error {
	s := string(b)
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil && (!strings.HasPrefix(s, "[") || strings.HasSuffix(s, "]")) {
		if a.Zone() != "" {
			return fmt.Errorf("address %q: zones are not supported here", s)
		}
		*h = HostPort{Addr: a.Unmap()}
		return nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return fmt.Errorf("invalid address[:port] %q (e.g. 192.0.2.15:80 or [2001:db8::15]:80)", s)
	}
	if ap.Addr().Zone() != "" {
		return fmt.Errorf("address %q: zones are not supported here", s)
	}
	*h = HostPort{Addr: ap.Addr().Unmap(), Port: ap.Port(), HasPort: true}
	return nil
}

// String returns "addr" or "addr:port".
func (h HostPort) String() string {
	if !h.HasPort {
		return h.Addr.String()
	}
	return netip.AddrPortFrom(h.Addr, h.Port).String()
}

// MarshalText writes the String form.
func (h HostPort) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// AddrRange is a virtual_server_group entry: an address or a range of the
// last IPv4 octet or IPv6 group, with a port: "192.0.2.10-20:80",
// "[2001:db8::10-1f]:443", "192.0.2.10:80".
type AddrRange struct {
	First, Last netip.Addr
	Port        uint16
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *AddrRange) UnmarshalText(b []byte) error {
	s := string(b)
	bad := func(why string) error {
		return fmt.Errorf("invalid address range %q: %s (e.g. 192.0.2.10-20:80 or [2001:db8::10-1f]:443)", s, why)
	}
	var host, port string
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]:")
		if end < 0 {
			return bad("a port is required")
		}
		host, port = s[1:end], s[end+2:]
	} else {
		i := strings.LastIndexByte(s, ':')
		if i < 0 {
			return bad("a port is required")
		}
		host, port = s[:i], s[i+1:]
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return bad("bad port")
	}
	first, last, isRange := strings.Cut(host, "-")
	a, err := netip.ParseAddr(first)
	if err != nil || a.Zone() != "" {
		return bad("bad address")
	}
	a = a.Unmap()
	end := a
	if isRange {
		base := 10
		if a.Is6() {
			base = 16
		}
		n, err := strconv.ParseUint(last, base, 16)
		if err != nil {
			return bad("the range end is the last octet (IPv4, decimal) or group (IPv6, hex)")
		}
		bs := a.AsSlice()
		switch {
		case a.Is4() && n <= 255:
			bs[3] = byte(n)
		case a.Is6():
			bs[14], bs[15] = byte(n>>8), byte(n)
		default:
			return bad("range end above 255")
		}
		end, _ = netip.AddrFromSlice(bs)
		if end.Less(a) {
			return bad("range end below its start")
		}
	}
	*r = AddrRange{First: a, Last: end, Port: uint16(p)}
	return nil
}

// Addrs lists the addresses of the range in order.
func (r AddrRange) Addrs() []netip.Addr {
	var out []netip.Addr
	for a := r.First; a.IsValid() && !r.Last.Less(a); a = a.Next() {
		out = append(out, a)
	}
	return out
}

// Netmask is a persistence granularity: a dotted IPv4 netmask or a prefix
// length.
type Netmask struct {
	// Bits is the prefix length.
	Bits int
	// Dotted reports an IPv4 dotted netmask.
	Dotted bool
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *Netmask) UnmarshalText(b []byte) error {
	s := string(b)
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > 128 {
			return fmt.Errorf("prefix length %d out of range", n)
		}
		*m = Netmask{Bits: n}
		return nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return fmt.Errorf("invalid netmask %q (a dotted IPv4 mask or a prefix length)", s)
	}
	v := uint32(a.As4()[0])<<24 | uint32(a.As4()[1])<<16 | uint32(a.As4()[2])<<8 | uint32(a.As4()[3])
	bits := 0
	for v&(1<<31) != 0 {
		bits++
		v <<= 1
	}
	if v != 0 {
		return fmt.Errorf("netmask %q is not contiguous", s)
	}
	*m = Netmask{Bits: bits, Dotted: true}
	return nil
}

// StatusRange is an HTTP status code or range, "200" or "200-299".
type StatusRange struct{ healthcheck.StatusRange }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *StatusRange) UnmarshalText(b []byte) error {
	rs, err := healthcheck.ParseStatusRanges(string(b))
	if err != nil {
		return fmt.Errorf("invalid status code %q (100..999, or a range like 200-299)", b)
	}
	r.StatusRange = rs[0]
	return nil
}
