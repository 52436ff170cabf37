package healthcheck

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// dnsResponder answers queries like a tiny authoritative server: rcode for
// every query, plus one answer record for A queries when rcode is success.
// Queries it cannot parse get no answer.
func dnsResponder(rcode dnsmessage.RCode) func([]byte) []byte {
	return func(b []byte) []byte {
		var p dnsmessage.Parser
		h, err := p.Start(b)
		if err != nil {
			return nil
		}
		q, err := p.Question()
		if err != nil {
			return nil
		}
		rb := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, RCode: rcode, RecursionDesired: h.RecursionDesired})
		rb.EnableCompression()
		rb.StartQuestions()
		rb.Question(q)
		rb.StartAnswers()
		if rcode == dnsmessage.RCodeSuccess && q.Type == dnsmessage.TypeA {
			rb.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: [4]byte{192, 0, 2, 1}})
		}
		out, err := rb.Finish()
		if err != nil {
			return nil
		}
		return out
	}
}

func TestDNSChecker(t *testing.T) {
	ok := udpServer(t, dnsResponder(dnsmessage.RCodeSuccess))
	nx := udpServer(t, dnsResponder(dnsmessage.RCodeNameError))
	silent := udpServer(t, func([]byte) []byte { return nil })
	wrongID := udpServer(t, func(b []byte) []byte {
		r := dnsResponder(dnsmessage.RCodeSuccess)(b)
		if r != nil {
			r[0] ^= 0xff
		}
		return r
	})
	query := udpServer(t, func(b []byte) []byte { return b }) // echoes the query: QR clear
	closed := closedUDPPort(t)
	tests := []struct {
		name   string
		c      DNSChecker
		ok     bool
		reason string
	}{
		{"default SOA for root", DNSChecker{Dest: Dest{Addr: ok}}, true, "NOERROR, 0 answers"},
		{"A with answer", DNSChecker{Dest: Dest{Addr: ok}, Type: dnsmessage.TypeA, Name: "www.example.com"}, true, "NOERROR, 1 answers"},
		{"NXDOMAIN fails", DNSChecker{Dest: Dest{Addr: nx}, Name: "nope.example."}, false, "rcode NXDOMAIN (3)"},
		{"no reply", DNSChecker{Dest: Dest{Addr: silent}}, false, "receive: timeout"},
		{"wrong ID ignored", DNSChecker{Dest: Dest{Addr: wrongID}}, false, "receive: timeout (ignored: ID"},
		{"query echo ignored", DNSChecker{Dest: Dest{Addr: query}}, false, "(ignored: not a response)"},
		{"closed port", DNSChecker{Dest: Dest{Addr: closed}}, false, "port unreachable"},
		{"bad name", DNSChecker{Dest: Dest{Addr: ok}, Name: strings.Repeat("a", 70) + ".com"}, false, "invalid query name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := tt.c.Check(ctxTimeout(t, 300*time.Millisecond))
			if res.OK != tt.ok || !strings.Contains(res.Reason, tt.reason) {
				t.Errorf("got ok=%v %q, want ok=%v %q", res.OK, res.Reason, tt.ok, tt.reason)
			}
		})
	}
}

func TestDNSCheckerString(t *testing.T) {
	c := &DNSChecker{Dest: Dest{Addr: netip.MustParseAddrPort("192.0.2.1:53")}, Type: dnsmessage.TypeMX, Name: "example.org"}
	if got, want := c.String(), "DNS_CHECK 192.0.2.1:53 MX example.org."; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for _, s := range []string{"a", "NS", "cname", "Soa", "MX", "txt", "AAAA"} {
		if _, err := ParseDNSType(s); err != nil {
			t.Errorf("ParseDNSType(%q): %v", s, err)
		}
	}
	if _, err := ParseDNSType("PTR"); err == nil {
		t.Error("ParseDNSType(PTR) accepted")
	}
}

// FuzzParseDNSReply checks that any datagram is judged without panicking,
// and that a pass or fail verdict is only given to a well-formed response
// header carrying our ID, agreeing with dnsmessage's own header parser.
func FuzzParseDNSReply(f *testing.F) {
	for _, rc := range []dnsmessage.RCode{dnsmessage.RCodeSuccess, dnsmessage.RCodeNameError} {
		for _, typ := range []dnsmessage.Type{dnsmessage.TypeA, dnsmessage.TypeSOA} {
			q, _ := buildDNSQuery(0x1234, "example.com.", typ)
			f.Add(dnsResponder(rc)(q), uint16(0x1234))
		}
	}
	q, _ := buildDNSQuery(7, ".", dnsmessage.TypeSOA)
	f.Add(q, uint16(7))
	f.Add([]byte{0x12, 0x34, 0x80}, uint16(0x1234))
	f.Add([]byte{}, uint16(0))
	f.Fuzz(func(t *testing.T, b []byte, id uint16) {
		v, reason := parseDNSReply(b, id)
		if reason == "" {
			t.Fatal("empty reason")
		}
		if v == dnsIgnore {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(b)
		if err != nil || h.ID != id || !h.Response {
			t.Fatalf("verdict %d for %x (header %+v, %v)", v, b, h, err)
		}
		if (v == dnsPass) != (h.RCode == dnsmessage.RCodeSuccess) {
			t.Fatalf("verdict %d for rcode %v", v, h.RCode)
		}
	})
}
