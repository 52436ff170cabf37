//go:build linux

package daemon

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/lab"
)

// This file is `make bench-failover`: lbd and Debian's keepalived 2.2.7
// with the same settings, in the same run, in a namespace lab of a client
// and two balancers. The client pings the VIP every 10 ms; the outage is
// the longest gap between two replies.

const keepalivedBin = "/usr/sbin/keepalived"

// impl starts one VRRP implementation on a balancer.
type impl interface {
	name() string
	start(t *testing.T, n *lab.Node, prio int, version int, interval time.Duration) *lab.Process
}

type lbdImpl struct{}

func (lbdImpl) name() string { return "lbd" }

func (lbdImpl) start(t *testing.T, n *lab.Node, prio, version int, interval time.Duration) *lab.Process {
	return startLBD(t, n, fmt.Sprintf(`vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 51
    priority: %d
    version: %d
    advert_interval: %v
    virtual_ipaddresses: [192.0.2.100/24]
`, prio, version, interval)).p
}

type keepalivedImpl struct{}

func (keepalivedImpl) name() string { return "keepalived" }

func (keepalivedImpl) start(t *testing.T, n *lab.Node, prio, version int, interval time.Duration) *lab.Process {
	dir := t.TempDir()
	conf := fmt.Sprintf(`global_defs {
  router_id %s
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority %d
  version %d
  advert_int %g
  virtual_ipaddress {
    192.0.2.100/24
  }
}
`, n.Name, prio, version, interval.Seconds())
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return n.Start(keepalivedBin, "-n", "-l", "-D", "-G", "--vrrp", "-f", path,
		"-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid"))
}

// failoverResult is one measured failover.
type failoverResult struct {
	gap        time.Duration // longest gap between replies
	lost, sent int
}

// failover runs one scenario: lb1 (priority 150) is Master, lb2 (100)
// Backup; the client pings the VIP; then lb1 is stopped, planned
// (SIGTERM) or not (link down + SIGKILL of its process group).
func failover(t *testing.T, im impl, version int, interval time.Duration, planned bool) failoverResult {
	l := lab.New(t)
	lan := l.LAN("lan")
	n1 := newNode(l, lan, "lb1", "192.0.2.1/24")
	n2 := newNode(l, lan, "lb2", "192.0.2.2/24")
	client := newNode(l, lan, "client", "192.0.2.10/24")
	p1 := im.start(t, n1, 150, version, interval)
	p2 := im.start(t, n2, 100, version, interval)
	_ = p2
	settle := 4*interval + 5*time.Second
	eventually(t, settle, im.name()+": lb1 master with the VIP", func() bool {
		return n1.HasAddr(vipA) && !n2.HasAddr(vipA)
	})
	// A few adverts more, so that the Backup runs on the Master's adverts.
	time.Sleep(min(3*interval, 2*time.Second))
	ping := startPinger(t, client, vipA, 10*time.Millisecond, 3000)
	eventually(t, 3*time.Second, "pings answered", func() bool { return ping.received() >= 50 })
	// Stop lb1 right after one of its adverts, so that lbd and keepalived
	// are measured at the same phase of the advert cycle.
	client.WaitAdvert(netip.MustParseAddr("192.0.2.1"), 2*interval+time.Second)
	if planned {
		p1.Signal(syscall.SIGTERM)
	} else {
		n1.SetLink("eth0", false)
		syscall.Kill(-p1.Cmd.Process.Pid, syscall.SIGKILL) // the group the lab started
	}
	eventually(t, 4*interval+5*time.Second, im.name()+": lb2 takes the VIP", func() bool { return n2.HasAddr(vipA) })
	at := ping.received()
	eventually(t, 3*time.Second, "pings answered again", func() bool { return ping.received() >= at+50 })
	sent, lost, gap := ping.finish()
	if planned {
		if err := p1.Wait(10 * time.Second); err != nil {
			t.Errorf("%s did not stop after SIGTERM: %v", im.name(), err)
		}
	}
	return failoverResult{gap: gap, lost: lost, sent: sent}
}

// TestIntegrationBenchFailover is the failover benchmark; set LBD_BENCH=1.
// LBD_BENCH_RUNS (default 3) repeats every scenario; figures are medians.
func TestIntegrationBenchFailover(t *testing.T) {
	if os.Getenv("LBD_BENCH") != "1" {
		t.Skip("benchmark: set LBD_BENCH=1 (make bench-failover)")
	}
	if _, err := os.Stat(keepalivedBin); err != nil {
		t.Fatalf("keepalived not installed (apt-get install keepalived): %v", err)
	}
	runs := 3
	if v, err := strconv.Atoi(os.Getenv("LBD_BENCH_RUNS")); err == nil && v > 0 {
		runs = v
	}
	type scenario struct {
		key      string
		im       impl
		version  int
		interval time.Duration
		planned  bool
	}
	scenarios := []scenario{
		{"lbd_unplanned_1s", lbdImpl{}, 3, time.Second, false},
		{"keepalived_unplanned_1s", keepalivedImpl{}, 3, time.Second, false},
		{"lbd_unplanned_10ms", lbdImpl{}, 3, 10 * time.Millisecond, false},
		{"lbd_planned_1s", lbdImpl{}, 3, time.Second, true},
		{"keepalived_planned_1s", keepalivedImpl{}, 3, time.Second, true},
	}
	gaps := map[string]time.Duration{}
	lost := map[string]int{}
	var raw []string
	for _, s := range scenarios {
		var gs []time.Duration
		var ls []int
		for i := range runs {
			var r failoverResult
			t.Run(fmt.Sprintf("%s/%d", s.key, i), func(t *testing.T) {
				r = failover(t, s.im, s.version, s.interval, s.planned)
			})
			if t.Failed() {
				t.FailNow()
			}
			gs = append(gs, r.gap)
			ls = append(ls, r.lost)
			raw = append(raw, fmt.Sprintf("%s[%d] gap_ms=%.1f lost=%d sent=%d", s.key, i, ms(r.gap), r.lost, r.sent))
		}
		slices.Sort(gs)
		slices.Sort(ls)
		gaps[s.key], lost[s.key] = gs[len(gs)/2], ls[len(ls)/2]
	}
	for _, line := range raw {
		fmt.Println("failover_raw " + line)
	}
	var b strings.Builder
	for _, s := range scenarios {
		fmt.Fprintf(&b, " %s_ms=%.1f %s_lost=%d", s.key, ms(gaps[s.key]), s.key, lost[s.key])
	}
	fmt.Println("failover_figures" + b.String())
	ratio := float64(gaps["lbd_unplanned_1s"]) / float64(gaps["keepalived_unplanned_1s"])
	fmt.Printf("failover_bench unplanned_ratio=%.2f fast_unplanned_ms=%.1f planned_lost=%d keepalived_planned_lost=%d keepalived_planned_ms=%.1f\n",
		ratio, ms(gaps["lbd_unplanned_10ms"]), lost["lbd_planned_1s"], lost["keepalived_planned_1s"], ms(gaps["keepalived_planned_1s"]))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
