package lb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/healthcheck"
	"github.com/lbd-project/lbd/internal/script"
	"github.com/lbd-project/lbd/ipvs"
)

// Health is where the engine registers health-check targets; a
// *healthcheck.Runner implements it. Events come back on
// Options.HealthEvents.
type Health interface {
	Add(t healthcheck.Target) error
	Remove(id string)
}

// lastChecker is a Health that keeps each target's last probe result
// (*healthcheck.Runner does), which Status reports.
type lastChecker interface {
	Last(id string) (healthcheck.Checked, bool)
}

// Options configures an Engine. Only Kernel is required.
type Options struct {
	// Kernel is the IPVS table the engine reconciles.
	Kernel Kernel
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Scripts runs notify and quorum scripts, each bounded by
	// global.notify_timeout; default: a script.Queue.
	Scripts ScriptRunner
	// Health and HealthEvents replace the engine's own healthcheck.Runner
	// (tests feed events directly). Set both or neither.
	Health       Health
	HealthEvents <-chan healthcheck.Event
	// NewChecker builds checkers; default NewCheckerFactory.
	NewChecker CheckerFactory
	// ApplyTimeout bounds one kernel read or apply. Default 30s.
	ApplyTimeout time.Duration
	// DrainPoll is how often draining real servers' connections are
	// counted. Default 1s.
	DrainPoll time.Duration
	// RampTick is how often slow start ramps step. Default 1s.
	RampTick time.Duration
	// RetryMin and RetryMax bound the back-off between retries of a
	// failed apply. Defaults 1s and 30s.
	RetryMin, RetryMax time.Duration
	// RemoveOnStop deletes the managed services when Run ends, as
	// keepalived does by default. lbd's default keeps them, so a restart
	// adopts the table without dropping a connection.
	RemoveOnStop bool
	// Now defaults to time.Now.
	Now func() time.Time
	// State is the operator's run-time state to restore: run-time real
	// servers and drains (see RuntimeChange, Drain).
	State State
	// SaveState, if set, persists the run-time state after every change
	// of it; it runs on the engine goroutine, so it must be quick.
	SaveState func(State) error
	// OnHealth, if set, is told every real server that goes up or down
	// (the daemon's recent events); it runs on the engine goroutine, so
	// it must not block.
	OnHealth func(HealthChange)
}

// HealthChange is a real server going up or down.
type HealthChange struct {
	VirtualServer, RealServer string
	Up                        bool
	Reason                    string
	At                        time.Time
}

// ErrStopped is returned by requests to an engine whose Run has ended (or
// not started before the request's context ended).
var ErrStopped = errors.New("lb: engine stopped")

// Engine keeps the kernel's IPVS table equal to the configuration, health
// and VRRP roles. One goroutine (Run) owns all state; every method sends
// it a request and waits for the answer, so methods are safe for
// concurrent use and see a consistent state.
type Engine struct {
	opts    Options
	log     *slog.Logger
	reqs    chan func(*loop)
	stopped chan struct{}
	// changed is poked after every step of the loop that may have
	// changed the status (health, reloads, applies), for Changed.
	changed chan struct{}

	initial *model
	targets []healthcheck.Target
}

