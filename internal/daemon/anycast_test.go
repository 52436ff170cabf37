package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lbd-project/lbd/bgp"
	"github.com/lbd-project/lbd/internal/control"
	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/ipvs"
	"github.com/lbd-project/lbd/ipvs/ipvstest"
	"github.com/lbd-project/lbd/vrrp"
	"golang.org/x/sys/unix"
)

// fakeSpeaker records what the daemon announces.
type fakeSpeaker struct {
	mu      sync.Mutex
	routes  map[netip.Prefix]bgp.Route
	cfg     bgp.Config
	log     []string // "announce P", "withdraw P", "drain", "stop", in order
	stopped bool
}

func (f *fakeSpeaker) Start(_ context.Context, c bgp.Config) error { return f.Reconfigure(c) }
func (f *fakeSpeaker) Reconfigure(c bgp.Config) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cfg = c
	return nil
}
func (f *fakeSpeaker) Announce(p netip.Prefix, r bgp.Route) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[p] = r
	f.log = append(f.log, "announce "+p.String())
	return nil
}
func (f *fakeSpeaker) Withdraw(p netip.Prefix) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.routes, p)
	f.log = append(f.log, "withdraw "+p.String())
	return nil
}
func (f *fakeSpeaker) Drain(context.Context) (time.Duration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, "drain")
	return time.Millisecond, nil
}
func (f *fakeSpeaker) Stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = true
	f.log = append(f.log, "stop")
}
func (f *fakeSpeaker) Stats() bgp.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return bgp.Stats{Routes: len(f.routes)}
}

func (f *fakeSpeaker) announced() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for p := range f.routes {
		out = append(out, p.String())
	}
	slices.Sort(out)
	return out
}

func (f *fakeSpeaker) history() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.log)
}

// fakeDevice holds the addresses put on devices.
type fakeDevice struct {
	mu    sync.Mutex
	addrs map[string]bool // "dev addr/len"
}

func (f *fakeDevice) open(dev string) (vipSet, error) { return fakeVIPs{f}, nil }
func (f *fakeDevice) has(s string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addrs[s]
}

type fakeVIPs struct{ f *fakeDevice }

func (v fakeVIPs) AddVIP(a vrrp.VIP) error {
	v.f.mu.Lock()
	defer v.f.mu.Unlock()
	v.f.addrs[a.Dev+" "+a.Prefix.String()] = true
	return nil
}
func (v fakeVIPs) RemoveVIP(a vrrp.VIP) (bool, error) {
	v.f.mu.Lock()
	defer v.f.mu.Unlock()
	k := a.Dev + " " + a.Prefix.String()
	had := v.f.addrs[k]
	delete(v.f.addrs, k)
	return had, nil
}
func (fakeVIPs) Close() {}

const anycastYAML = `global:
  control_socket: DIR/control.sock
  state_dir: DIR/state
  metrics_address: ""
  lvs_reconcile_interval: 1h
bgp:
  local_asn: 65001
  router_id: 192.0.2.11
  hold_down: 400ms
  drain_delay: 100ms
  vip_interface: dummy0
  peers: [{address: 192.0.2.1, asn: 65000}]
virtual_servers:
  - address: 203.0.113.10:80
    announce: bgp
    scheduler: mh
    forwarding: DR
    bgp_route: {communities: ["65000:100"], med: 7}
    check: {type: TCP, delay_loop: 50ms, connect_timeout: 1s, retry: 0, warmup: 0}
    real_servers: [198.51.100.1:80, 198.51.100.2:80]
`

// anycastLab is a daemon started on anycastYAML plus extra (lines of its
// virtual server), with a fake BGP speaker, VIP device and kernel.
type anycastLab struct {
	td   *testDaemon
	file string // the configuration file
	yaml string // what it holds
	up   *atomic.Bool
	sp   *fakeSpeaker
	dev  *fakeDevice
	k    *ipvstest.Kernel
	log  lab.SyncBuffer
}

func newAnycastLab(t *testing.T, extra string) *anycastLab {
	dir := t.TempDir()
	a := &anycastLab{file: filepath.Join(dir, "lbd.yaml"), yaml: strings.ReplaceAll(anycastYAML, "DIR", dir) + extra,
		up: &atomic.Bool{}, sp: &fakeSpeaker{routes: map[netip.Prefix]bgp.Route{}},
		dev: &fakeDevice{addrs: map[string]bool{}}, k: ipvstest.NewKernel()}
	os.WriteFile(a.file, []byte(a.yaml), 0o644)
	a.up.Store(true)
	a.td = startTestDaemonWith(t, a.file, newFakeHost(), a.k, a.up, &a.log, func(d *daemon) {
		d.newSpeaker = func(*slog.Logger) routeSpeaker { return a.sp }
		d.openVIP = a.dev.open
	})
	return a
}

