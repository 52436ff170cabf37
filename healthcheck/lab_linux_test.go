package healthcheck

import (
	"context"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/lab"
)

// TestIntegrationTCPBlackhole checks TCP_CHECK and HTTP_GET inside a
// network namespace of the test's own where nftables drops the SYNs to one
// port (a server that vanished without a trace, or a firewall): the check
// times out, on the pooled path too, and the pool stays usable. Open and
// refusing ports in the same namespace are checked for contrast. The one
// address is TEST-NET-1 on the namespace's loopback: no packet leaves it.
func TestIntegrationTCPBlackhole(t *testing.T) {
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skipf("nft not installed: %v", err)
	}
	l := lab.New(t)
	n := l.Node("rs")
	n.AddAddr("lo", "192.0.2.1/32")
	ln := n.Listen("tcp", "192.0.2.1:80")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	n.MustRun("nft", "add", "table", "inet", "lbdhc")
	n.MustRun("nft", "add", "chain", "inet", "lbdhc", "out", "{ type filter hook output priority 0; }")
	n.MustRun("nft", "add", "rule", "inet", "lbdhc", "out", "ip", "daddr", "192.0.2.1", "tcp", "dport", "81", "drop")

	open := netip.MustParseAddrPort("192.0.2.1:80")
	dropped := netip.MustParseAddrPort("192.0.2.1:81")
	refused := netip.MustParseAddrPort("192.0.2.1:82")
	const timeout = 300 * time.Millisecond
	check := func(c Checker) Result {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return c.Check(ctx)
	}
	var pool socketPool
	defer pool.drain()
	pooled := func(ap netip.AddrPort) Result {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		res, wait := (&TCPChecker{Dest: Dest{Addr: ap}}).check(time.Now(), &pool)
		if wait != nil {
			res = wait(ctx)
		}
		return res
	}
	type result struct {
		name string
		res  Result
	}
	var got []result
	// Sockets belong to the namespace they are opened in: everything,
	// the private pool included, runs inside the node.
	err := n.Do(func() error {
		for range 2 {
			got = append(got,
				result{"tcp open", check(&TCPChecker{Dest: Dest{Addr: open}})},
				result{"tcp refused", check(&TCPChecker{Dest: Dest{Addr: refused}})},
				result{"tcp dropped", check(&TCPChecker{Dest: Dest{Addr: dropped}})},
				result{"pooled open", pooled(open)},
				result{"pooled refused", pooled(refused)},
				result{"pooled dropped", pooled(dropped)},
				result{"pooled open", pooled(open)},
				result{"http dropped", check(&HTTPChecker{Dest: Dest{Addr: dropped}, URLs: []URL{{Path: "/"}}})},
			)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		want, ok := "connected", true
		switch {
		case strings.HasSuffix(r.name, "refused"):
			want, ok = "connect: connection refused", false
		case r.name == "http dropped":
			want, ok = "/: connect: timeout", false
		case strings.HasSuffix(r.name, "dropped"):
			want, ok = "connect: timeout", false
		}
		if r.res.OK != ok || r.res.Reason != want {
			t.Errorf("%s: ok=%v %q, want ok=%v %q", r.name, r.res.OK, r.res.Reason, ok, want)
		}
		if strings.HasSuffix(r.name, "dropped") && (r.res.Latency < timeout-50*time.Millisecond || r.res.Latency > timeout+time.Second) {
			t.Errorf("%s: latency %v, want about %v", r.name, r.res.Latency, timeout)
		}
	}
	if idle := pool.idleCount(); idle != 1 {
		t.Errorf("%d idle pooled sockets, want 1 (the timed-out ones closed)", idle)
	}
}
