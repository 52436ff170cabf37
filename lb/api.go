package lb

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"time"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/healthcheck"
	"github.com/lbd-project/lbd/ipvs"
)

// This file holds the requests other goroutines make of the engine. Each
// runs on the engine goroutine (see Engine.do), the way a control socket,
// the VRRP side or a signal handler will reach it.

// ReloadResult reports what a reload did.
type ReloadResult struct {
	// Generation counts accepted configurations; the first is 0.
	Generation int
	// Plan is what was sent to the kernel: only the changed objects.
	Plan ipvs.Plan
	// Result has each change's outcome.
	Result ipvs.ApplyResult
}

// prepared is a reload computed but not yet committed.
type prepared struct {
	m       *model
	keys    map[ipvs.ServiceKey]bool
	plan    ipvs.Plan
	current ipvs.Table
	removed map[ipvs.ServiceKey]ipvs.Service
	quorum  []*vsState // virtual servers whose quorum the reload flips
	add     []healthcheck.Target
	drop    []string
}

// prepare computes a reload of cfg without changing anything: the new
// model with health carried over, and the plan against the kernel for the
// services whose desired state changes.
func (l *loop) prepare(cfg *conf.Config) (*prepared, error) {
	p := &prepared{m: buildModel(cfg, l.m)}
	p.m.applyState(State{Runtime: l.runtime}, l.e.opts.Now())
	p.m.carryOver(l.m, l.e.opts.Now(), cfg.Global.LVSDrainTimeout.D())
	if k := l.rampNew; k.vs != "" {
		if v := p.m.byID[k.vs]; v != nil {
			if r := v.rs(k.rs); r != nil && r.up {
				r.startRamp(l.e.opts.Now())
			}
		}
	}
	p.m.stamp(l.e.opts.Now())
	for _, v := range p.m.vss {
		if l.m.byID[v.id] != nil && v.updateQuorum() {
			p.quorum = append(p.quorum, v)
		}
	}
	p.removed = maps.Clone(l.removed)
	newSvcs := p.m.services()
	for k, s := range l.m.services() {
		if _, ok := newSvcs[k]; !ok {
			p.removed[k] = s
		}
	}
	// Only services whose desired state differs are read and compared:
	// a one-server change on a 10,000-service table reads one service.
	p.keys = changedKeys(l.m, p.m, l.roles)
	for k := range p.removed {
		p.keys[k] = true
	}
	var err error
	p.plan, p.current, err = l.planFor(p.m, p.keys, p.removed)
	if err != nil {
		return nil, fmt.Errorf("lb: read kernel table: %w", err)
	}
	for id := range l.m.targets {
		if p.m.targets[id] == nil {
			p.drop = append(p.drop, id)
		}
	}
	if p.add, err = l.e.newTargets(p.m, l.m); err != nil {
		return nil, err
	}
	return p, nil
}

// Reload switches to cfg (validated by conf.Load): unchanged services keep
// their health state and are not touched; changed ones are edited in
// place; removed ones are deleted; a real server the reload removes is
// drained (weight 0) and deleted when its active connections reach 0 or
// global.lvs_drain_timeout passes. If the new configuration cannot be
// prepared (a checker cannot be built, the kernel cannot be read) nothing
// changes and the old configuration stays. If applying fails, the new
// configuration stays in effect, the failures are returned and logged, and
// the engine retries.
func (e *Engine) Reload(ctx context.Context, cfg *conf.Config) (ReloadResult, error) {
	var res ReloadResult
	var rerr error
	err := e.do(ctx, func(l *loop) {
		p, err := l.prepare(cfg)
		if err != nil {
			rerr = err
			l.e.log.Error("reload rejected; keeping the running configuration", "err", err)
			return
		}
		res.Result, rerr = l.commit(p, "reload")
		res.Generation, res.Plan = l.generation, p.plan
	})
	if err != nil {
		return res, err
	}
	return res, rerr
}

