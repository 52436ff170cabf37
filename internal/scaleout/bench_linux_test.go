package scaleout

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/internal/control"
	"github.com/lbd-project/lbd/internal/lab"
)

// This file is `make bench-scaleout`. The load is that of bench-handover:
// two clients, each sending one request at a time on a new connection, at
// most every 10 ms, a request failing on any error or on no answer within
// a second (a SYN lost in an outage is retried by the client's kernel
// only after 1 s, too late).

const (
	benchClients = 2
	benchTimeout = time.Second
	// benchSpread is how long the load runs to measure the share of each
	// balancer.
	benchSpread = 10 * time.Second
)

// benchLoad is the clients' request functions.
func benchLoad(s *scaleLab) []func() error {
	var out []func() error
	for range benchClients {
		out = append(out, newClient(s.client, benchTimeout).request)
	}
	return out
}

// TestBenchScaleout is the active/active benchmark; set LBD_BENCH=1.
func TestBenchScaleout(t *testing.T) {
	if os.Getenv("LBD_BENCH") != "1" {
		t.Skip("benchmark: set LBD_BENCH=1 (make bench-scaleout)")
	}
	if !lab.RunInVM(t, lab.VMOptions{MemoryMB: 1536, Timeout: 15 * time.Minute}) {
		return
	}
	var (
		shareMin, shareMax float64
		drain, kill, pair  lab.LoadResult
		detect             time.Duration
	)
	t.Run("bgp", func(t *testing.T) {
		s := newScaleLab(t, 3, bgpBFD, conf.DefaultBFDInterval)
		s.start(t)
		load := benchLoad(s)

		// Share: the new connections each balancer scheduled.
		before := make([]int, len(s.lbs))
		for i, b := range s.lbs {
			before[i] = b.conns(t)
		}
		r := lab.UnderLoad(load, func() { time.Sleep(benchSpread) })
		total, shares := 0, make([]int, len(s.lbs))
		for i, b := range s.lbs {
			shares[i] = b.conns(t) - before[i]
			total += shares[i]
		}
		if total == 0 {
			t.Fatalf("no connection scheduled: %d of %d failed%s", r.Failed, r.Sent, r.Why())
		}
		shareMin, shareMax = 1, 0
		for _, n := range shares {
			f := float64(n) / float64(total)
			shareMin, shareMax = min(shareMin, f), max(shareMax, f)
		}
		t.Logf("spread: %v new connections per balancer; %d of %d requests failed", shares, r.Failed, r.Sent)

		// A planned drain of lb1, then lb1 back.
		drain = lab.UnderLoad(load, func() {
			var res control.BalancerResult
			if err := s.lbs[0].call(control.MethodBalancer, control.BalancerParams{}, &res); err != nil {
				t.Error(err)
			}
			t.Logf("drain: peers sent the withdrawal in %v, then %v served", res.PeersSentIn, res.DrainDelay)
		})
		t.Logf("drain: %d of %d requests failed, longest gap %v%s", drain.Failed, drain.Sent, drain.LongestGap, drain.Why())
		if err := s.lbs[0].call(control.MethodBalancer, control.BalancerParams{Enable: true}, nil); err != nil {
			t.Fatal(err)
		}
		lab.WaitFor(t, holdDown+10*time.Second, 50*time.Millisecond, "lb1 back in the ECMP set", func() bool {
			return s.router.FIBNexthops(vip) == 3
		})

		// lb3 dies: links down, SIGKILL.
		kill = lab.UnderLoad(load, func() {
			start := time.Now()
			killBalancer(t, s.lbs[2])
			var ok bool
			detect, ok = lab.Poll(30*time.Second, 5*time.Millisecond, func() bool { return s.router.FIBNexthops(vip) == 2 })
			if !ok {
				t.Errorf("the router kept the dead balancer's next hop for %v", time.Since(start))
			}
			time.Sleep(2 * time.Second)
		})
		t.Logf("kill: next hop gone after %v; %d of %d requests failed, longest gap %v%s",
			detect, kill.Failed, kill.Sent, kill.LongestGap, kill.Why())
	})
	if t.Failed() {
		return
	}
	t.Run("vrrp pair", func(t *testing.T) {
		s := newScaleLab(t, 2, vrrpPair, 0)
		s.start(t)
		master, backup := s.lbs[0], s.lbs[1]
		addr := netip.MustParseAddr(vip)
		lab.WaitFor(t, 30*time.Second, 100*time.Millisecond, "lb2 backup with every real server", func() bool {
			out := backup.node.MustRun("ipvsadm", "-S", "-n")
			return !backup.node.HasAddr(addr) && strings.Count(out, ":80 -g -w 1") == len(rsNames)
		})
		time.Sleep(2 * time.Second) // the checks settle
		pair = lab.UnderLoad(benchLoad(s), func() {
			killBalancer(t, master)
			took, ok := lab.Poll(30*time.Second, 10*time.Millisecond, func() bool { return backup.node.HasAddr(addr) })
			if !ok {
				t.Errorf("lb2 did not take the VIP in %v", took)
			}
			t.Logf("vrrp: lb2 holds the VIP %v after the kill", took)
			time.Sleep(2 * time.Second)
		})
		t.Logf("vrrp kill: %d of %d requests failed, longest gap %v%s", pair.Failed, pair.Sent, pair.LongestGap, pair.Why())
	})
	if t.Failed() {
		return
	}
	fmt.Printf("scaleout_bench balancers=3 share_min=%.2f share_max=%.2f drain_failed=%d kill_failed=%d kill_gap_ms=%d bfd_detect_ms=%d pair_kill_failed=%d\n",
		shareMin, shareMax, drain.Failed, kill.Failed, kill.LongestGap.Milliseconds(), detect.Milliseconds(), pair.Failed)
	fmt.Printf("scaleout_bench_detail drain_sent=%d kill_sent=%d pair_sent=%d pair_gap_ms=%d\n",
		drain.Sent, kill.Sent, pair.Sent, pair.LongestGap.Milliseconds())
	if drain.Failed > 0 {
		t.Errorf("%d requests failed during a planned drain, want 0", drain.Failed)
	}
}
