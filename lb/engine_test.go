package lb

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lbd-project/lbd/healthcheck"
	"github.com/lbd-project/lbd/internal/script"
	"github.com/lbd-project/lbd/ipvs"
	"github.com/lbd-project/lbd/ipvs/ipvstest"
)

// fakeHealth records targets; tests send events on its channel.
type fakeHealth struct {
	mu      sync.Mutex
	targets map[string]healthcheck.Target
	events  chan healthcheck.Event
	last    map[string]healthcheck.Checked // what Last answers
}

func newFakeHealth() *fakeHealth {
	return &fakeHealth{targets: map[string]healthcheck.Target{}, events: make(chan healthcheck.Event),
		last: map[string]healthcheck.Checked{}}
}

func (h *fakeHealth) Last(id string) (healthcheck.Checked, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.last[id]
	return c, ok
}

func (h *fakeHealth) Add(t healthcheck.Target) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.targets[t.ID] = t
	return nil
}

func (h *fakeHealth) Remove(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.targets, id)
}

// id returns the target ID of real server rs ("addr:port") of vs.
// id is the health target (the probe) of real server rs; vs only names
// the test's intent: real servers of several virtual servers with the
// same probe share it.
func (h *fakeHealth) id(t *testing.T, vs, rs string) string {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	var found []string
	for id := range h.targets {
		if strings.HasPrefix(id, rs+"|") {
			found = append(found, id)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d health targets for %s %s: %v", len(found), vs, rs, found)
	}
	return found[0]
}

func (h *fakeHealth) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.targets)
}

// recScripts records scripts in order.
type recScripts struct {
	mu    sync.Mutex
	ran   []string
	users []string // the user each ran as
}

func (r *recScripts) Push(what string, s script.Spec) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ran = append(r.ran, what)
	r.users = append(r.users, s.User)
	return true
}

func (r *recScripts) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ran)
}

// The engine manages the IPVS-wide settings only on a GlobalKernel; the
// fake must be one for the tests of those settings to mean anything.
var _ GlobalKernel = (*ipvstest.Kernel)(nil)

