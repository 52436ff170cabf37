package keepalived

import (
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"strconv"
	"strings"

	"github.com/lbd-project/lbd/conf"
	"go.yaml.in/yaml/v3"
)

// maxGroupEntryAddrs bounds the addresses one virtual_server_group entry
// may cover: keepalived makes an IPVS service of each, and a wider prefix
// (a /8, an IPv6 /64) is a typing error sooner than millions of services.
const maxGroupEntryAddrs = 65536

func (c *converter) vsGroup(g *Node) {
	if !c.args(g, 1, 1) {
		return
	}
	if _, ok := c.groupNodes[g.Args[0]]; ok {
		c.find(g, NotApplicable, "virtual_server_group "+g.Args[0]+" is defined twice: keepalived 2.2.7 keeps both "+
			"and uses the first for every virtual_server group "+g.Args[0]+"; the converted file drops this one")
		return
	}
	m := newMap()
	c.src[m.n] = g.Pos
	m.comment(g.Comments)
	m.set("name", ystr(g.Args[0]))
	var addrs, marks []*yaml.Node
	for _, n := range g.Children {
		if n.Key == "fwmark" {
			if v, ok := c.intArg(n, 0, 1, math.MaxUint32); ok {
				marks = append(marks, yint(v))
			}
			continue
		}
		addrs = append(addrs, c.groupEntry(n)...)
	}
	if len(addrs) > 0 {
		m.set("addresses", yseq(addrs...))
	}
	if len(marks) > 0 {
		m.set("fwmarks", yflow(marks...))
	}
	c.groupNodes[g.Args[0]] = m
	c.vsGroups = append(c.vsGroups, m.n)
}

// groupEntry converts one address entry of a virtual_server_group,
// "ADDRESS[/MASK|-END|-LAST] [PORT]", into lbd's ranges, which span at
// most the last IPv4 octet or IPv6 group each. As in keepalived 2.2.7
// (alloc_vsg_entry): a missing port, or one of zeros, is port 0 (all
// ports); words after the port are ignored; a prefix with host bits set,
// a bad mask and a range that ends before it starts are skipped with a
// warning.
func (c *converter) groupEntry(n *Node) []*yaml.Node {
	port := "0"
	// keepalived's warning about an address it cannot read.
	invalid := "Invalid virtual server group IP address " + n.Key + " - skipping"
	if len(n.Args) > 0 && strings.Trim(n.Args[0], "0") != "" {
		port = n.Args[0]
		invalid = "Invalid virtual server group IP address " + n.Key + " /port/" + port + " - skipping"
	}
	c.findExtraWords(n, 1)
	skipped := func(why string) []*yaml.Node {
		c.find(n, NotApplicable, fmt.Sprintf("keepalived 2.2.7 skips this entry (%q); so does the converted file", why))
		return nil
	}
	first, last, skip := groupEntryRange(n.Key, invalid)
	if skip != "" {
		return skipped(skip)
	}
	if !first.IsValid() {
		// A single address or the short form ("192.0.2.10-20"), which
		// lbd reads as it is.
		r, ar, err := groupRange(n.Key, port)
		if err != nil {
			return skipped(invalid)
		}
		if strings.Contains(n.Key, "-") && ar.First == ar.Last {
			return skipped("Address range end is not greater than address range start - " + n.Key + " - skipping")
		}
		return []*yaml.Node{r}
	}
	bits := first.BitLen()
	count := new(big.Int).Sub(new(big.Int).SetBytes(last.AsSlice()), new(big.Int).SetBytes(first.AsSlice()))
	if count.Cmp(big.NewInt(maxGroupEntryAddrs-1)) > 0 {
		c.errorf(n, "virtual_server_group entry %s covers more than %d addresses, each an IPVS service in keepalived: "+
			"list the ones in use", n.Key, maxGroupEntryAddrs)
		return nil
	}
	var out []*yaml.Node
	for a := first; ; {
		// The end of a's block: the last octet (IPv4) or group (IPv6).
		bs := a.AsSlice()
		if bits == 32 {
			bs[3] = 255
		} else {
			bs[14], bs[15] = 255, 255
		}
		end, _ := netip.AddrFromSlice(bs)
		if last.Less(end) {
			end = last
		}
		host := a.String()
		if a != end {
			lb := end.AsSlice()
			if bits == 32 {
				host += "-" + strconv.Itoa(int(lb[3]))
			} else {
				host += "-" + strconv.FormatUint(uint64(lb[14])<<8|uint64(lb[15]), 16)
			}
		}
		r, _, err := groupRange(host, port)
		if err != nil {
			return skipped(invalid)
		}
		out = append(out, r)
		if end == last {
			return out
		}
		a = end.Next()
	}
}

// groupRange is one lbd range of host (an address or lbd's short range)
// and port, checked by lbd's own parser.
func groupRange(host, port string) (*yaml.Node, conf.AddrRange, error) {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	s := host + ":" + port
	var r conf.AddrRange
	if err := r.UnmarshalText([]byte(s)); err != nil {
		return nil, r, err
	}
	return ystr(s), r, nil
}

// groupEntryRange reads the address of a virtual_server_group entry as
// keepalived 2.2.7 does: a prefix "ADDRESS/MASK" (the network address
// through the last one: host bits must be clear) or a range between two
// whole addresses "FIRST-LAST". It returns keepalived's warning for an
// entry it skips (invalid for an address it cannot read), and no
// addresses for the other forms, a single address or the short range
// "192.0.2.10-20".
func groupEntryRange(key, invalid string) (first, last netip.Addr, skip string) {
	if addr, mask, ok := strings.Cut(key, "/"); ok {
		a, err := netip.ParseAddr(addr)
		if err != nil || a.Zone() != "" {
			return first, last, invalid
		}
		bits, err := strconv.Atoi(mask)
		if err != nil || bits < 1 || bits > a.BitLen() {
			return first, last, "Invalid netmask - " + key + " - skipping"
		}
		if netip.PrefixFrom(a, bits).Masked().Addr() != a {
			return first, last, "Address mask bits not empty - " + key + " - skipping"
		}
		bs := a.AsSlice()
		for i := bits; i < len(bs)*8; i++ {
			bs[i/8] |= 0x80 >> (i % 8)
		}
		last, _ = netip.AddrFromSlice(bs)
		return a, last, ""
	}
	// keepalived reads the family off the whole entry (a ':' anywhere is
	// IPv6), and a range end of that family's form as a whole address.
	v6 := strings.Contains(key, ":")
	from, to, ok := strings.Cut(key, "-")
	if !ok || !v6 && !strings.Contains(to, ".") || v6 && !strings.Contains(to, ":") {
		return first, last, ""
	}
	first, err1 := netip.ParseAddr(from)
	last, err2 := netip.ParseAddr(to)
	switch {
	case err1 != nil || first.Zone() != "" || first.Is6() != v6:
		return netip.Addr{}, netip.Addr{}, invalid
	case err2 != nil || last.Zone() != "" || last.Is6() != v6:
		return netip.Addr{}, netip.Addr{}, "Invalid range end " + key + " - skipping"
	case last.Less(first):
		return netip.Addr{}, netip.Addr{}, "Address range end is less than address range start - " + key + " - skipping"
	}
	return first, last, ""
}
