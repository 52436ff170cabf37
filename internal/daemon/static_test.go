package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lbd-project/lbd/internal/control"
	"github.com/lbd-project/lbd/ipvs/ipvstest"
	"github.com/lbd-project/lbd/vrrp/vrrpnet"
)

// fakeStatic records what the daemon asks to keep installed.
type fakeStatic struct {
	mu     sync.Mutex
	sets   []vrrpnet.StaticSet
	closed bool
}

func (f *fakeStatic) Apply(s vrrpnet.StaticSet) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sets = append(f.sets, s)
	return nil
}

func (f *fakeStatic) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
}

func (f *fakeStatic) last() (vrrpnet.StaticSet, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sets) == 0 {
		return vrrpnet.StaticSet{}, 0
	}
	return f.sets[len(f.sets)-1], len(f.sets)
}

const staticYAML = `global:
  control_socket: DIR/control.sock
  state_dir: DIR/state
  metrics_address: ""
static_ipaddresses:
  - {address: 10.9.0.5/24, interface: eth0}
static_routes:
  - {to: 10.20.0.0/24, via: 10.9.0.1}
static_rules:
  - {from: 10.30.0.0/24, table: 100, priority: 200, fwmark: 7}
`

// The static addresses, routes and rules are installed at start, follow
// reloads, and stay when lbd stops.
func TestStaticFollowsReloads(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "lbd.yaml")
	yaml := strings.ReplaceAll(staticYAML, "DIR", dir)
	os.WriteFile(file, []byte(yaml), 0o644)
	st := &fakeStatic{}
	td := startTestDaemonWith(t, file, newFakeHost(), ipvstest.NewKernel(), &atomic.Bool{}, nil, func(d *daemon) {
		d.openStatic = func() (staticNet, error) { return st, nil }
	})
	s, n := st.last()
	if n != 1 || len(s.Addrs) != 1 || s.Addrs[0].Dev != "eth0" || len(s.Routes) != 1 || s.Routes[0].Via.String() != "10.9.0.1" ||
		len(s.Rules) != 1 || s.Rules[0].Mark != 7 || s.Rules[0].Mask != ^uint32(0) || s.Rules[0].Table != 100 {
		t.Fatalf("at start: %d sets, last %+v", n, s)
	}
	os.WriteFile(file, []byte(yaml[:strings.Index(yaml, "static_routes:")]), 0o644)
	if err := td.call(control.MethodReload, nil, nil); err != nil {
		t.Fatal(err)
	}
	if s, n := st.last(); n != 2 || len(s.Addrs) != 1 || len(s.Routes)+len(s.Rules) != 0 {
		t.Errorf("after the reload: %d sets, last %+v", n, s)
	}
	td.stop()
	if s, n := st.last(); n != 2 || !st.closed || len(s.Addrs) != 1 {
		t.Errorf("after stop: %d sets (closed %v), last %+v", n, st.closed, s)
	}
}
