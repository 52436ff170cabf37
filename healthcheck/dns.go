package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// DNSDefaultRetry is keepalived's retry default for DNS_CHECK (3, where
// other checkers use 1). keepalived also makes delay_before_retry default
// to delay_loop for DNS_CHECK; the configuration layer sets both.
const DNSDefaultRetry = 3

// DNSChecker is keepalived's DNS_CHECK: one query over UDP (recursion
// desired, random ID), and the server is up when a response with the same
// ID and RCODE 0 (NOERROR) arrives before the deadline. As in keepalived,
// the answer section is not required to hold anything: an empty NOERROR
// reply passes. Datagrams that are too short, carry another ID or are not
// responses are ignored and the wait goes on; an ICMP port unreachable
// fails at once.
type DNSChecker struct {
	// Dest is the server; only Addr, ConnectIP, ConnectPort, BindTo,
	// BindPort and FWMark apply.
	Dest Dest
	// Type is the query type (type): A, NS, CNAME, SOA, MX, TXT or AAAA;
	// zero means SOA, keepalived's default.
	Type dnsmessage.Type
	// Name is the query name (name); empty means ".", keepalived's default.
	// A missing final dot is added.
	Name string
}

// dnsTypes are the query types keepalived accepts.
var dnsTypes = map[string]dnsmessage.Type{
	"A": dnsmessage.TypeA, "NS": dnsmessage.TypeNS, "CNAME": dnsmessage.TypeCNAME,
	"SOA": dnsmessage.TypeSOA, "MX": dnsmessage.TypeMX, "TXT": dnsmessage.TypeTXT,
	"AAAA": dnsmessage.TypeAAAA,
}

// ParseDNSType parses keepalived's DNS_CHECK type names, case-insensitively.
// (keepalived logs an unknown type and falls back to SOA; lbd reports it.)
func ParseDNSType(s string) (dnsmessage.Type, error) {
	if t, ok := dnsTypes[strings.ToUpper(s)]; ok {
		return t, nil
	}
	return 0, fmt.Errorf("healthcheck: unknown DNS_CHECK type %q (want A, NS, CNAME, SOA, MX, TXT or AAAA)", s)
}

// query returns the query name and type with defaults applied.
func (c *DNSChecker) query() (string, dnsmessage.Type) {
	name, typ := c.Name, c.Type
	if name == "" {
		name = "."
	}
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	if typ == 0 {
		typ = dnsmessage.TypeSOA
	}
	return name, typ
}

// buildDNSQuery encodes a recursive query for name/typ with the given ID.
func buildDNSQuery(id uint16, name string, typ dnsmessage.Type) ([]byte, error) {
	n, err := dnsmessage.NewName(name)
	if err != nil {
		return nil, err
	}
	b := dnsmessage.NewBuilder(make([]byte, 0, 64), dnsmessage.Header{ID: id, RecursionDesired: true})
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(dnsmessage.Question{Name: n, Type: typ, Class: dnsmessage.ClassINET}); err != nil {
		return nil, err
	}
	return b.Finish()
}

// dnsVerdict is what one received datagram means for a DNS check.
type dnsVerdict int

const (
	dnsIgnore dnsVerdict = iota // not our response: keep waiting
	dnsPass                     // our response, NOERROR
	dnsFail                     // our response, an error RCODE
)

// parseDNSReply judges one datagram received for a query with ID id, as
// keepalived does: only the header counts. It returns a reason for logs.
func parseDNSReply(b []byte, id uint16) (dnsVerdict, string) {
	var p dnsmessage.Parser
	h, err := p.Start(b)
	if err != nil {
		return dnsIgnore, "short datagram"
	}
	if h.ID != id {
		return dnsIgnore, fmt.Sprintf("ID %#04x, want %#04x", h.ID, id)
	}
	if !h.Response {
		return dnsIgnore, "not a response"
	}
	if h.RCode != dnsmessage.RCodeSuccess {
		return dnsFail, "rcode " + rcodeName(h.RCode)
	}
	// The answer count is read from the raw header: the parser does not
	// expose it without walking the questions.
	return dnsPass, fmt.Sprintf("NOERROR, %d answers", uint16(b[6])<<8|uint16(b[7]))
}

// rcodeName names an RCODE like "NXDOMAIN (3)".
func rcodeName(rc dnsmessage.RCode) string {
	s := strings.TrimPrefix(rc.String(), "RCode")
	switch rc {
	case dnsmessage.RCodeFormatError:
		s = "FORMERR"
	case dnsmessage.RCodeServerFailure:
		s = "SERVFAIL"
	case dnsmessage.RCodeNameError:
		s = "NXDOMAIN"
	case dnsmessage.RCodeNotImplemented:
		s = "NOTIMP"
	case dnsmessage.RCodeRefused:
		s = "REFUSED"
	}
	return fmt.Sprintf("%s (%d)", s, int(rc))
}

// Check implements Checker.
func (c *DNSChecker) Check(ctx context.Context) Result {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	start := time.Now()
	name, typ := c.query()
	id := uint16(rand.Uint32())
	q, err := buildDNSQuery(id, name, typ)
	if err != nil {
		return fail(start, fmt.Sprintf("invalid query name %q: %v", name, err))
	}
	conn, done, err := c.Dest.dialUDP(ctx)
	if err != nil {
		return fail(start, errReason("connect", err))
	}
	defer done()
	if _, err := conn.Write(q); err != nil {
		return fail(start, errReason("send", err))
	}
	buf := make([]byte, 512)
	// Every datagram ends the loop or is ignored, and the deadline ends
	// the reads; the count bounds a flood of stray datagrams anyway.
	last := ""
	for range 1000 {
		n, err := conn.Read(buf)
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				return fail(start, "port unreachable")
			}
			r := errReason("receive", err)
			if last != "" {
				r += " (ignored: " + last + ")"
			}
			return fail(start, r)
		}
		v, reason := parseDNSReply(buf[:n], id)
		switch v {
		case dnsPass:
			return pass(start, reason)
		case dnsFail:
			return fail(start, reason)
		}
		last = reason
	}
	return fail(start, "too many stray datagrams (last: "+last+")")
}

// String implements Checker.
func (c *DNSChecker) String() string {
	name, typ := c.query()
	return fmt.Sprintf("DNS_CHECK %s %s %s", c.Dest.Target(), strings.TrimPrefix(typ.String(), "Type"), name)
}
