package lb

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/lbd-project/lbd/healthcheck"
	"github.com/lbd-project/lbd/internal/lab"
)

// TestCheckerFactoryUDPAndDNS builds UDP and DNS checkers from the
// configuration and runs the UDP one against a loopback echo server.
func TestCheckerFactoryUDPAndDNS(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() { // echo "\x01\x02" back with a byte of its own, until closed
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(append(buf[:n:n], 0x7f), from)
		}
	}()
	port := pc.LocalAddr().(*net.UDPAddr).Port
	cfg := mustParse(t, `virtual_servers:
  - address: 127.0.0.1:53
    protocol: UDP
    real_servers:
      - {address: 127.0.0.1:`+strconv.Itoa(port)+`, check: {type: UDP, payload: "01 02", reply: "01 0x 7f", min_reply_length: 3}}
      - {address: 127.0.0.3:53, check: {type: UDP, connect_ip: 127.0.0.1, connect_port: `+strconv.Itoa(port)+`, payload: "01 02", reply: "01 03"}}
      - {address: 127.0.0.2:53, check: {type: DNS, query_type: MX, query_name: example.org}}
`)
	vs := &cfg.VirtualServers[0]
	svc := vs.Services(nil)[0]
	factory := NewCheckerFactory(nil)
	build := func(i int) healthcheck.Checker {
		rs := &vs.RealServers[i]
		chk := vs.EffectiveCheck(rs)
		c, err := factory(CheckSpec{Check: chk, Target: chk.CheckTarget(rs, svc)})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if r := build(0).Check(ctx); !r.OK {
		t.Errorf("UDP check with a matching reply failed: %s", r.Reason)
	}
	if r := build(1).Check(ctx); r.OK {
		t.Error("UDP check with a reply that does not match passed")
	}
	dc, ok := build(2).(*healthcheck.DNSChecker)
	if !ok || dc.Type != dnsmessage.TypeMX || dc.Name != "example.org" || dc.Dest.Addr != netip.MustParseAddrPort("127.0.0.2:53") {
		t.Errorf("DNS checker %+v", dc)
	}
}

// TestCheckerFactorySMTP builds SMTP checkers from the configuration and
// runs them against a loopback server that accepts one HELO name only, so
// the checker must carry helo_name and the connect_port override.
func TestCheckerFactorySMTP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lab.Serve(t, ln, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(2 * time.Second))
		c.Write([]byte("220 mx ESMTP\r\n"))
		r := bufio.NewReader(c)
		if l, _ := r.ReadString('\n'); l != "HELO lb1.example.org\r\n" {
			c.Write([]byte("501 who are you\r\n"))
			return
		}
		c.Write([]byte("250 mx\r\n"))
		r.ReadString('\n')
		c.Write([]byte("221 bye\r\n"))
	})
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	cfg := mustParse(t, `virtual_servers:
  - address: 127.0.0.1:25
    check: {type: SMTP, helo_name: lb1.example.org}
    real_servers:
      - 127.0.0.1:`+port+`
      - {address: 127.0.0.2, check: {connect_ip: 127.0.0.1, connect_port: `+port+`}}
  - address: 127.0.0.1:26
    check: {type: SMTP}
    real_servers: [127.0.0.1:`+port+`]
`)
	factory := NewCheckerFactory(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, tc := range []struct {
		vs, rs int
		ok     bool
	}{{0, 0, true}, {0, 1, true}, {1, 0, false}} { // the last sends the default HELO name
		vs := &cfg.VirtualServers[tc.vs]
		rs := &vs.RealServers[tc.rs]
		chk := vs.EffectiveCheck(rs)
		c, err := factory(CheckSpec{Check: chk, Target: chk.CheckTarget(rs, vs.Services(nil)[0])})
		if err != nil {
			t.Fatal(err)
		}
		if r := c.Check(ctx); r.OK != tc.ok {
			t.Errorf("%s: ok=%v %q, want ok=%v", c, r.OK, r.Reason, tc.ok)
		}
	}
}
