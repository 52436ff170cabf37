package ipvsadm

import "encoding/binary"

// This file reproduces the order of ipvsadm's listings: its comparators
// (which subtract unsigned values and keep the wrapped int result) run
// through glibc's qsort, a top-down merge sort. With such comparators the
// order depends on the algorithm, so both are copied.

// mergeSort sorts s as glibc's msort_with_tmp does.
func mergeSort[T any](s []T, cmp func(a, b *T) int) {
	tmp := make([]T, len(s))
	msort(s, tmp, cmp)
}

func msort[T any](b, tmp []T, cmp func(a, b *T) int) {
	n := len(b)
	if n <= 1 {
		return
	}
	n1 := n / 2
	b1, b2 := b[:n1], b[n1:]
	msort(b1, tmp, cmp)
	msort(b2, tmp, cmp)
	i, j, k := 0, 0, 0
	for i < len(b1) && j < len(b2) {
		if cmp(&b1[i], &b2[j]) <= 0 {
			tmp[k] = b1[i]
			i++
		} else {
			tmp[k] = b2[j]
			j++
		}
		k++
	}
	k += copy(tmp[k:], b1[i:])
	// The rest of b2 is already in place.
	copy(b, tmp[:k])
}

// word returns the i-th 32-bit word of a union nf_inet_addr in host order
// (ntohl of s6_addr32[i]; word 0 is the IPv4 address).
func word(a *[16]byte, i int) uint32 { return binary.BigEndian.Uint32(a[4*i:]) }

// cmpAddrPort is the address and port comparison that ends both of
// ipvsadm's comparators: words subtracted as unsigned, kept as int32.
func cmpAddrPort(af int, a, b *[16]byte, pa, pb uint16) int {
	var r int32
	if af == afInet6 {
		for i := 0; r == 0 && i < 4; i++ {
			r = int32(word(a, i) - word(b, i))
		}
	} else {
		r = int32(word(a, 0) - word(b, 0))
	}
	if r != 0 {
		return int(r)
	}
	return int(pa) - int(pb)
}

// cmpServices is ipvs_cmp_services.
func cmpServices(s1, s2 *svcEntry) int {
	a, b := &s1.svc, &s2.svc
	if r := int32(a.fwmark - b.fwmark); r != 0 {
		return int(r)
	}
	if r := a.af - b.af; r != 0 {
		return r
	}
	if r := int(a.protocol) - int(b.protocol); r != 0 {
		return r
	}
	return cmpAddrPort(a.af, &a.addr, &b.addr, a.port, b.port)
}

// cmpDests is ipvs_cmp_dests.
func cmpDests(d1, d2 *destEntry) int {
	a, b := &d1.dest, &d2.dest
	return cmpAddrPort(a.af, &a.addr, &b.addr, a.port, b.port)
}
