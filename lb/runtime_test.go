package lb

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/lbd-project/lbd/ipvs"
	"github.com/lbd-project/lbd/ipvs/ipvstest"
)

var web = ipvs.ServiceKey{Family: ipvs.IPv4, Protocol: ipvs.TCP, Address: netip.MustParseAddr("192.0.2.10"), Port: 80}

// savedStates records what the engine persists, and can fail on demand.
type savedStates struct {
	mu    sync.Mutex
	saved []State
	fail  error
}

func (s *savedStates) save(st State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.saved = append(s.saved, st)
	return nil
}

func (s *savedStates) last() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.saved) == 0 {
		return State{}
	}
	return s.saved[len(s.saved)-1]
}

func (s *savedStates) setFail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

func TestEngineRuntimeChange(t *testing.T) {
	saved := &savedStates{}
	h := start(t, twoServers, nil, func(o *Options) { o.SaveState = saved.save })
	const vs = "TCP 192.0.2.10:80"
	rs3 := netip.MustParseAddrPort("198.51.100.3:80")
	w := 7
	if err := h.e.RuntimeChange(h.ctx, RuntimeOp{Op: "add", Service: web, Address: rs3, Weight: &w}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.table(), "-r 198.51.100.3:80 -m -w 7") {
		t.Errorf("added server not in the kernel:\n%s", h.table())
	}
	h.h.id(t, vs, "198.51.100.3:80") // checked with the service's check
	if st := saved.last(); len(st.Runtime) != 1 || st.Runtime[0].Address != rs3 || st.Runtime[0].Weight != 7 {
		t.Errorf("saved state %+v", st)
	}

	// Errors name what is wrong and change nothing.
	for _, tc := range []struct {
		op   RuntimeOp
		want error
	}{
		{RuntimeOp{Op: "add", Service: web, Address: rs3}, ErrExists},
		{RuntimeOp{Op: "delete", Service: web, Address: netip.MustParseAddrPort("198.51.100.1:80")}, ErrConfigured},
		{RuntimeOp{Op: "edit", Service: web, Address: netip.MustParseAddrPort("198.51.100.9:80")}, ErrNotFound},
		{RuntimeOp{Op: "add", Service: ipvs.ServiceKey{Family: ipvs.IPv4, Protocol: ipvs.TCP, Address: netip.MustParseAddr("192.0.2.99"), Port: 80}, Address: rs3}, ErrNotManaged},
	} {
		before := h.table()
		if err := h.e.RuntimeChange(h.ctx, tc.op); !errors.Is(err, tc.want) {
			t.Errorf("%s %s: error %v, want %v", tc.op.Op, tc.op.Address, err, tc.want)
		}
		if after := h.table(); after != before {
			t.Errorf("%s %s changed the table:\n%s", tc.op.Op, tc.op.Address, after)
		}
	}

	// A failed save refuses the change.
	saved.setFail(errors.New("disk full"))
	w = 9
	if err := h.e.RuntimeChange(h.ctx, RuntimeOp{Op: "edit", Service: web, Address: rs3, Weight: &w}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("edit with a failing save: %v", err)
	}
	if strings.Contains(h.table(), "-w 9") {
		t.Error("an edit that could not be saved reached the kernel")
	}
	saved.setFail(nil)

	// The run-time server survives a reload of the file.
	if _, err := h.e.Reload(h.ctx, mustParse(t, strings.Replace(twoServers, "quorum: 2", "quorum: 1", 1))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.table(), "-r 198.51.100.3:80 -m -w 7") {
		t.Errorf("run-time server lost by reload:\n%s", h.table())
	}

	// Deleting it drains it (it has connections), then it goes.
	h.k.SetActiveConns(web, rs3, 2)
	if err := h.e.RuntimeChange(h.ctx, RuntimeOp{Op: "delete", Service: web, Address: rs3}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.table(), "-r 198.51.100.3:80 -m -w 0") {
		t.Errorf("deleted server not draining at weight 0:\n%s", h.table())
	}
	h.k.SetActiveConns(web, rs3, 0)
	h.eventually("deleted server to leave", func() bool { return !strings.Contains(h.table(), "198.51.100.3:80") })
	if st := saved.last(); len(st.Runtime) != 0 {
		t.Errorf("saved state still lists the deleted server: %+v", st)
	}
}

func TestEngineDrainAndEnable(t *testing.T) {
	saved := &savedStates{}
	h := start(t, strings.Replace(twoServers, "quorum: 2", "quorum: 1", 1), nil, func(o *Options) { o.SaveState = saved.save })
	rs1 := netip.MustParseAddrPort("198.51.100.1:80")
	h.k.SetActiveConns(web, rs1, 4)
	active, err := h.e.Drain(h.ctx, web, rs1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if active != 4 {
		t.Errorf("Drain reported %d active connections, want 4", active)
	}
	if !strings.Contains(h.table(), "-r 198.51.100.1:80 -m -w 0") {
		t.Errorf("draining server not at weight 0:\n%s", h.table())
	}
	if st := saved.last(); len(st.Disabled) != 1 || st.Disabled[0].Address != "198.51.100.1:80" {
		t.Errorf("saved state %+v", st)
	}
	h.k.SetActiveConns(web, rs1, 0)
	h.eventually("drained server to leave the kernel", func() bool { return !strings.Contains(h.table(), "198.51.100.1:80") })

	// A reload keeps it out; Enable brings it back with its weight.
	if _, err := h.e.Reload(h.ctx, mustParse(t, strings.Replace(twoServers, "quorum: 2", "quorum: 1", 1))); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(h.table(), "198.51.100.1:80") {
		t.Errorf("reload put a drained server back:\n%s", h.table())
	}
	if err := h.e.Enable(h.ctx, web, rs1); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.table(), "-r 198.51.100.1:80 -m -w 1") {
		t.Errorf("enabled server not back:\n%s", h.table())
	}
	if st := saved.last(); len(st.Disabled) != 0 {
		t.Errorf("saved state still lists the enabled server: %+v", st)
	}
	if _, err := h.e.Drain(h.ctx, web, netip.MustParseAddrPort("198.51.100.9:80"), 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("drain of an unknown server: %v", err)
	}
}

func TestPlanOffline(t *testing.T) {
	k := ipvstest.NewKernel()
	cfg := mustParse(t, twoServers)
	st := State{Runtime: []RuntimeServer{{VirtualServer: "TCP 192.0.2.10:80", Address: netip.MustParseAddrPort("198.51.100.3:80"), Weight: 5}}}
	plan, err := PlanOffline(context.Background(), k, cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	want := "+ -A -t 192.0.2.10:80 -s wlc\n+ -a -t 192.0.2.10:80 -r 198.51.100.1:80 -m -w 1\n" +
		"+ -a -t 192.0.2.10:80 -r 198.51.100.2:80 -m -w 1\n+ -a -t 192.0.2.10:80 -r 198.51.100.3:80 -m -w 5\n"
	if plan.String() != want {
		t.Errorf("plan on an empty kernel:\n%s\nwant\n%s", plan, want)
	}
	if len(k.Changes()) != 0 {
		t.Errorf("PlanOffline sent %d changes to the kernel", len(k.Changes()))
	}
	// Once applied, nothing is left to do.
	if _, err := k.Apply(context.Background(), plan); err != nil {
		t.Fatal(err)
	}
	if plan, err = PlanOffline(context.Background(), k, cfg, st); err != nil || len(plan.Changes) != 0 {
		t.Errorf("plan after applying: %v %v", plan, err)
	}
}