type harness struct {
	t       *testing.T
	e       *Engine
	k       *ipvstest.Kernel
	h       *fakeHealth
	scripts *recScripts
	ctx     context.Context
	stop    func()
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// start runs an engine for yaml on k (a fresh fake kernel if nil).
func start(t *testing.T, yaml string, k *ipvstest.Kernel, tune func(*Options)) *harness {
	t.Helper()
	if k == nil {
		k = ipvstest.NewKernel()
	}
	h := &harness{t: t, k: k, h: newFakeHealth(), scripts: &recScripts{}}
	opts := Options{Kernel: k, Health: h.h, HealthEvents: h.h.events, Scripts: h.scripts, Logger: quietLogger(),
		DrainPoll: 5 * time.Millisecond, RetryMin: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond}
	if tune != nil {
		tune(&opts)
	}
	e, err := New(mustParse(t, yaml), opts)
	if err != nil {
		t.Fatal(err)
	}
	h.e = e
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	h.ctx = ctx
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	h.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(func() {
		if ctx.Err() == nil {
			h.stop()
		}
	})
	h.status() // Run has started and reconciled once
	return h
}

func (h *harness) status() Status {
	h.t.Helper()
	st, err := h.e.Status(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return st
}

// event sends a health transition and waits until the engine handled it.
func (h *harness) event(vs, rs string, up bool) {
	h.t.Helper()
	h.h.events <- healthcheck.Event{ID: h.h.id(h.t, vs, rs), Up: up, Weight: healthcheck.NoWeight, Reason: "test"}
	h.status()
}

func (h *harness) table() string {
	h.t.Helper()
	tb, err := h.k.Dump(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return render(tb)
}

// eventually polls cond for up to 5 s.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	h.t.Fatalf("timed out waiting for %s", what)
}

const twoServers = `virtual_servers:
  - address: 192.0.2.10:80
    quorum: 2
    sorry_server: 203.0.113.99:80
    quorum_up: /bin/true
    quorum_down: /bin/true
    omega: true
    check: {type: TCP}
    real_servers:
      - {address: 198.51.100.1:80, notify_up: /bin/true, notify_down: /bin/true}
      - {address: 198.51.100.2:80, notify_down: /bin/true}
`

func TestEngineHealthQuorumAndScripts(t *testing.T) {
	h := start(t, twoServers, nil, nil)
	const vs = "TCP 192.0.2.10:80"
	want := "+ -A -t 192.0.2.10:80 -s wlc\n+ -a -t 192.0.2.10:80 -r 198.51.100.1:80 -m -w 1\n+ -a -t 192.0.2.10:80 -r 198.51.100.2:80 -m -w 1\n"
	if got := h.table(); got != want {
		t.Fatalf("start:\n%s", got)
	}
	h.event(vs, "198.51.100.1:80", false)
	if got, want := h.table(), "+ -A -t 192.0.2.10:80 -s wlc\n+ -a -t 192.0.2.10:80 -r 203.0.113.99:80 -m -w 1\n"; got != want {
		t.Errorf("after one failure (quorum 2 lost):\n%s\nwant\n%s", got, want)
	}
	st := h.status()
	if v := st.VirtualServers[0]; v.QuorumUp || !v.SorryActive || v.WeightSum != 1 {
		t.Errorf("status %+v", v)
	}
	h.event(vs, "198.51.100.1:80", true)
	if got := h.table(); got != want {
		t.Errorf("after recovery:\n%s", got)
	}
	h.stop() // omega
	wantScripts := []string{
		"notify_down TCP 192.0.2.10:80 198.51.100.1:80",
		"quorum_down TCP 192.0.2.10:80",
		"notify_up TCP 192.0.2.10:80 198.51.100.1:80",
		"quorum_up TCP 192.0.2.10:80",
		"notify_down TCP 192.0.2.10:80 198.51.100.1:80", // omega
		"notify_down TCP 192.0.2.10:80 198.51.100.2:80",
		"quorum_down TCP 192.0.2.10:80",
	}
	if got := h.scripts.list(); !slices.Equal(got, wantScripts) {
		t.Errorf("scripts, in order:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantScripts, "\n"))
	}
}

func TestEngineAdoptsLeavesOthersAndRepairsDrift(t *testing.T) {
	k := ipvstest.NewKernel()
	desired := buildModel(mustParse(t, twoServers), nil).desired(roles{}, nil)
	other := ipvs.Service{Protocol: ipvs.UDP, Address: netip.MustParseAddr("192.0.2.53"), Port: 53}
	desired.Add(other, ipvs.Destination{Address: netip.MustParseAddr("198.51.100.53"), Port: 53, Weight: 1})
	k.Load(desired)

	h := start(t, twoServers, k, nil)
	if n := len(k.Changes()); n != 0 {
		t.Fatalf("restart on a programmed kernel sent %d messages: %v", n, k.Plans())
	}
	// ipvsadm -d behind lbd's back, and a change to a service lbd does not manage.
	svc := desired.Services[0].Service
	d := desired.Services[0].Destinations[1].Destination
	od := ipvs.Destination{Address: netip.MustParseAddr("198.51.100.54"), Port: 53, Weight: 1}
	k.Apply(context.Background(), ipvs.Plan{Changes: []ipvs.Change{
		{Op: ipvs.Delete, Service: svc, Destination: &d}, {Op: ipvs.Add, Service: other, Destination: &od}}})
	k.ResetLog()
	plan, _, err := h.e.Reconcile(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := plan.String(), "+ -a -t 192.0.2.10:80 -r 198.51.100.2:80 -m -w 1\n"; got != want {
		t.Errorf("drift repair plan:\n%s\nwant\n%s", got, want)
	}
	if st := h.status(); st.Drifts != 1 {
		t.Errorf("drifts = %d", st.Drifts)
	}
	if got := h.table(); !strings.Contains(got, "198.51.100.54:53") || !strings.Contains(got, "198.51.100.53:53") {
		t.Errorf("unmanaged service was touched:\n%s", got)
	}
	h.stop()
	if !strings.Contains(h.table(), "192.0.2.10:80") {
		t.Error("stop removed the services; without RemoveOnStop they stay for the next start to adopt")
	}
}

func TestEngineReloadDrainsRemovedServer(t *testing.T) {
	h := start(t, twoServers, nil, nil)
	const vs = "TCP 192.0.2.10:80"
	idKept := h.h.id(t, vs, "198.51.100.1:80")
	h.event(vs, "198.51.100.1:80", false) // keeps its state across the reload
	svcKey := ipvs.ServiceKey{Family: ipvs.IPv4, Protocol: ipvs.TCP, Address: netip.MustParseAddr("192.0.2.10"), Port: 80}
	rs2 := netip.MustParseAddrPort("198.51.100.2:80")
	h.k.SetActiveConns(svcKey, rs2, 3)

	// Remove server 2 and lower the quorum so the sorry server leaves.
	newCfg := strings.Replace(strings.Replace(twoServers, "      - {address: 198.51.100.2:80, notify_down: /bin/true}\n", "", 1),
		"quorum: 2", "quorum: 1", 1)
	newCfg = strings.Replace(newCfg, "      - {address: 198.51.100.1:80", "      - {address: 198.51.100.3:80}\n      - {address: 198.51.100.1:80", 1)
	plan, err := h.e.Plan(h.ctx, mustParse(t, newCfg))
	if err != nil {
		t.Fatal(err)
	}
	// Make before break: the real servers go in before the sorry server
	// leaves, so the service is never empty.
	wantPlan := `+ -a -t 192.0.2.10:80 -r 198.51.100.2:80 -m -w 0
+ -a -t 192.0.2.10:80 -r 198.51.100.3:80 -m -w 1
- -d -t 192.0.2.10:80 -r 203.0.113.99:80
`
	if plan.String() != wantPlan {
		t.Errorf("Plan:\n%s\nwant\n%s", plan, wantPlan)
	}
	h.k.ResetLog()
	res, err := h.e.Reload(h.ctx, mustParse(t, newCfg))
	if err != nil {
		t.Fatal(err)
	}
	if res.Plan.String() != wantPlan || res.Result.Messages != 3 || res.Generation != 1 {
		t.Errorf("reload plan\n%s(%d messages), want the planned one", res.Plan, res.Result.Messages)
	}
	if h.h.id(t, vs, "198.51.100.1:80") != idKept || h.h.count() != 2 {
		t.Errorf("health targets after reload: kept %v, count %d", h.h.id(t, vs, "198.51.100.1:80") == idKept, h.h.count())
	}
	st := h.status()
	rss := st.VirtualServers[0].RealServers
	if len(rss) != 3 || rss[0].Address != "198.51.100.3:80" || rss[1].Up || !rss[2].Draining {
		t.Errorf("real servers after reload: %+v", rss)
	}
	time.Sleep(30 * time.Millisecond) // several drain polls with connections left
	if !strings.Contains(h.table(), "198.51.100.2:80 -m -w 0") {
		t.Fatalf("draining server removed while it had connections:\n%s", h.table())
	}
	h.k.SetActiveConns(svcKey, rs2, 0)
	h.eventually("drain to finish", func() bool { return !strings.Contains(h.table(), "198.51.100.2:80") })
	if got := h.status().VirtualServers[0].RealServers; len(got) != 2 {
		t.Errorf("drained server still in status: %+v", got)
	}
}

func TestEngineDrainTimeout(t *testing.T) {
	cfg := "global: {lvs_drain_timeout: 20ms}\n" + twoServers
	h := start(t, cfg, nil, nil)
	svcKey := ipvs.ServiceKey{Family: ipvs.IPv4, Protocol: ipvs.TCP, Address: netip.MustParseAddr("192.0.2.10"), Port: 80}
	h.k.SetActiveConns(svcKey, netip.MustParseAddrPort("198.51.100.2:80"), 100)
	if _, err := h.e.Reload(h.ctx, mustParse(t, strings.Replace(strings.Replace(cfg, "      - {address: 198.51.100.2:80, notify_down: /bin/true}\n", "", 1), "quorum: 2", "quorum: 1", 1))); err != nil {
		t.Fatal(err)
	}
	h.eventually("drain timeout", func() bool { return !strings.Contains(h.table(), "198.51.100.2:80") })
}

func TestEngineApplyFailureIsReportedAndRetried(t *testing.T) {
	h := start(t, twoServers, nil, nil)
	h.k.FailWith(func(c ipvs.Change) error {
		if c.Op == ipvs.Add && c.Destination != nil {
			return unix.ENOMEM
		}
		return nil
	})
	_, err := h.e.Reload(h.ctx, mustParse(t, strings.Replace(twoServers, "      - {address: 198.51.100.1:80", "      - 198.51.100.3:80\n      - {address: 198.51.100.1:80", 1)))
	if !errors.Is(err, unix.ENOMEM) || !strings.Contains(err.Error(), "retrying") {
		t.Fatalf("reload error = %v, want the kernel's ENOMEM", err)
	}
	if st := h.status(); st.LastError == "" || !st.RetryPending {
		t.Errorf("status does not show the failure: %+v", st)
	}
	h.k.FailWith(nil)
	h.eventually("retry to converge", func() bool {
		st := h.status()
		return st.LastError == "" && strings.Contains(h.table(), "198.51.100.3:80")
	})
}

func TestEngineVRRPRoleAndSyncDaemon(t *testing.T) {
	cfg := `global:
  lvs_sync_daemon: {interface: eth0, vrrp_instance: VI_1, sync_id: 9}
  lvs_timeouts: {tcp: 900}
vrrp_instances: [{name: VI_1, interface: eth0, virtual_router_id: 1, virtual_ipaddresses: [192.0.2.100]}]
virtual_servers:
  - {address: 192.0.2.100:80, vrrp_instance: VI_1, real_servers: [198.51.100.1:80]}
`
	h := start(t, cfg, nil, nil)
	daemons := func() string {
		ds, _ := h.k.SyncDaemons(context.Background())
		var s []string
		for _, d := range ds {
			s = append(s, d.String())
		}
		return strings.Join(s, "; ")
	}
	if got := daemons(); got != "backup sync daemon (mcast=eth0, syncid=9)" {
		t.Errorf("at start: %q", got)
	}
	if got := h.table(); got != "" {
		t.Errorf("service installed while not MASTER:\n%s", got)
	}
	if to, _ := h.k.Timeouts(context.Background()); to.TCP != 900*time.Second {
		t.Errorf("timeouts %+v", to)
	}
	if err := h.e.SetVRRPState(h.ctx, "VI_1", true); err != nil {
		t.Fatal(err)
	}
	if got := daemons(); got != "master sync daemon (mcast=eth0, syncid=9)" {
		t.Errorf("as master: %q", got)
	}
	if !strings.Contains(h.table(), "192.0.2.100:80") {
		t.Error("service not installed on MASTER")
	}
	h.e.SetVRRPState(h.ctx, "VI_1", false)
	if got := daemons(); got != "backup sync daemon (mcast=eth0, syncid=9)" || h.table() != "" {
		t.Errorf("back to backup: %q\n%s", got, h.table())
	}
}

func TestEngineSloppyTCP(t *testing.T) {
	cfg := "global: {lvs_sloppy_tcp: %v}\nvirtual_servers: [{address: 192.0.2.100:80, scheduler: mh, real_servers: [198.51.100.1:80]}]\n"
	h := start(t, fmt.Sprintf(cfg, true), nil, nil)
	if on, _ := h.k.SloppyTCP(); !on {
		t.Error("lvs_sloppy_tcp: true left sloppy_tcp off")
	}
	if _, err := h.e.Reload(h.ctx, mustParse(t, fmt.Sprintf(cfg, false))); err != nil {
		t.Fatal(err)
	}
	if on, _ := h.k.SloppyTCP(); on {
		t.Error("a reload with lvs_sloppy_tcp: false left sloppy_tcp on")
	}
	// Without the key lbd leaves the kernel's setting alone.
	h.k.SetSloppyTCP(true)
	if _, err := h.e.Reload(h.ctx, mustParse(t, "virtual_servers: [{address: 192.0.2.100:80, scheduler: mh, real_servers: [198.51.100.1:80]}]\n")); err != nil {
		t.Fatal(err)
	}
	if on, _ := h.k.SloppyTCP(); !on {
		t.Error("a file without lvs_sloppy_tcp changed sloppy_tcp")
	}
}

// A global setting the kernel refuses (here the EROFS a unit without
// write access to /proc/sys gets) shows in the status until a later
// attempt succeeds, instead of only in the log.
// Global script_user runs quorum and real server scripts, and MISC
// checks that name no user of their own.
func TestEngineScriptUser(t *testing.T) {
	const misc = "  - address: 192.0.2.11:80\n    real_servers:\n      - {address: 198.51.100.3:80, check: {type: MISC, misc_path: /bin/true}}\n" +
		"      - {address: 198.51.100.4:80, check: {type: MISC, misc_path: /bin/true, user: root}}\n"
	specs := map[string]CheckSpec{}
	var mu sync.Mutex
	h := start(t, "global: {script_user: nobody}\n"+twoServers+misc, nil, func(o *Options) {
		std := NewCheckerFactory(nil)
		o.NewChecker = func(s CheckSpec) (healthcheck.Checker, error) {
			mu.Lock()
			specs[s.RealServer] = s
			mu.Unlock()
			return std(s)
		}
	})
	h.event("TCP 192.0.2.10:80", "198.51.100.1:80", false)
	h.eventually("quorum_down", func() bool { return len(h.scripts.list()) >= 2 })
	h.scripts.mu.Lock()
	users := slices.Clone(h.scripts.users)
	h.scripts.mu.Unlock()
	for i, u := range users {
		if u != "nobody" {
			t.Errorf("script %s ran as %q, want script_user nobody", h.scripts.list()[i], u)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for rs, want := range map[string]string{"198.51.100.3:80": "nobody", "198.51.100.4:80": "root"} {
		s, ok := specs[rs]
		if !ok {
			t.Errorf("no checker built for %s", rs)
			continue
		}
		if got := cmp.Or(s.Check.User, s.ScriptUser); got != want {
			t.Errorf("MISC check of %s runs as %q, want %q", rs, got, want)
		}
	}
}

func TestEngineRefusedSettingShows(t *testing.T) {
	cfg := "global: {lvs_sloppy_tcp: true, lvs_timeouts: {tcp: 600s}}\nvirtual_servers: [{address: 192.0.2.100:80, scheduler: mh, real_servers: [198.51.100.1:80]}]\n"
	k := ipvstest.NewKernel()
	k.FailSettings(&fs.PathError{Op: "open", Path: "/proc/sys/net/ipv4/vs/sloppy_tcp", Err: syscall.EROFS})
	h := start(t, cfg, k, nil)
	st, err := h.e.Status(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"lvs_sloppy_tcp", "lvs_timeouts"} {
		if !strings.Contains(st.SettingErrors[key], "read-only file system") {
			t.Errorf("status.SettingErrors[%s] = %q, want the EROFS; all: %v", key, st.SettingErrors[key], st.SettingErrors)
		}
	}
	if st.SettingErrors["lvs_sync_daemon"] != "" {
		t.Errorf("an unconfigured sync daemon reported an error: %v", st.SettingErrors)
	}
	k.FailSettings(nil)
	if _, err := h.e.Reload(h.ctx, mustParse(t, cfg)); err != nil {
		t.Fatal(err)
	}
	if st, _ := h.e.Status(h.ctx); len(st.SettingErrors) != 0 {
		t.Errorf("after a successful reload the errors stayed: %v", st.SettingErrors)
	}
	if on, _ := k.SloppyTCP(); !on {
		t.Error("the reload after the fix did not set sloppy_tcp")
	}
}

func TestEngineRemoveOnStop(t *testing.T) {
	h := start(t, twoServers, nil, func(o *Options) { o.RemoveOnStop = true })
	h.stop()
	if got := h.table(); got != "" {
		t.Errorf("left behind:\n%s", got)
	}
	if _, err := h.e.Status(context.Background()); !errors.Is(err, ErrStopped) {
		t.Errorf("request after stop: %v", err)
	}
}

// Changed tells a watcher that the status moved, so the BGP announcer
// can follow quorum without polling.
func TestEngineChanged(t *testing.T) {
	h := start(t, twoServers, nil, nil)
	select {
	case <-h.e.Changed():
	case <-time.After(5 * time.Second):
		t.Fatal("no change signalled after start")
	}
	h.event("TCP 192.0.2.10:80", "198.51.100.1:80", false)
	select {
	case <-h.e.Changed():
	case <-time.After(5 * time.Second):
		t.Fatal("no change signalled after a health event")
	}
	if st := h.status(); st.VirtualServers[0].QuorumUp {
		t.Error("quorum still up after the change")
	}
}

// TestEngineReportsHealthChangesAndLastChecks: OnHealth hears every real
// server going up or down (not a weight change), and Status carries the
// probe's last result, the configured scheduler and forwarding.
func TestEngineReportsHealthChangesAndLastChecks(t *testing.T) {
	var mu sync.Mutex
	var changes []HealthChange
	h := start(t, twoServers, nil, func(o *Options) {
		o.OnHealth = func(c HealthChange) {
			mu.Lock()
			defer mu.Unlock()
			changes = append(changes, c)
		}
	})
	id := h.h.id(t, "", "198.51.100.2:80")
	h.h.mu.Lock()
	h.h.last[id] = healthcheck.Checked{Result: healthcheck.Result{Reason: "connection refused", Latency: time.Millisecond}}
	h.h.mu.Unlock()
	h.event("", "198.51.100.2:80", false)
	h.event("", "198.51.100.2:80", false) // no change: not reported
	h.h.events <- healthcheck.Event{ID: id, Up: true, Weight: 5, Reason: "dynamic weight"}
	h.status()
	mu.Lock()
	got := slices.Clone(changes)
	mu.Unlock()
	if len(got) != 2 || got[0].Up || got[0].Reason != "test" || got[0].RealServer != "198.51.100.2:80" || !got[1].Up {
		t.Errorf("health changes %+v, want DOWN (test) then UP of 198.51.100.2:80", got)
	}
	vs := h.status().VirtualServers[0]
	if vs.Scheduler != "wlc" || vs.Forwarding != "NAT" {
		t.Errorf("scheduler %q forwarding %q, want the defaults wlc NAT", vs.Scheduler, vs.Forwarding)
	}
	for _, r := range vs.RealServers {
		switch {
		case r.Address == "198.51.100.2:80" && (r.LastCheck == nil || r.LastCheck.Reason != "connection refused"):
			t.Errorf("%s: last check %+v, want the probe's", r.Address, r.LastCheck)
		case r.Address == "198.51.100.1:80" && r.LastCheck != nil:
			t.Errorf("%s: last check %+v before any probe", r.Address, r.LastCheck)
		}
	}
}
