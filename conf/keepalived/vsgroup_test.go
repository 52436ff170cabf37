package keepalived

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lbd-project/lbd/conf"
)

// vsgFile is a virtual_server_group with entries and a persistent NAT
// virtual server using it (port 0 entries need persistence), with a real
// server of the first entry's family (IPv4 for an IPv4-mapped address,
// as lbd reads it).
func vsgFile(entries ...string) string {
	rs := "203.0.113.1"
	if addr, _, _ := strings.Cut(entries[0], " "); strings.Contains(addr, ":") && !strings.HasPrefix(addr, "::ffff:") {
		rs = "2001:db8:1::1"
	}
	return "virtual_server_group G {\n " + strings.Join(entries, "\n ") + "\n}\n" +
		"virtual_server group G {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n persistence_timeout 60\n" +
		" real_server " + rs + " 80 {\n  TCP_CHECK {\n  }\n }\n}\n"
}

// groupAddrs lists the group's ranges as lbd reads them.
func groupAddrs(c *conf.Config) string {
	var out []string
	for _, r := range c.VirtualServerGroups[0].Addresses {
		s := r.First.String()
		if r.Last != r.First {
			s += ".." + r.Last.String()
		}
		out = append(out, fmt.Sprintf("%s:%d", s, r.Port))
	}
	return strings.Join(out, " ")
}

// TestImportGroupEntries: the forms of virtual_server_group entries that
// keepalived 2.2.7 accepts (alloc_vsg_entry; each checked with keepalived
// -t, which says nothing about them) convert to the same addresses and
// ports: prefixes and ranges between whole addresses, split at the last
// octet or group as lbd's ranges are; a missing port or one of zeros is
// port 0; words after the port are ignored.
func TestImportGroupEntries(t *testing.T) {
	for _, c := range []struct{ entry, want string }{
		{"192.0.2.0/30 80", "192.0.2.0..192.0.2.3:80"},
		{"192.0.2.7/32 80", "192.0.2.7:80"},
		{"192.0.2.0/23 80", "192.0.2.0..192.0.2.255:80 192.0.3.0..192.0.3.255:80"},
		{"192.0.2.250-192.0.3.2 80", "192.0.2.250..192.0.2.255:80 192.0.3.0..192.0.3.2:80"},
		{"192.0.2.8-192.0.2.8 80", "192.0.2.8:80"},
		{"192.0.2.10-20 80", "192.0.2.10..192.0.2.20:80"},
		{"192.0.2.10", "192.0.2.10:0"},
		{"192.0.2.10 000", "192.0.2.10:0"},
		{"192.0.2.10 443 tls", "192.0.2.10:443"},
		{"2001:db8::/126 443", "2001:db8::..2001:db8::3:443"},
		{"2001:db8::fffe-2001:db8::1:1 443", "2001:db8::fffe..2001:db8::ffff:443 2001:db8::1:0..2001:db8::1:1:443"},
	} {
		_, cfg := convertValid(t, vsgFile(c.entry))
		if got := groupAddrs(cfg); got != c.want {
			t.Errorf("%q: %s, want %s", c.entry, got, c.want)
		}
	}
}

// TestImportGroupEntriesSkipped: entries keepalived 2.2.7 skips with a
// warning (its words, from keepalived -t) are left out, with a finding at
// their line; the rest of the group converts.
func TestImportGroupEntriesSkipped(t *testing.T) {
	for _, c := range []struct{ entry, warning string }{
		{"192.0.2.17/28 80", "Address mask bits not empty - 192.0.2.17/28 - skipping"},
		{"192.0.2.32/0 80", "Invalid netmask - 192.0.2.32/0 - skipping"},
		{"192.0.2.32/33 80", "Invalid netmask - 192.0.2.32/33 - skipping"},
		{"192.0.2.9-192.0.2.8 80", "Address range end is less than address range start - 192.0.2.9-192.0.2.8 - skipping"},
		{"192.0.2.9-2001:db8::1 80", "Invalid virtual server group IP address 192.0.2.9-2001:db8::1 /port/80 - skipping"},
		{"192.0.2.10-10 80", "Address range end is not greater than address range start - 192.0.2.10-10 - skipping"},
		{"192.0.2.300 80", "Invalid virtual server group IP address 192.0.2.300 /port/80 - skipping"},
		{"192.0.2.300", "Invalid virtual server group IP address 192.0.2.300  - skipping"},
		{"192.0.2.10-5 80", "Address range end is not greater than address range start - 192.0.2.10-5 - skipping"},
		{"2001:db8::ff-1 80", "Address range end is not greater than address range start - 2001:db8::ff-1 - skipping"},
		{"192.0.2.10-300 80", "Virtual server group range '192.0.2.10-300' end '300' too large"},
	} {
		first := "192.0.2.1 80"
		if strings.HasPrefix(c.entry, "2001:") {
			first = "2001:db8::1 80"
		}
		res, cfg := convertValid(t, vsgFile(first, c.entry))
		if !hasFinding(res.Findings, 3, c.warning) {
			t.Errorf("%q: no finding at line 3 saying %q:\n%s", c.entry, c.warning, Report(res.Findings))
		}
		if got, want := groupAddrs(cfg), strings.Replace(first, " ", ":", 1); got != want {
			t.Errorf("%q: group %s, want only the valid entry", c.entry, got)
		}
	}
}

// TestImportGroupEntryKept: entries keepalived 2.2.7 keeps with a
// warning, or reads otherwise than lbd would, convert as the daemon runs
// them, with a finding.
func TestImportGroupEntryKept(t *testing.T) {
	for _, c := range []struct{ entry, want, finding string }{
		// keepalived -t: "Virtual server group range '192.0.2.10-20x' has
		// extra characters at end 'x'" (and skips it); the daemon, with
		// "WARNING - " in front, reads 10-20 (inet_stor).
		{"192.0.2.10-20x 80", "192.0.2.10..192.0.2.20:80", "has extra characters at end 'x'\" and reads the range up to 20"},
		// keepalived makes IPv6 services of these; lbd reads IPv4.
		{"::ffff:192.0.2.0/120 80", "192.0.2.0..192.0.2.255:80", "IPv4-mapped"},
		{"::ffff:192.0.2.7 80", "192.0.2.7:80", "IPv4-mapped"},
	} {
		res, cfg := convertValid(t, vsgFile(c.entry))
		if got := groupAddrs(cfg); got != c.want {
			t.Errorf("%q: %s, want %s", c.entry, got, c.want)
		}
		if r := Report(res.Findings); !strings.Contains(r, c.finding) {
			t.Errorf("%q: findings\n%s\nwant %q", c.entry, r, c.finding)
		}
	}
}

// TestImportGroupEntryTooWide: a prefix of more than 65,536 addresses,
// each an IPVS service in keepalived, is refused at its line.
func TestImportGroupEntryTooWide(t *testing.T) {
	for _, entry := range []string{"10.0.0.0/8 80", "2001:db8::/64 443"} {
		_, err := convertString(t, vsgFile(entry))
		if err == nil || !strings.Contains(err.Error(), "k.conf:2:") || !strings.Contains(err.Error(), "more than 65536 addresses") {
			t.Errorf("%q: error %v, want one at line 2 about its size", entry, err)
		}
	}
	// 65,536 exactly (a /16) is converted.
	_, cfg := convertValid(t, vsgFile("10.1.0.0/16 80"))
	if n := len(cfg.VirtualServerGroups[0].Addresses); n != 256 {
		t.Errorf("/16: %d ranges, want 256", n)
	}
}
