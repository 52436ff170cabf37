package lb_test

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/ipvs"
	"github.com/lbd-project/lbd/lb"
)

// A real server added at run time to a virtual server with slow_start
// gets its weight in the kernel ramped from 1 to its weight over the
// slow start time: the weights are read from the kernel during the ramp.
func TestIntegrationVMSlowStart(t *testing.T) {
	if !lab.RunInVM(t, lab.VMOptions{}) {
		return
	}
	b := newBalancer(t, lab.New(t), "lb")
	eng := b.engine(`global: {lvs_reconcile_interval: 1h}
virtual_servers:
  - address: 198.51.100.10:80
    slow_start: 4s
    real_servers: [192.0.2.15:80]
`)
	svc := ipvs.Service{Protocol: ipvs.TCP, Address: netip.MustParseAddr("198.51.100.10"), Port: 80}
	added := netip.MustParseAddrPort("192.0.2.16:80")
	weight := 8
	start := time.Now()
	if err := eng.RuntimeChange(b.ctx, lb.RuntimeOp{Op: "add", Service: svc.Key(), Address: added, Weight: &weight}); err != nil {
		t.Fatal(err)
	}
	var seen []int32
	var full time.Duration
	for time.Since(start) < 8*time.Second {
		dests, err := b.k.Destinations(b.ctx, svc)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dests {
			if netip.AddrPortFrom(d.Address, d.Port) == added && (len(seen) == 0 || seen[len(seen)-1] != d.Weight) {
				seen = append(seen, d.Weight)
				if d.Weight == int32(weight) {
					full = time.Since(start)
				}
			}
		}
		if full > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("kernel weights during the ramp: %v; full weight after %v", seen, full)
	if len(seen) < 4 || seen[0] > 2 || !slices.IsSorted(seen) || seen[len(seen)-1] != int32(weight) {
		t.Errorf("weights %v: want a rise from 1 to %d in several steps", seen, weight)
	}
	if full < 3*time.Second || full > 6*time.Second {
		t.Errorf("full weight after %v, want about the 4s slow start", full)
	}
}
