package keepalived

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"

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
// ports); words after the port are ignored; an entry it cannot read is
// skipped with a warning.
func (c *converter) groupEntry(n *Node) []*yaml.Node {
	port := "0"
	// keepalived's warning about an address it cannot read.
	invalid := "Invalid virtual server group IP address " + n.Key + "  - skipping"
	if len(n.Args) > 0 && strings.Trim(n.Args[0], "0") != "" {
		port = n.Args[0]
		invalid = "Invalid virtual server group IP address " + n.Key + " /port/" + port + " - skipping"
	}
	c.findExtraWords(n, 1)
	skipped := func(why string) []*yaml.Node {
		c.find(n, NotApplicable, fmt.Sprintf("keepalived 2.2.7 skips this entry (%q); so does the converted file", why))
		return nil
	}
	// keepalived reads the port before the address (inet_stosockaddr).
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return skipped(invalid)
	}
	e := readGroupEntry(n.Key, invalid)
	if e.skip != "" {
		return skipped(e.skip)
	}
	if e.note != "" {
		c.find(n, NotApplicable, e.note)
	}
	first, last := e.first, e.last
	if first.Is4In6() {
		c.find(n, Approximated, "keepalived 2.2.7 makes IPv6 services of an IPv4-mapped address; lbd reads it as the IPv4 address")
		first, last = first.Unmap(), last.Unmap()
	}
	var out []*yaml.Node
	for a, addrs := first, 0; ; {
		// The end of a's block: the last octet (IPv4) or group (IPv6).
		bs := a.AsSlice()
		bs[len(bs)-1] = 255
		if a.Is6() {
			bs[14] = 255
		}
		end, _ := netip.AddrFromSlice(bs)
		if last.Less(end) {
			end = last
		}
		if addrs += lastGroup(end) - lastGroup(a) + 1; addrs > maxGroupEntryAddrs {
			c.errorf(n, "virtual_server_group entry %s covers more than %d addresses, each an IPVS service in keepalived: "+
				"list the ones in use", n.Key, maxGroupEntryAddrs)
			return nil
		}
		host := a.String()
		switch {
		case a != end && a.Is4():
			host += "-" + strconv.Itoa(lastGroup(end))
		case a != end:
			host += "-" + strconv.FormatUint(uint64(lastGroup(end)), 16)
		}
		if a.Is6() {
			host = "[" + host + "]"
		}
		out = append(out, ystr(host+":"+port))
		if end == last {
			return out
		}
		a = end.Next()
	}
}

// lastGroup is a's last octet (IPv4) or 16-bit group (IPv6), the part
// lbd's short ranges vary.
func lastGroup(a netip.Addr) int {
	bs := a.AsSlice()
	if a.Is4() {
		return int(bs[3])
	}
	return int(bs[14])<<8 | int(bs[15])
}

// groupEntryAddrs is the address of a virtual_server_group entry as
// keepalived reads it: the addresses first to last; or skip, its warning
// for an entry it skips; note, a warning about an entry it keeps.
type groupEntryAddrs struct {
	first, last netip.Addr
	skip, note  string
}

// readGroupEntry reads the address of a virtual_server_group entry as
// keepalived 2.2.7 does (alloc_vsg_entry, inet_stor): a single address, a
// prefix "ADDRESS/MASK" (the network address through the last one: host
// bits must be clear), a range between two whole addresses "FIRST-LAST",
// or the short range "FIRST-END", END the last octet (decimal) or group
// (hex). invalid is keepalived's warning for an address it cannot read.
func readGroupEntry(key, invalid string) groupEntryAddrs {
	skip := func(why string) groupEntryAddrs { return groupEntryAddrs{skip: why} }
	if addr, mask, ok := strings.Cut(key, "/"); ok {
		a, err := netip.ParseAddr(addr)
		if err != nil || a.Zone() != "" {
			return skip(invalid)
		}
		bits, err := strconv.Atoi(mask)
		if err != nil || bits < 1 || bits > a.BitLen() {
			return skip("Invalid netmask - " + key + " - skipping")
		}
		if netip.PrefixFrom(a, bits).Masked().Addr() != a {
			return skip("Address mask bits not empty - " + key + " - skipping")
		}
		bs := a.AsSlice()
		for i := bits; i < len(bs)*8; i++ {
			bs[i/8] |= 0x80 >> (i % 8)
		}
		last, _ := netip.AddrFromSlice(bs)
		return groupEntryAddrs{first: a, last: last}
	}
	// keepalived reads the family off the whole entry (a ':' anywhere is
	// IPv6), and a range end of that family's form as a whole address.
	v6 := strings.Contains(key, ":")
	from, to, isRange := strings.Cut(key, "-")
	first, err := netip.ParseAddr(from)
	if err != nil || first.Zone() != "" || first.Is6() != v6 {
		return skip(invalid)
	}
	switch {
	case !isRange:
		return groupEntryAddrs{first: first, last: first}
	case !v6 && strings.Contains(to, ".") || v6 && strings.Contains(to, ":"):
		last, err := netip.ParseAddr(to)
		switch {
		case err != nil || last.Zone() != "" || last.Is6() != v6:
			return skip("Invalid range end " + key + " - skipping")
		case last.Less(first):
			return skip("Address range end is less than address range start - " + key + " - skipping")
		}
		return groupEntryAddrs{first: first, last: last}
	}
	// The short form, read as strtoul does: the leading digits count.
	base, limit := 10, uint64(255)
	if v6 {
		base, limit = 16, 0xffff
	}
	digitSet := "0123456789"
	if v6 {
		digitSet += "abcdefABCDEF"
	}
	digits := len(to) - len(strings.TrimLeft(to, digitSet))
	var end uint64
	if digits > 0 {
		end, err = strconv.ParseUint(to[:digits], base, 64)
	}
	var e groupEntryAddrs
	switch {
	case err != nil || end > limit:
		return skip("Virtual server group range '" + key + "' end '" + to + "' too large")
	case digits < len(to):
		// keepalived -t skips the entry; the daemon reads the range.
		e.note = fmt.Sprintf("keepalived 2.2.7 warns \"Virtual server group range '%s' has extra characters at end '%s'\" "+
			"and reads the range up to %s (keepalived -t skips the entry); so does the converted file", key, to[digits:], to[:digits])
	}
	bs := first.AsSlice()
	start := uint64(bs[len(bs)-1])
	if v6 {
		start = uint64(bs[14])<<8 | start
		bs[14], bs[15] = byte(end>>8), byte(end)
	} else {
		bs[3] = byte(end)
	}
	if start >= end {
		return skip("Address range end is not greater than address range start - " + key + " - skipping")
	}
	e.first = first
	e.last, _ = netip.AddrFromSlice(bs)
	return e
}