// The daemon announces a BGP virtual server's address while it has
// quorum, withdraws it when quorum goes, announces it again only after
// the hold-down, drains on request and on stop, and follows reloads.
func TestAnycastFollowsHealth(t *testing.T) {
	a := newAnycastLab(t, "")
	td, file, yaml, up, sp, dev := a.td, a.file, a.yaml, a.up, a.sp, a.dev
	const vip = "203.0.113.10/32"

	waitFor(t, "the VIP announced", func() bool { return slices.Equal(sp.announced(), []string{vip}) })
	if !dev.has("dummy0 " + vip) {
		t.Error("the VIP is not on vip_interface")
	}
	sp.mu.Lock()
	r := sp.routes[netip.MustParsePrefix(vip)]
	cfg := sp.cfg
	sp.mu.Unlock()
	if !slices.Equal(r.Communities, []uint32{65000<<16 | 100}) || r.MED == nil || *r.MED != 7 {
		t.Errorf("route %+v", r)
	}
	if cfg.LocalASN != 65001 || len(cfg.Peers) != 1 || cfg.Peers[0].ASN != 65000 {
		t.Errorf("speaker config %+v", cfg)
	}

	// Every real server fails: quorum lost, withdrawn.
	up.Store(false)
	waitFor(t, "the VIP withdrawn", func() bool { return len(sp.announced()) == 0 })
	var st control.StatusResult
	if err := td.call(control.MethodStatus, nil, &st); err != nil || st.BGP == nil || len(st.BGP.Announced) != 0 {
		t.Errorf("status bgp %+v, %v", st.BGP, err)
	}
	// Back: not before the hold-down.
	back := time.Now()
	up.Store(true)
	waitFor(t, "the VIP announced again", func() bool { return len(sp.announced()) == 1 })
	if d := time.Since(back); d < 400*time.Millisecond {
		t.Errorf("announced again %v after recovery, before the 400ms hold-down", d)
	}

	// A planned drain withdraws and waits for the peers and drain_delay.
	var res control.BalancerResult
	start := time.Now()
	if err := td.call(control.MethodBalancer, control.BalancerParams{}, &res); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); !slices.Equal(res.Withdrawn, []string{"203.0.113.10"}) || res.DrainDelay != 100*time.Millisecond ||
		took < 100*time.Millisecond || len(sp.announced()) != 0 {
		t.Errorf("drain: %+v after %v, announced %v", res, took, sp.announced())
	}
	if h := sp.history(); h[len(h)-2] != "withdraw "+vip || h[len(h)-1] != "drain" {
		t.Errorf("drain order: %v", h)
	}
	// Drained it stays, whatever the health.
	time.Sleep(600 * time.Millisecond)
	if len(sp.announced()) != 0 {
		t.Error("announced while drained")
	}
	if err := td.call(control.MethodBalancer, control.BalancerParams{Enable: true}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "announced after enable", func() bool { return len(sp.announced()) == 1 })

	// A reload that drops the virtual server withdraws its address and
	// takes it off the device.
	os.WriteFile(file, []byte(yaml[:strings.Index(yaml, "virtual_servers:")]), 0o644)
	if err := td.call(control.MethodReload, nil, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "withdrawn after the reload", func() bool { return len(sp.announced()) == 0 })
	waitFor(t, "off the device", func() bool { return !dev.has("dummy0 " + vip) })

	td.stop()
	if h := sp.history(); !slices.Contains(h, "drain") || h[len(h)-1] != "stop" {
		t.Errorf("stop: %v", h)
	}
}

// A balancer whose kernel table cannot be applied withdraws its VIPs while
// its real servers are healthy (the others keep serving), and announces
// them again once a retry applies, after the hold-down.
func TestAnycastWithdrawsWhenKernelFails(t *testing.T) {
	a := newAnycastLab(t, "")
	defer a.td.stop()
	waitFor(t, "the VIP announced", func() bool { return len(a.sp.announced()) == 1 })

	// The kernel refuses every change; a reload that adds a real server
	// needs one.
	a.k.FailWith(func(ipvs.Change) error { return unix.ENOMEM })
	grown := strings.Replace(a.yaml, "198.51.100.2:80]", "198.51.100.2:80, 198.51.100.3:80]", 1)
	os.WriteFile(a.file, []byte(grown), 0o644)
	if err := a.td.call(control.MethodReload, nil, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the VIP withdrawn while the kernel refuses changes", func() bool { return len(a.sp.announced()) == 0 })
	if !strings.Contains(a.log.String(), "the kernel table cannot be applied") {
		t.Errorf("the withdrawal's log does not say the kernel table cannot be applied:\n%s", a.log.String())
	}

	back := time.Now()
	a.k.FailWith(nil)
	waitFor(t, "the VIP announced once a retry applies", func() bool { return len(a.sp.announced()) == 1 })
	if d := time.Since(back); d < 400*time.Millisecond {
		t.Errorf("announced again %v after the kernel recovered, before the 400ms hold-down", d)
	}
}

// With announce_sorry, a virtual server whose real servers all failed
// keeps its address announced while its sorry server stands in; without
// it the address is withdrawn.
func TestAnycastAnnounceSorry(t *testing.T) {
	for _, announceSorry := range []bool{true, false} {
		t.Run(fmt.Sprintf("announce_sorry=%v", announceSorry), func(t *testing.T) {
			extra := "    sorry_server: 198.51.100.99:80\n"
			if announceSorry {
				extra += "    announce_sorry: true\n"
			}
			a := newAnycastLab(t, extra)
			up, sp, k := a.up, a.sp, a.k
			defer a.td.stop()
			waitFor(t, "the VIP announced", func() bool { return len(sp.announced()) == 1 })

			up.Store(false)
			waitFor(t, "the sorry server in the kernel table", func() bool { return hasSorry(t, k) })
			if announceSorry {
				// Several check rounds (50 ms) and the 400 ms hold-down.
				time.Sleep(600 * time.Millisecond)
				if got := sp.announced(); len(got) != 1 {
					t.Errorf("announced %v while the sorry server stands in with announce_sorry, want the VIP", got)
				}
				return
			}
			waitFor(t, "the VIP withdrawn", func() bool { return len(sp.announced()) == 0 })
		})
	}
}

// hasSorry says whether the kernel's table routes to the sorry server.
func hasSorry(t *testing.T, k *ipvstest.Kernel) bool {
	t.Helper()
	tab, err := k.Dump(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range tab.Services {
		for _, d := range s.Destinations {
			if d.Address == netip.MustParseAddr("198.51.100.99") && d.Port == 80 && d.Weight > 0 {
				return true
			}
		}
	}
	return false
}