// commit switches to a prepared model and applies its plan.
func (l *loop) commit(p *prepared, reason string) (ipvs.ApplyResult, error) {
	for _, id := range p.drop {
		l.health.Remove(id)
	}
	for _, t := range p.add {
		if err := l.health.Add(t); err != nil {
			l.e.log.Error("health check not started", "target", t.ID, "err", err)
		}
	}
	l.m, l.removed = p.m, p.removed
	if reason == "reload" {
		l.generation++
	}
	for _, v := range p.quorum {
		v.quorumUp = !v.quorumUp // report the transition prepare made
		l.quorum(v)
	}
	l.e.log.Info("configuration applied", "reason", reason, "generation", l.generation, "changed_services", len(p.keys),
		"changes", len(p.plan.Changes), "checks_added", len(p.add), "checks_removed", len(p.drop))
	res, err := l.apply(p.plan, reason)
	l.forgetRemoved(p.current, res)
	l.syncGlobals()
	if err != nil {
		err = fmt.Errorf("lb: %s (generation %d) applied with failures (retrying): %w", reason, l.generation, err)
	}
	return res, err
}

// Plan returns the changes Reload(cfg) would send to the kernel now,
// without making them (for `lbd plan`).
func (e *Engine) Plan(ctx context.Context, cfg *conf.Config) (ipvs.Plan, error) {
	var plan ipvs.Plan
	var perr error
	err := e.do(ctx, func(l *loop) {
		var p *prepared
		if p, perr = l.prepare(cfg); perr == nil {
			plan = p.plan
		}
	})
	if err != nil {
		return plan, err
	}
	return plan, perr
}

// SetVRRPState tells the engine whether a VRRP instance is MASTER. Virtual
// servers bound to it (vrrp_instance) are installed only while it is, and
// the sync daemon bound to it runs as master or backup accordingly.
// Instances never reported count as not MASTER.
func (e *Engine) SetVRRPState(ctx context.Context, instance string, master bool) error {
	return e.do(ctx, func(l *loop) {
		if l.roles[instance] == master {
			return
		}
		l.roles[instance] = master
		dirty := map[ipvs.ServiceKey]bool{}
		for _, v := range l.m.vss {
			if v.cfg.VRRPInstance == instance {
				for _, s := range v.svcs {
					dirty[s.Key()] = true
				}
			}
		}
		l.e.log.Info("VRRP role", "instance", instance, "master", master, "services", len(dirty))
		if len(dirty) > 0 {
			l.sync(dirty, "vrrp")
		}
		l.syncGlobals()
	})
}

// Reconcile compares the whole managed table with the kernel now, repairs
// any drift and returns what it sent.
func (e *Engine) Reconcile(ctx context.Context) (ipvs.Plan, ipvs.ApplyResult, error) {
	var plan ipvs.Plan
	var res ipvs.ApplyResult
	var rerr error
	err := e.do(ctx, func(l *loop) { plan, res, rerr = l.reconcile("request") })
	if err != nil {
		return plan, res, err
	}
	return plan, res, rerr
}

// Status is a snapshot of the engine's state.
type Status struct {
	Generation    int
	LastReconcile time.Time
	// LastError is the last failure to read or change the kernel table,
	// empty once a later attempt succeeded.
	LastError    string
	RetryPending bool
	// Drifts counts reconciles that found the kernel table changed behind
	// lbd's back.
	Drifts int
	// SettingErrors maps each global setting the kernel refused
	// (lvs_sloppy_tcp, lvs_timeouts, lvs_sync_daemon) to why.
	SettingErrors  map[string]string
	Masters        []string // VRRP instances reported MASTER
	VirtualServers []VirtualServerStatus
}

// VirtualServerStatus is the state of one virtual server.
type VirtualServerStatus struct {
	Name, ID    string
	Services    []ipvs.ServiceKey
	Installed   bool // false while its vrrp_instance is not MASTER
	QuorumUp    bool
	SorryActive bool
	// Scheduler and Forwarding are the configured ones (the real servers
	// may each have a forwarding method of their own).
	Scheduler, Forwarding string
	// WeightSum is the live weight quorum compares with Quorum.
	WeightSum, Quorum int
	RealServers       []RealServerStatus
}