// New prepares an engine for cfg (a validated configuration from
// conf.Load). It builds every checker, so a check that cannot work
// (unknown MISC user, ...) fails here rather than later. Run starts it.
func New(cfg *conf.Config, opts Options) (*Engine, error) {
	if opts.Kernel == nil {
		return nil, errors.New("lb: Options.Kernel is required")
	}
	if (opts.Health == nil) != (opts.HealthEvents == nil) {
		return nil, errors.New("lb: set both Options.Health and Options.HealthEvents, or neither")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.NewChecker == nil {
		opts.NewChecker = NewCheckerFactory(healthcheck.NewPinger())
	}
	opts.ApplyTimeout = cmpOr(opts.ApplyTimeout, 30*time.Second)
	opts.DrainPoll = cmpOr(opts.DrainPoll, time.Second)
	opts.RampTick = cmpOr(opts.RampTick, rampTick)
	opts.RetryMin = cmpOr(opts.RetryMin, time.Second)
	opts.RetryMax = cmpOr(opts.RetryMax, 30*time.Second)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	e := &Engine{opts: opts, log: opts.Logger, reqs: make(chan func(*loop)), stopped: make(chan struct{}),
		changed: make(chan struct{}, 1)}
	e.initial = buildModel(cfg, nil)
	e.initial.applyState(opts.State, opts.Now())
	e.initial.stamp(opts.Now())
	var err error
	if e.targets, err = e.newTargets(e.initial, nil); err != nil {
		return nil, err
	}
	return e, nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// newTargets builds the health targets of m that old (nil at start) does
// not have.
func (e *Engine) newTargets(m, old *model) ([]healthcheck.Target, error) {
	var out []healthcheck.Target
	var errs []error
	for _, v := range m.vss {
		for _, r := range v.rss {
			for _, rc := range r.checks {
				// One target per probe: built for its first user.
				if m.targets[rc.target][0] != r || (old != nil && old.targets[rc.target] != nil) {
					continue
				}
				spec := CheckSpec{Check: rc.check, Target: rc.check.CheckTarget(r.cfg, v.svcs[0]), VirtualServer: v.cfg.Name,
					RealServer: r.key, ScriptUser: m.cfg.Global.ScriptUser}
				c, err := e.opts.NewChecker(spec)
				if err != nil {
					errs = append(errs, fmt.Errorf("virtual server %s real server %s: %w", v.cfg.Name, r.key, err))
					continue
				}
				out = append(out, healthcheck.Target{ID: rc.target, Checker: c, Options: checkOptions(rc.check, v.cfg.Alpha)})
			}
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("lb: %w", errors.Join(errs...))
	}
	return out, nil
}

// loop is the state Run's goroutine owns.
type loop struct {
	e     *Engine
	ctx   context.Context
	m     *model
	roles roles
	// removed are services a reload dropped that may still be in the
	// kernel: managed until deleted.
	removed map[ipvs.ServiceKey]ipvs.Service
	health  Health
	scripts ScriptRunner

	generation    int
	lastReconcile time.Time
	lastErr       error
	retry         *time.Timer
	retryDelay    time.Duration
	retryPending  bool
	drifts        int
	syncDaemon    *ipvs.SyncDaemon  // the one lbd started
	rampNew       rampKey           // a run-time add being prepared: slow start it
	settingErrs   map[string]string // global setting (config key) → why the kernel refused it
	// runtime are the run-time real servers as requested, including
	// those whose virtual server the configuration lacks now.
	runtime []RuntimeServer
}

// Run starts the health checks, adopts and reconciles the kernel table,
// then serves events and requests until ctx ends. On the way out it runs
// omega scripts, removes the managed services if RemoveOnStop, and
// returns nil. It returns an error only if it cannot start.
func (e *Engine) Run(ctx context.Context) error {
	defer close(e.stopped)
	l := &loop{e: e, ctx: ctx, m: e.initial, roles: roles{}, removed: map[ipvs.ServiceKey]ipvs.Service{},
		retry: time.NewTimer(time.Hour), retryDelay: e.opts.RetryMin, runtime: slices.Clone(e.opts.State.Runtime)}
	l.retry.Stop()
	e.initial = nil

	events := e.opts.HealthEvents
	hctx, hcancel := context.WithCancel(context.Background())
	defer hcancel()
	if e.opts.Health != nil {
		l.health = e.opts.Health
	} else {
		ch := make(chan healthcheck.Event)
		r := healthcheck.NewRunner(healthcheck.RunnerConfig{Events: ch})
		done := make(chan struct{})
		go func() { defer close(done); _ = r.Run(hctx) }()
		defer func() { hcancel(); <-done }()
		l.health, events = r, ch
	}
	l.scripts = e.opts.Scripts
	if l.scripts == nil {
		q := script.NewQueue(script.QueueConfig{Len: maxQueuedScripts, Log: e.log})
		// Close lets the omega scripts l.stop queues run, for at most
		// the notify_timeout in force at stop plus a second.
		defer func() { q.Close(l.m.cfg.Global.NotifyTimeout.D() + time.Second) }()
		l.scripts = q
	}

	l.start()
	e.poke()
	interval := l.m.cfg.Global.LVSReconcileInterval.D()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	drain := time.NewTicker(e.opts.DrainPoll)
	defer drain.Stop()
	ramp := time.NewTicker(e.opts.RampTick)
	defer ramp.Stop()
	defer l.retry.Stop()
	for {
		select {
		case <-ctx.Done():
			l.stop()
			return nil
		case fn := <-e.reqs:
			fn(l)
			if d := l.m.cfg.Global.LVSReconcileInterval.D(); d != interval {
				interval = d
				tick.Reset(d)
			}
		case ev := <-events:
			dirty := map[ipvs.ServiceKey]bool{}
			l.healthEvent(ev, dirty)
			// Take whatever else is ready, so a burst costs one apply.
		more:
			for range 1024 {
				select {
				case ev := <-events:
					l.healthEvent(ev, dirty)
				default:
					break more
				}
			}
			if len(dirty) > 0 {
				l.sync(dirty, "health")
			}
		case <-tick.C:
			l.reconcile("periodic")
		case <-l.retry.C:
			l.retryPending = false
			l.reconcile("retry")
		case <-drain.C:
			l.checkDrains(nil)
		case <-ramp.C:
			l.stepRamps()
		}
		e.poke()
	}
}

// Changed is ready after the engine did anything that may have changed
// its Status: a watcher (the BGP announcer) then reads Status instead of
// polling it. One value stands for any number of changes.
func (e *Engine) Changed() <-chan struct{} { return e.changed }

func (e *Engine) poke() {
	select {
	case e.changed <- struct{}{}:
	default:
	}
}

// kctx bounds one kernel operation.
func (l *loop) kctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(l.ctx), l.e.opts.ApplyTimeout)
}

// start registers health targets, announces initial quorum losses, and
// reconciles: on a kernel that already holds the desired table this sends
// nothing.
func (l *loop) start() {
	for _, t := range l.e.targets {
		if err := l.health.Add(t); err != nil {
			l.e.log.Error("health check not started", "target", t.ID, "err", err)
		}
	}
	l.e.targets = nil
	for _, v := range l.m.vss {
		if !v.quorumUp {
			l.e.log.Warn("virtual server starts without quorum", "vs", v.cfg.Name, "weight", v.weightSum(), "quorum", *v.cfg.Quorum)
			l.runScript("quorum_down", v, nil, v.cfg.QuorumDown)
		}
	}
	l.reconcile("start")
}

// stop runs omega scripts and, with RemoveOnStop, deletes the managed
// services.
func (l *loop) stop() {
	for _, v := range l.m.vss {
		if !v.cfg.Omega {
			continue
		}
		for _, r := range v.rss {
			if r.up && !r.draining {
				l.runScript("notify_down", v, r, r.cfg.NotifyDown)
			}
		}
		if v.quorumUp {
			l.runScript("quorum_down", v, nil, v.cfg.QuorumDown)
		}
	}
	if !l.e.opts.RemoveOnStop {
		return
	}
	var p ipvs.Plan
	for _, s := range l.managed() {
		p.Changes = append(p.Changes, ipvs.Change{Op: ipvs.Delete, Service: s})
	}
	ctx, cancel := l.kctx()
	defer cancel()
	cur, err := l.e.opts.Kernel.DumpServices(ctx, slices.Collect(maps.Values(l.managed()))...)
	if err != nil {
		l.e.log.Error("cannot read the kernel table at stop", "err", err)
		return
	}
	p = ipvs.Diff(ipvs.Table{}, cur)
	l.apply(p, "stop")
}

// runScript queues a notify or quorum script with keepalived-like context
// in the environment.
func (l *loop) runScript(kind string, v *vsState, r *rsState, cmd conf.Command) {
	if len(cmd) == 0 {
		return
	}
	env := []string{"LBD_EVENT=" + kind, "LBD_VIRTUAL_SERVER=" + v.cfg.Name}
	what := kind + " " + v.cfg.Name
	if r != nil {
		env = append(env, "LBD_REAL_SERVER="+r.key)
		what += " " + r.key
	}
	g := l.m.cfg.Global
	l.scripts.Push(what, script.Spec{Argv: cmd, Env: env, Timeout: g.NotifyTimeout.D(), User: g.ScriptUser})
}

// managed maps every service key lbd owns now: the configured services and
// those a reload removed that may still be in the kernel.
func (l *loop) managed() map[ipvs.ServiceKey]ipvs.Service {
	out := maps.Clone(l.m.services())
	maps.Copy(out, l.removed)
	return out
}

// healthEvent applies one health transition and marks the services whose
// table it changes.
func (l *loop) healthEvent(ev healthcheck.Event, dirty map[ipvs.ServiceKey]bool) {
	// Every real server that shares the probe (none for a target a
	// reload just removed).
	for _, r := range l.m.targets[ev.ID] {
		l.rsHealth(r, ev, dirty)
	}
}

// rsHealth applies a probe's transition to one of its real servers, up
// when each of its checks is.
func (l *loop) rsHealth(r *rsState, ev healthcheck.Event, dirty map[ipvs.ServiceKey]bool) {
	c := r.check(ev.ID)
	if c == nil {
		return
	}
	v := r.vs
	wasUp := r.up
	c.up, c.reason, c.weight = ev.Up, ev.Reason, healthcheck.NoWeight
	if ev.Up {
		c.weight = ev.Weight
	}
	r.combine()
	if r.up != wasUp {
		r.since = l.e.opts.Now()
		if fn := l.e.opts.OnHealth; fn != nil {
			fn(HealthChange{VirtualServer: v.cfg.Name, RealServer: r.key, Up: r.up, Reason: r.reason, At: r.since})
		}
	}
	state := "DOWN"
	if r.up {
		state = "UP"
	}
	l.e.log.Info("real server "+state, "vs", v.cfg.Name, "rs", r.key, "reason", r.reason, "weight", r.effWeight())
	switch {
	case r.up && !wasUp:
		l.runScript("notify_up", v, r, r.cfg.NotifyUp)
		r.startRamp(l.e.opts.Now())
	case !r.up && wasUp:
		l.runScript("notify_down", v, r, r.cfg.NotifyDown)
		r.stopRamp()
	}
	l.quorum(v)
	for _, s := range v.svcs {
		dirty[s.Key()] = true
	}
}

// quorum re-evaluates v's quorum and reports a change.
func (l *loop) quorum(v *vsState) {
	if !v.updateQuorum() {
		return
	}
	if v.quorumUp {
		l.e.log.Info("virtual server gained quorum", "vs", v.cfg.Name, "weight", v.weightSum(),
			"quorum", *v.cfg.Quorum, "hysteresis", v.cfg.Hysteresis)
		l.runScript("quorum_up", v, nil, v.cfg.QuorumUp)
		return
	}
	l.e.log.Warn("virtual server lost quorum", "vs", v.cfg.Name, "weight", v.weightSum(),
		"quorum", *v.cfg.Quorum, "hysteresis", v.cfg.Hysteresis, "sorry_server", v.cfg.SorryServer != nil)
	l.runScript("quorum_down", v, nil, v.cfg.QuorumDown)
}

// sync reconciles only the services in keys, reading just those from the
// kernel.
func (l *loop) sync(keys map[ipvs.ServiceKey]bool, reason string) (ipvs.Plan, ipvs.ApplyResult, error) {
	plan, cur, err := l.planFor(l.m, keys, l.removed)
	if err != nil {
		l.failed(fmt.Errorf("lb: read kernel table: %w", err), reason)
		return plan, ipvs.ApplyResult{}, err
	}
	res, err := l.apply(plan, reason)
	l.forgetRemoved(cur, res)
	return plan, res, err
}

// planFor computes the plan that makes the services keys of the kernel
// match m, and returns the kernel's state of them. removed holds services
// m no longer has that may still be in the kernel.
func (l *loop) planFor(m *model, keys map[ipvs.ServiceKey]bool, removed map[ipvs.ServiceKey]ipvs.Service) (ipvs.Plan, ipvs.Table, error) {
	known := m.services()
	svcs := make([]ipvs.Service, 0, len(keys))
	for k := range keys {
		if s, ok := known[k]; ok {
			svcs = append(svcs, s)
		} else if s, ok := removed[k]; ok {
			svcs = append(svcs, s)
		}
	}
	ctx, cancel := l.kctx()
	defer cancel()
	cur, err := l.e.opts.Kernel.DumpServices(ctx, svcs...)
	if err != nil {
		return ipvs.Plan{}, ipvs.Table{}, err
	}
	return ipvs.Diff(m.desired(l.roles, keys), cur), cur, nil
}

// reconcile compares the whole managed part of the kernel table with the
// desired one and repairs any difference; outside start-up and retries a
// difference is drift (someone changed the table) and is logged as such.
func (l *loop) reconcile(reason string) (ipvs.Plan, ipvs.ApplyResult, error) {
	ctx, cancel := l.kctx()
	cur, err := l.e.opts.Kernel.Dump(ctx)
	cancel()
	if err != nil {
		err = fmt.Errorf("lb: read kernel table: %w", err)
		l.failed(err, reason)
		return ipvs.Plan{}, ipvs.ApplyResult{}, err
	}
	managed := l.managed()
	mine := ipvs.Table{Services: slices.DeleteFunc(cur.Services, func(e ipvs.ServiceEntry) bool {
		_, ok := managed[e.Key()]
		return !ok
	})}
	plan := ipvs.Diff(l.m.desired(l.roles, nil), mine)
	if reason == "periodic" || reason == "request" {
		if len(plan.Changes) > 0 && !l.retryPending && l.lastErr == nil {
			l.drifts++
			l.e.log.Warn("kernel table drifted from the desired state; repairing", "changes", len(plan.Changes),
				"plan", summarize(plan))
		}
	}
	if reason == "start" {
		l.e.log.Info("adopting kernel table", "managed_services", len(managed), "present", len(mine.Services),
			"changes", len(plan.Changes))
	}
	res, err := l.apply(plan, reason)
	l.forgetRemoved(mine, res)
	l.lastReconcile = l.e.opts.Now()
	l.checkDrains(&mine)
	l.syncGlobals()
	return plan, res, err
}

// forgetRemoved drops removed services that are gone from the kernel.
func (l *loop) forgetRemoved(cur ipvs.Table, res ipvs.ApplyResult) {
	if len(l.removed) == 0 {
		return
	}
	present := map[ipvs.ServiceKey]bool{}
	for _, e := range cur.Services {
		present[e.Key()] = true
	}
	for _, cr := range res.Results {
		if cr.Err == nil && cr.Change.Op == ipvs.Delete && cr.Change.Destination == nil {
			delete(present, cr.Change.Service.Key())
		}
	}
	configured := l.m.services()
	for k := range l.removed {
		if _, ok := configured[k]; ok || !present[k] {
			delete(l.removed, k)
		}
	}
}

// apply sends a plan, logs what it did, and on failure schedules a retry.
func (l *loop) apply(p ipvs.Plan, reason string) (ipvs.ApplyResult, error) {
	if len(p.Changes) == 0 {
		if reason != "periodic" {
			l.succeeded()
		}
		return ipvs.ApplyResult{}, nil
	}
	ctx, cancel := l.kctx()
	defer cancel()
	start := time.Now()
	res, err := l.e.opts.Kernel.Apply(ctx, p)
	failed := res.Failed()
	l.e.log.Info("applied IPVS changes", "reason", reason, "changes", len(p.Changes), "failed", len(failed),
		"messages", res.Messages, "took", time.Since(start).Round(time.Microsecond), "plan", summarize(p))
	if err != nil {
		for _, cr := range failed {
			l.e.log.Error("IPVS change failed", "change", cr.Change.String(), "err", cr.Err)
		}
		l.failed(err, reason)
		return res, err
	}
	l.succeeded()
	return res, nil
}

func (l *loop) succeeded() {
	if l.lastErr != nil {
		l.e.log.Info("IPVS table converged after earlier failures")
	}
	l.lastErr = nil
	l.retryDelay = l.e.opts.RetryMin
}

// failed records an error and schedules a full reconcile with back-off.
func (l *loop) failed(err error, reason string) {
	l.lastErr = err
	if l.retryPending {
		return
	}
	l.e.log.Error("IPVS reconcile failed; will retry", "reason", reason, "err", err, "retry_in", l.retryDelay)
	l.retry.Reset(l.retryDelay)
	l.retryPending = true
	l.retryDelay = min(2*l.retryDelay, l.e.opts.RetryMax)
}

// summarize renders up to 20 changes of a plan for a log line.
func summarize(p ipvs.Plan) string {
	const shown = 20
	var lines []string
	for i, c := range p.Changes {
		if i == shown {
			lines = append(lines, fmt.Sprintf("... and %d more", len(p.Changes)-shown))
			break
		}
		lines = append(lines, c.String())
	}
	return strings.Join(lines, "; ")
}

// checkDrains ends the drains whose real servers have no active
// connections left, or whose deadline passed. cur, when given, is a dump
// that already has the counters.
func (l *loop) checkDrains(cur *ipvs.Table) {
	draining := l.m.draining()
	if len(draining) == 0 {
		return
	}
	if cur == nil {
		keys := map[ipvs.ServiceKey]ipvs.Service{}
		for _, r := range draining {
			for _, s := range r.vs.svcs {
				keys[s.Key()] = s
			}
		}
		ctx, cancel := l.kctx()
		t, err := l.e.opts.Kernel.DumpServices(ctx, slices.Collect(maps.Values(keys))...)
		cancel()
		if err != nil {
			l.e.log.Error("cannot count connections of draining real servers", "err", err)
			return
		}
		cur = &t
	}
	active := map[ipvs.ServiceKey]map[string]uint32{}
	for _, e := range cur.Services {
		m := map[string]uint32{}
		for _, d := range e.Destinations {
			m[d.Destination.String()] = d.ActiveConns
		}
		active[e.Key()] = m
	}
	now := l.e.opts.Now()
	dirty := map[ipvs.ServiceKey]bool{}
	for _, r := range draining {
		var conns uint32
		for _, s := range r.vs.svcs {
			conns += active[s.Key()][r.vs.cfg.Destination(r.cfg, s).String()]
		}
		expired := !now.Before(r.drainDeadline)
		if conns > 0 && !expired {
			continue
		}
		why := "no active connections left"
		if conns > 0 {
			why = fmt.Sprintf("drain timeout with %d active connections", conns)
		}
		if r.disabled {
			l.e.log.Info("disabled real server drained", "vs", r.vs.cfg.Name, "rs", r.key, "why", why)
			r.drained = true
		} else {
			l.e.log.Info("drained real server removed", "vs", r.vs.cfg.Name, "rs", r.key, "why", why)
			r.removeDrained()
		}
		for _, s := range r.vs.svcs {
			dirty[s.Key()] = true
		}
	}
	if len(dirty) > 0 {
		l.sync(dirty, "drain")
	}
}

// syncGlobals sets the IPVS timeouts and sloppy TCP, and runs the sync
// daemon in the role of its VRRP instance, when the kernel supports them.
// A setting the kernel refuses (sloppy_tcp is a sysctl, read-only under a
// unit without write access to /proc/sys/net/ipv4/vs) is kept in
// settingErrs for status, metrics and doctor: a log line alone would let
// the hitless handover it exists for fail unnoticed.
func (l *loop) syncGlobals() {
	gk, ok := l.e.opts.Kernel.(GlobalKernel)
	if !ok {
		return
	}
	ctx, cancel := l.kctx()
	defer cancel()
	errs := map[string]string{}
	for _, s := range []struct {
		name string
		sync func(context.Context, GlobalKernel) error
	}{
		{"lvs_timeouts", l.syncTimeouts},
		{"lvs_sloppy_tcp", l.syncSloppyTCP},
		{"lvs_sync_daemon", l.syncSyncDaemon},
	} {
		if err := s.sync(ctx, gk); err != nil {
			l.e.log.Error("IPVS setting failed", "setting", s.name, "err", err)
			errs[s.name] = err.Error()
		}
	}
	l.settingErrs = errs
}

func (l *loop) syncTimeouts(ctx context.Context, gk GlobalKernel) error {
	t := l.m.cfg.Global.LVSTimeouts
	if t == nil {
		return nil
	}
	want := ipvs.Timeouts{TCP: t.TCP.D(), TCPFin: t.TCPFin.D(), UDP: t.UDP.D()}
	cur, err := gk.Timeouts(ctx)
	if err == nil && (want.TCP != 0 && cur.TCP != want.TCP || want.TCPFin != 0 && cur.TCPFin != want.TCPFin ||
		want.UDP != 0 && cur.UDP != want.UDP) {
		if err = gk.SetTimeouts(ctx, want); err == nil {
			l.e.log.Info("set IPVS timeouts", "tcp", want.TCP, "tcpfin", want.TCPFin, "udp", want.UDP)
		}
	}
	return err
}

func (l *loop) syncSloppyTCP(_ context.Context, gk GlobalKernel) error {
	want := l.m.cfg.Global.LVSSloppyTCP
	if want == nil {
		return nil
	}
	cur, err := gk.SloppyTCP()
	if err == nil && cur != *want {
		if err = gk.SetSloppyTCP(*want); err == nil {
			l.e.log.Info("set IPVS sloppy_tcp", "on", *want)
		}
	}
	return err
}

func (l *loop) syncSyncDaemon(ctx context.Context, gk GlobalKernel) error {
	var want *ipvs.SyncDaemon
	if s := l.m.cfg.Global.LVSSyncDaemon; s != nil {
		d := ipvs.SyncDaemon{State: ipvs.Backup, McastIfn: s.Interface, SyncID: s.SyncID, SyncMaxLen: s.MaxLen,
			McastPort: s.Port, McastTTL: s.TTL}
		if s.Group != nil {
			d.McastGroup = s.Group.Addr
		}
		if l.roles[s.VRRPInstance] {
			d.State = ipvs.Master
		}
		want = &d
	}
	running, err := gk.SyncDaemons(ctx)
	if err != nil {
		return fmt.Errorf("cannot list sync daemons: %w", err)
	}
	var keep []ipvs.SyncDaemon
	for _, d := range running {
		// With a sync daemon configured lbd owns both roles; without one
		// it stops only the daemon it started.
		var stop bool
		if want == nil {
			stop = l.syncDaemon != nil && d.State == l.syncDaemon.State
		} else {
			stop = d.State != want.State || !sameDaemon(d, *want)
		}
		if !stop {
			keep = append(keep, d)
			continue
		}
		err := gk.StopSyncDaemon(ctx, d.State)
		l.e.log.Info("stopped IPVS sync daemon", "daemon", d.String(), "err", err)
	}
	running = keep
	if want == nil {
		l.syncDaemon = nil
		return nil
	}
	for _, d := range running {
		if d.State == want.State && sameDaemon(d, *want) {
			l.syncDaemon = want
			return nil
		}
	}
	if err := gk.StartSyncDaemon(ctx, *want); err != nil {
		return fmt.Errorf("cannot start %s: %w", want.String(), err)
	}
	l.e.log.Info("started IPVS sync daemon", "daemon", want.String())
	l.syncDaemon = want
	return nil
}

// sameDaemon compares the settings that were asked for; the kernel fills
// in defaults for the zero ones.
func sameDaemon(have, want ipvs.SyncDaemon) bool {
	return have.McastIfn == want.McastIfn && have.SyncID == want.SyncID &&
		(want.SyncMaxLen == 0 || have.SyncMaxLen == want.SyncMaxLen) &&
		(!want.McastGroup.IsValid() || have.McastGroup == want.McastGroup) &&
		(want.McastPort == 0 || have.McastPort == want.McastPort) &&
		(want.McastTTL == 0 || have.McastTTL == want.McastTTL)
}

// do runs fn on the engine goroutine and waits for it.
func (e *Engine) do(ctx context.Context, fn func(*loop)) error {
	done := make(chan struct{})
	select {
	case e.reqs <- func(l *loop) { fn(l); close(done) }:
	case <-ctx.Done():
		return ctx.Err()
	case <-e.stopped:
		return ErrStopped
	}
	<-done
	return nil
}

// stepRamps steps every slow start ramp and applies the weights that
// changed.
func (l *loop) stepRamps() {
	now := l.e.opts.Now()
	dirty := map[ipvs.ServiceKey]bool{}
	for _, v := range l.m.vss {
		for _, r := range v.rss {
			if r.ramping() && r.stepRamp(now) {
				for _, s := range v.svcs {
					dirty[s.Key()] = true
				}
			}
		}
	}
	if len(dirty) > 0 {
		l.sync(dirty, "slow start")
	}
}
