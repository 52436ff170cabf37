package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/healthcheck"
	"github.com/lbd-project/lbd/internal/metrics"
	"github.com/lbd-project/lbd/ipvs/ipvstest"
	"github.com/lbd-project/lbd/lb"
)

// The shared scenario: real servers that each serve two ports behind two
// virtual addresses, as a site with HTTP and HTTPS on an IPv4 and an IPv6
// address has. Four virtual servers (VIP-A:80, VIP-A:443, VIP-B:80,
// VIP-B:443) list every real server, with the same check per port on both
// addresses: HTTP_GET with a digest on the HTTP port, TCP_CHECK on the
// other. keepalived probes each real server once per virtual server, four
// checks a round; lbd's engine finds the two pairs of identical checks and
// probes twice. Both run the same virtual servers from their own
// configuration files; lbd's engine programs ipvstest's table, which
// costs nothing once the real servers are up, and builds its checkers as
// the daemon does, wrapped for the metrics.

const (
	sharedNet      = 79 // real servers at 127.79.0.0/16
	sharedHTTPPort = 18080
	sharedTCPPort  = 18443
)

// sharedVIPs are the two virtual addresses, documentation addresses the
// engine only writes into its fake table.
var sharedVIPs = [2]string{"192.0.2.10", "198.51.100.10"}

func sharedRealServer(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, sharedNet, byte(i / 250), byte(i%250 + 1)})
}

// sharedLBDConf is the scenario as lbd's YAML.
func sharedLBDConf(n int, digest string) string {
	var b strings.Builder
	b.WriteString("virtual_servers:\n")
	for _, vip := range sharedVIPs {
		fmt.Fprintf(&b, "  - address: %s:80\n    scheduler: rr\n", vip)
		fmt.Fprintf(&b, "    check: {type: HTTP_GET, delay_loop: 1s, urls: [{path: /, digest: %s}]}\n    real_servers:\n", digest)
		for i := range n {
			fmt.Fprintf(&b, "      - %s:%d\n", sharedRealServer(i), sharedHTTPPort)
		}
		fmt.Fprintf(&b, "  - address: %s:443\n    scheduler: rr\n", vip)
		b.WriteString("    check: {type: TCP, delay_loop: 1s}\n    real_servers:\n")
		for i := range n {
			fmt.Fprintf(&b, "      - %s:%d\n", sharedRealServer(i), sharedTCPPort)
		}
	}
	return b.String()
}

// sharedKeepalivedConf is the same scenario as keepalived.conf, with
// keepalived's defaults apart from delay_loop 1, as in keepalivedConf.
func sharedKeepalivedConf(n int, digest string) string {
	var b strings.Builder
	b.WriteString("global_defs {\n  router_id lbd_bench\n}\n")
	for _, vip := range sharedVIPs {
		for _, port := range []int{80, 443} {
			fmt.Fprintf(&b, "virtual_server %s %d {\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n", vip, port)
			for i := range n {
				if port == 80 {
					fmt.Fprintf(&b, "  real_server %s %d {\n    weight 1\n    HTTP_GET {\n      url {\n        path /\n        digest %s\n      }\n      connect_timeout 5\n    }\n  }\n",
						sharedRealServer(i), sharedHTTPPort, digest)
				} else {
					fmt.Fprintf(&b, "  real_server %s %d {\n    weight 1\n    TCP_CHECK {\n      connect_timeout 5\n    }\n  }\n",
						sharedRealServer(i), sharedTCPPort)
				}
			}
			b.WriteString("}\n")
		}
	}
	return b.String()
}

// sharedResult is what lbd's engine did in the shared scenario.
type sharedResult struct {
	phase
	realServers int     // as configured, over all virtual servers
	probes      float64 // distinct probes, from the status's probe users
	down        int     // real servers down at the end of the window
}

// runEngine runs lbd's engine (the daemon's health runner, its sharing
// of probes and its event handling) on the scenario for the window.
func runEngine(t *testing.T, srv *server, yaml string, window time.Duration) sharedResult {
	cfg, err := conf.Parse("shared.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("shared scenario: %v", err)
	}
	log := slog.New(slog.DiscardHandler)
	m := metrics.New(metrics.Source{}, log)
	e, err := lb.New(cfg, lb.Options{Kernel: ipvstest.NewKernel(), Logger: log,
		NewChecker: m.CheckerFactory(lb.NewCheckerFactory(healthcheck.NewPinger()))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("engine: %v", err)
		}
	}()
	time.Sleep(2*delayLoop + time.Second) // warmup spreads the first round
	res := sharedResult{phase: measure(srv, window, selfCPU)}
	res.rss = rssMB("self")
	sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
	defer scancel()
	st, err := e.Status(sctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range st.VirtualServers {
		for _, r := range v.RealServers {
			res.realServers++
			if r.ProbeUsers > 0 {
				res.probes += 1 / float64(r.ProbeUsers)
			} else {
				res.probes++
			}
			if !r.Up {
				res.down++
			}
		}
	}
	return res
}

// benchShared runs the shared scenario with n real servers, lbd then
// keepalived, prints its figures (lbd's against the kernel floor of its
// probes when floorTCP, floorHTTP are known) and returns lbd's CPU over
// keepalived's, -1 without keepalived.
func benchShared(t *testing.T, srv *server, n int, digest string, window time.Duration, floorTCP, floorHTTP time.Duration) (ratio float64) {
	l := runEngine(t, srv, sharedLBDConf(n, digest), window)
	fmt.Printf("shared real_servers=%d virtual_servers=%d checks_configured=%d lbd_probes=%.0f\n", n, 2*len(sharedVIPs), l.realServers, l.probes)
	fmt.Printf("shared_lbd_cpu_per_s=%.4f shared_lbd_rss_mb=%.1f shared_lbd_checks_per_s=%.0f shared_lbd_down=%d shared_lbd_server_gap_p99_ms=%.1f\n",
		l.cpuPerSec(), l.rss, l.checksPerSec(), l.down, l.gaps.p99)
	if floorTCP > 0 {
		floor := float64(n) * (floorTCP + floorHTTP).Seconds() / delayLoop.Seconds()
		fmt.Printf("shared_kernel_floor_cpu_per_s=%.4f shared_lbd_over_floor=%.2f\n", floor, l.cpuPerSec()/floor)
	}
	if want := float64(l.realServers) / 2; l.probes > want+0.5 {
		t.Errorf("lbd runs %.0f probes for %d real servers: the identical checks of the two addresses were not shared", l.probes, l.realServers)
	}
	if l.down > 0 {
		t.Errorf("%d real servers down at the end of lbd's window", l.down)
	}
	if want := float64(2*n) / delayLoop.Seconds() * 0.9; l.checksPerSec() < want {
		t.Errorf("lbd made %.0f checks/s in the shared scenario, want about %.0f", l.checksPerSec(), want/0.9)
	}
	k, why := runKeepalived(t, srv, sharedKeepalivedConf(n, digest), window)
	if why != "" {
		t.Errorf("keepalived not measured, no shared_cpu_ratio: %s", why)
		return -1
	}
	// keepalived checks each port twice a round, so the server's gaps
	// between its accepts mean nothing here: only its CPU is compared.
	fmt.Printf("shared_keepalived_cpu_per_s=%.4f shared_keepalived_rss_mb=%.1f shared_keepalived_checks_per_s=%.0f\n",
		k.cpuPerSec(), k.rss, k.checksPerSec())
	if k.cpu <= 0 {
		return -1
	}
	return l.cpuPerSec() / k.cpuPerSec()
}