// RealServerStatus is the state of one real server.
type RealServerStatus struct {
	Address string
	Up      bool
	Checked bool
	// Weight is the weight it has while up (dynamic or configured).
	Weight        int
	Draining      bool
	DrainDeadline time.Time
	Reason        string
	// Runtime: added at run time (RuntimeChange), not in the file.
	Runtime bool
	// Disabled: drained by an operator until Enable; Drained once out of
	// the kernel.
	Disabled, Drained bool
	// Since is when Up last changed.
	Since time.Time
	// Target is the destination (address:port in the first service).
	Target netip.AddrPort
	// ProbeUsers is how many real servers (of as many virtual servers)
	// its health probe feeds, itself included: 0 unchecked, 1 unshared;
	// with several checks, that of its most shared probe.
	ProbeUsers int
	// Checks is how many checks it has; it is up when all pass.
	Checks int
	// LastCheck is its probe's last result (with several checks, the last
	// failure among them, else the latest); nil before the first, when
	// unchecked, or when the engine's Health keeps none.
	LastCheck *healthcheck.Checked
}

// Status returns a snapshot of the engine's state.
func (e *Engine) Status(ctx context.Context) (Status, error) {
	var st Status
	err := e.do(ctx, func(l *loop) {
		st = Status{Generation: l.generation, LastReconcile: l.lastReconcile, RetryPending: l.retryPending, Drifts: l.drifts}
		if l.lastErr != nil {
			st.LastError = l.lastErr.Error()
		}
		st.SettingErrors = maps.Clone(l.settingErrs)
		for inst, m := range l.roles {
			if m {
				st.Masters = append(st.Masters, inst)
			}
		}
		for _, v := range l.m.vss {
			vs := VirtualServerStatus{Name: v.cfg.Name, ID: v.id, Installed: v.installed(l.roles), QuorumUp: v.quorumUp,
				SorryActive: v.sorryActive(), Scheduler: v.cfg.Scheduler, Forwarding: v.cfg.Forwarding,
				WeightSum: v.weightSum(), Quorum: *v.cfg.Quorum}
			for _, s := range v.svcs {
				vs.Services = append(vs.Services, s.Key())
			}
			for _, r := range v.rss {
				d := v.cfg.Destination(r.cfg, v.svcs[0])
				rs := RealServerStatus{Address: r.key, Up: r.up, Checked: r.checked(),
					Weight: r.effWeight(), Draining: r.draining, DrainDeadline: r.drainDeadline, Reason: r.reason,
					Runtime: r.runtime, Disabled: r.disabled, Drained: r.drained, Since: r.since,
					Target: netip.AddrPortFrom(d.Address, d.Port), Checks: len(r.checks)}
				for _, c := range r.checks {
					rs.ProbeUsers = max(rs.ProbeUsers, len(l.m.targets[c.target]))
				}
				rs.LastCheck = l.lastCheck(r)
				vs.RealServers = append(vs.RealServers, rs)
			}
			st.VirtualServers = append(st.VirtualServers, vs)
		}
	})
	return st, err
}

// lastCheck is the result status shows for r: its probe's last, or with
// several checks the latest failure among them, else the latest result.
func (l *loop) lastCheck(r *rsState) *healthcheck.Checked {
	lc, ok := l.health.(lastChecker)
	if !ok {
		return nil
	}
	var out *healthcheck.Checked
	for _, c := range r.checks {
		got, ok := lc.Last(c.target)
		if !ok {
			continue
		}
		// A failure outranks a pass; of two alike, the later one.
		if out == nil || !got.OK && out.OK || got.OK == out.OK && got.At.After(out.At) {
			out = &got
		}
	}
	return out
}
