package ipvsadm

import (
	"encoding/binary"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// This file holds the libc conversions ipvsadm relies on, reimplemented so
// that ipvsctl accepts and prints exactly what ipvsadm does.

// isCSpace is C's isspace in the "C" locale.
func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// strtol parses s like C's strtol(s, &end, 10): leading white space, an
// optional sign, then decimal digits. ok reports that digits were found
// and the whole string was consumed; overflow reports ERANGE.
func strtol(s string) (n int64, ok, overflow bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var v uint64
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if v <= math.MaxInt64 {
			v = v*10 + uint64(s[i]-'0')
		}
		i++
	}
	if i == start {
		return 0, false, false
	}
	switch {
	case !neg && v > math.MaxInt64:
		n, overflow = math.MaxInt64, true
	case neg && v > 1<<63:
		n, overflow = math.MinInt64, true
	case neg:
		n = -int64(v)
	default:
		n = int64(v)
	}
	return n, i == len(s), overflow
}

// stringToNumber is ipvsadm's string_to_number: the value if s is a whole
// decimal number within [min, max], else -1.
func stringToNumber(s string, min, max int64) int64 {
	n, ok, overflow := strtol(s)
	if !ok || overflow || n < min || n > max {
		return -1
	}
	return n
}

// atoi is C's atoi: strtol without error checking, truncated to int.
func atoi(s string) int32 {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	j := i
	if j < len(s) && (s[j] == '+' || s[j] == '-') {
		j++
	}
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	n, _, _ := strtol(s[i:j])
	return int32(n)
}

// strIsDigit is ipvsadm's str_is_digit: true for "" and all-digit strings.
func strIsDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// inetAton parses an IPv4 address the way glibc's inet_aton does: one to
// four parts in decimal, octal (leading 0) or hex (0x), the last part
// filling the remaining bytes, optionally followed by white space.
func inetAton(s string) (netip.Addr, bool) {
	var parts []uint64
	i := 0
	for {
		if i >= len(s) || !(s[i] >= '0' && s[i] <= '9') {
			return netip.Addr{}, false
		}
		base := uint64(10)
		if s[i] == '0' {
			base = 8
			i++
			if i+1 < len(s) && (s[i] == 'x' || s[i] == 'X') && isHex(s[i+1]) {
				base = 16
				i++
			}
		}
		var v uint64
		for i < len(s) {
			c := s[i]
			var d uint64
			switch {
			case c >= '0' && c <= '9':
				d = uint64(c - '0')
				if base == 8 && d >= 8 {
					return netip.Addr{}, false
				}
			case base == 16 && c >= 'a' && c <= 'f':
				d = uint64(c-'a') + 10
			case base == 16 && c >= 'A' && c <= 'F':
				d = uint64(c-'A') + 10
			default:
				goto done
			}
			v = v*base + d
			if v > math.MaxUint32 {
				return netip.Addr{}, false
			}
			i++
		}
	done:
		parts = append(parts, v)
		if i < len(s) && s[i] == '.' {
			if len(parts) == 4 {
				return netip.Addr{}, false
			}
			i++
			continue
		}
		break
	}
	if i < len(s) && !isCSpace(s[i]) {
		return netip.Addr{}, false
	}
	var v uint32
	last := parts[len(parts)-1]
	for k, p := range parts[:len(parts)-1] {
		if p > 0xff {
			return netip.Addr{}, false
		}
		v |= uint32(p) << (24 - 8*k)
	}
	if last > math.MaxUint32>>(8*(len(parts)-1)) {
		return netip.Addr{}, false
	}
	v |= uint32(last)
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b), true
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// inetPton6 parses an IPv6 address as glibc's inet_pton(AF_INET6) does:
// no zone, no brackets. An IPv4-mapped address stays a 16-byte address.
func inetPton6(s string) (netip.Addr, bool) {
	if strings.ContainsAny(s, "%") || !strings.Contains(s, ":") {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() {
		return netip.Addr{}, false
	}
	return a, true
}

// inetPton4 parses a strict dotted quad as inet_pton(AF_INET) does.
func inetPton4(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Addr{}, false
	}
	return a, true
}

// ntop formats an address as glibc's inet_ntop: dotted quad for IPv4, and
// for IPv6 the longest run (first on ties, at least two words) of zero
// words compressed, with a dotted tail for IPv4-compatible (::a.b.c.d) and
// IPv4-mapped (::ffff:a.b.c.d) addresses.
func ntop(a netip.Addr) string {
	if a.Is4() {
		return a.String()
	}
	b := a.As16()
	var w [8]int
	for i := range w {
		w[i] = int(b[2*i])<<8 | int(b[2*i+1])
	}
	bestBase, bestLen, curBase, curLen := -1, 0, -1, 0
	for i := 0; i < 8; i++ {
		if w[i] == 0 {
			if curBase == -1 {
				curBase, curLen = i, 1
			} else {
				curLen++
			}
			continue
		}
		if curBase != -1 {
			if bestBase == -1 || curLen > bestLen {
				bestBase, bestLen = curBase, curLen
			}
			curBase = -1
		}
	}
	if curBase != -1 && (bestBase == -1 || curLen > bestLen) {
		bestBase, bestLen = curBase, curLen
	}
	if bestBase != -1 && bestLen < 2 {
		bestBase = -1
	}
	var sb strings.Builder
	for i := 0; i < 8; i++ {
		if bestBase != -1 && i >= bestBase && i < bestBase+bestLen {
			if i == bestBase {
				sb.WriteByte(':')
			}
			continue
		}
		if i != 0 {
			sb.WriteByte(':')
		}
		if i == 6 && bestBase == 0 && (bestLen == 6 || (bestLen == 5 && w[5] == 0xffff)) {
			sb.WriteString(netip.AddrFrom4([4]byte(b[12:16])).String())
			break
		}
		sb.WriteString(strconv.FormatInt(int64(w[i]), 16))
	}
	if bestBase != -1 && bestBase+bestLen == 8 {
		sb.WriteByte(':')
	}
	return sb.String()
}
