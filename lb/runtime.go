package lb

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/ipvs"
)

// This file holds the operator's run-time changes to managed services:
// real servers added, edited or deleted without editing the file
// (ipvsctl -a/-e/-d on a managed service), and drains (ipvsctl drain /
// enable). Like every request they run on the engine goroutine.

var (
	// ErrNotManaged is returned for a service that no virtual server of
	// the configuration owns.
	ErrNotManaged = errors.New("lb: service not managed by lbd")
	// ErrNotFound is returned for a real server the service does not have.
	ErrNotFound = errors.New("lb: no such real server")
	// ErrExists is returned when adding a real server the service has.
	ErrExists = errors.New("lb: real server exists")
	// ErrConfigured is returned when editing or deleting a real server of
	// the configuration file at run time: edit the file instead.
	ErrConfigured = errors.New("lb: real server is in the configuration file; change it there")
)

// RuntimeServer is a real server added at run time to the virtual server
// whose ID (conf.VirtualServer.ID) is VirtualServer. It is health-checked
// with the virtual server's check and kept across reloads (while the
// virtual server exists and the file does not configure the same address)
// and, through Options.SaveState, across restarts.
type RuntimeServer struct {
	VirtualServer  string         `json:"virtual_server"`
	Address        netip.AddrPort `json:"address"`
	Weight         int            `json:"weight"`
	Forwarding     string         `json:"forwarding,omitempty"` // NAT, DR, TUN; default the virtual server's
	UpperThreshold uint32         `json:"upper_threshold,omitempty"`
	LowerThreshold uint32         `json:"lower_threshold,omitempty"`
}

// DisabledServer is a real server an operator drained (Engine.Drain),
// kept out until Engine.Enable.
type DisabledServer struct {
	VirtualServer string    `json:"virtual_server"`
	Address       string    `json:"address"`           // address:port
	Deadline      time.Time `json:"deadline"`          // end of the drain
	Drained       bool      `json:"drained,omitempty"` // out of the kernel
}

// State is the operator's run-time state: what Options.State restores at
// start and Options.SaveState persists after every change.
type State struct {
	Runtime  []RuntimeServer  `json:"runtime,omitempty"`
	Disabled []DisabledServer `json:"disabled,omitempty"`
}

func (rt RuntimeServer) realServer() *conf.RealServer {
	w := rt.Weight
	return &conf.RealServer{
		Address:    conf.HostPort{Addr: rt.Address.Addr(), Port: rt.Address.Port(), HasPort: true},
		Weight:     &w,
		Forwarding: rt.Forwarding,
		UThreshold: rt.UpperThreshold,
		LThreshold: rt.LowerThreshold,
	}
}

// applyState adds the run-time real servers of st to m (fresh from
// buildModel) and marks the disabled ones. Entries for virtual servers m
// lacks, or addresses the file configures, stay in st but do nothing.
func (m *model) applyState(st State, now time.Time) {
	for _, rt := range st.Runtime {
		v := m.byID[rt.VirtualServer]
		if v == nil {
			continue
		}
		rc := rt.realServer()
		key := v.cfg.Destination(rc, v.svcs[0]).String()
		if v.rs(key) != nil {
			continue
		}
		h := ""
		r := m.newRS(new(rsState), v, rc, &h)
		r.runtime, r.since = true, now
		v.rss = append(v.rss, r)
		v.quorumUp = v.weightSum() >= *v.cfg.Quorum
	}
	for _, d := range st.Disabled {
		if v := m.byID[d.VirtualServer]; v != nil {
			if r := v.rs(d.Address); r != nil && !r.draining {
				r.disabled, r.drained, r.drainDeadline = true, d.Drained, d.Deadline
			}
		}
	}
}

// rs returns v's real server with key (not a reload-draining one).
func (v *vsState) rs(key string) *rsState {
	for _, r := range v.rss {
		if r.key == key && !r.draining {
			return r
		}
	}
	return nil
}

// owner returns the virtual server that owns svc.
func (m *model) owner(svc ipvs.ServiceKey) *vsState {
	for _, v := range m.vss {
		for _, s := range v.svcs {
			if s.Key() == svc {
				return v
			}
		}
	}
	return nil
}

// realServer returns the virtual server that owns svc and its real server
// rs, or ErrNotManaged or ErrNotFound.
func (m *model) realServer(svc ipvs.ServiceKey, rs netip.AddrPort) (*vsState, *rsState, error) {
	v := m.owner(svc)
	if v == nil {
		return nil, nil, fmt.Errorf("%w: %s", ErrNotManaged, svc)
	}
	r := v.rs(rs.String())
	if r == nil {
		return nil, nil, fmt.Errorf("%w: %s in %s", ErrNotFound, rs, v.cfg.Name)
	}
	return v, r, nil
}

// state is the operator state to persist: the run-time servers as
// requested (including dormant ones) and the disabled servers.
func (l *loop) state() State {
	st := State{Runtime: slices.Clone(l.runtime)}
	for _, v := range l.m.vss {
		for _, r := range v.rss {
			if r.disabled && !r.draining {
				st.Disabled = append(st.Disabled, DisabledServer{VirtualServer: v.id, Address: r.key,
					Deadline: r.drainDeadline, Drained: r.drained})
			}
		}
	}
	return st
}

// save persists the operator state; a failure is logged and returned.
// Every caller undoes its change when save fails, so the messages say so:
// the operator must know the request was refused, not half done.
func (l *loop) save() error {
	if l.e.opts.SaveState == nil {
		return nil
	}
	if err := l.e.opts.SaveState(l.state()); err != nil {
		l.e.log.Error("cannot save the run-time state; change refused, nothing changed", "err", err)
		return fmt.Errorf("lb: cannot save the run-time state, nothing changed: %w", err)
	}
	return nil
}

// RuntimeOp is a run-time change to a real server of a managed service.
type RuntimeOp struct {
	Op      string // "add", "edit" or "delete"
	Service ipvs.ServiceKey
	Address netip.AddrPort
	// Weight, Forwarding and the thresholds apply to add and edit; nil
	// keeps the current value (add: weight 1, the service's method).
	Weight                         *int
	Forwarding                     string
	UpperThreshold, LowerThreshold *uint32
}

// RuntimeChange adds, edits or deletes a run-time real server (see
// RuntimeServer). The change is saved (Options.SaveState) before it takes
// effect; if saving fails nothing changes. A deleted server drains like
// one a reload removes. Errors: ErrNotManaged, ErrNotFound, ErrExists,
// ErrConfigured.
func (e *Engine) RuntimeChange(ctx context.Context, op RuntimeOp) error {
	var rerr error
	err := e.do(ctx, func(l *loop) { rerr = l.runtimeChange(op) })
	if err != nil {
		return err
	}
	return rerr
}

func (l *loop) runtimeChange(op RuntimeOp) error {
	v := l.m.owner(op.Service)
	if v == nil {
		return fmt.Errorf("%w: %s", ErrNotManaged, op.Service)
	}
	idx := slices.IndexFunc(l.runtime, func(rt RuntimeServer) bool {
		return rt.VirtualServer == v.id && rt.Address == op.Address
	})
	probe := RuntimeServer{VirtualServer: v.id, Address: op.Address, Weight: conf.DefaultWeight}
	key := v.cfg.Destination(probe.realServer(), v.svcs[0]).String()
	cur := v.rs(key)
	next := slices.Clone(l.runtime)
	switch op.Op {
	case "add":
		if cur != nil || idx >= 0 {
			return fmt.Errorf("%w: %s in %s", ErrExists, key, v.cfg.Name)
		}
		rt := probe
		rt.Forwarding = op.Forwarding
		fill(&rt, op)
		next = append(next, rt)
	case "edit", "delete":
		if cur != nil && !cur.runtime {
			return fmt.Errorf("%w: %s in %s", ErrConfigured, key, v.cfg.Name)
		}
		if idx < 0 {
			return fmt.Errorf("%w: %s in %s", ErrNotFound, key, v.cfg.Name)
		}
		if op.Op == "delete" {
			next = slices.Delete(next, idx, idx+1)
			break
		}
		rt := next[idx]
		if op.Forwarding != "" {
			rt.Forwarding = op.Forwarding
		}
		fill(&rt, op)
		next[idx] = rt
	default:
		return fmt.Errorf("lb: runtime op %q: add, edit or delete", op.Op)
	}
	old := l.runtime
	l.runtime = next
	if err := l.save(); err != nil {
		l.runtime = old
		return err
	}
	l.e.log.Info("run-time real server "+op.Op, "vs", v.cfg.Name, "rs", key)
	if op.Op == "add" {
		// It comes up with the rebuild: slow start from its first weight.
		l.rampNew = rampKey{v.id, key}
		defer func() { l.rampNew = rampKey{} }()
	}
	if _, err := l.rebuild("runtime " + op.Op); err != nil {
		return err
	}
	return nil
}

func fill(rt *RuntimeServer, op RuntimeOp) {
	if op.Weight != nil {
		rt.Weight = *op.Weight
	}
	if op.UpperThreshold != nil {
		rt.UpperThreshold = *op.UpperThreshold
	}
	if op.LowerThreshold != nil {
		rt.LowerThreshold = *op.LowerThreshold
	}
}

// rebuild recomputes the model from the running configuration and the
// run-time servers (as a reload of the same file would) and applies it.
func (l *loop) rebuild(reason string) (ipvs.ApplyResult, error) {
	p, err := l.prepare(l.m.cfg)
	if err != nil {
		return ipvs.ApplyResult{}, err
	}
	return l.commit(p, reason)
}

// Drain sets real server rs of svc to weight 0 and takes it out of the
// kernel once its active connections reach 0 or timeout (default
// global.lvs_drain_timeout) passes; it stays out, across reloads and
// restarts, until Enable. It returns the active connections at the start.
func (e *Engine) Drain(ctx context.Context, svc ipvs.ServiceKey, rs netip.AddrPort, timeout time.Duration) (uint32, error) {
	var active uint32
	var rerr error
	err := e.do(ctx, func(l *loop) {
		v, r, err := l.m.realServer(svc, rs)
		if err != nil {
			rerr = err
			return
		}
		if timeout <= 0 {
			timeout = l.m.cfg.Global.LVSDrainTimeout.D()
		}
		was := *r
		if !r.disabled || r.drained {
			r.disabled, r.drained = true, false
		}
		r.drainDeadline = l.e.opts.Now().Add(timeout)
		if rerr = l.save(); rerr != nil {
			*r = was
			return
		}
		l.e.log.Info("real server drain", "vs", v.cfg.Name, "rs", r.key, "timeout", timeout)
		l.quorum(v)
		keys := map[ipvs.ServiceKey]bool{}
		for _, s := range v.svcs {
			keys[s.Key()] = true
		}
		if _, _, err := l.sync(keys, "drain"); err != nil {
			rerr = err
			return
		}
		ctx, cancel := l.kctx()
		cur, err := l.e.opts.Kernel.DumpServices(ctx, v.svcs...)
		cancel()
		if err == nil {
			for _, e := range cur.Services {
				for _, d := range e.Destinations {
					if d.Destination.String() == r.key {
						active += d.ActiveConns
					}
				}
			}
		}
		l.checkDrains(&cur)
	})
	if err != nil {
		return 0, err
	}
	return active, rerr
}

// Enable ends an operator's drain of rs in svc: it is back with its
// weight (and health).
func (e *Engine) Enable(ctx context.Context, svc ipvs.ServiceKey, rs netip.AddrPort) error {
	var rerr error
	err := e.do(ctx, func(l *loop) {
		v, r, err := l.m.realServer(svc, rs)
		if err != nil {
			rerr = err
			return
		}
		if !r.disabled {
			return
		}
		was := *r
		r.disabled, r.drained, r.drainDeadline = false, false, time.Time{}
		r.startRamp(l.e.opts.Now())
		if rerr = l.save(); rerr != nil {
			*r = was
			return
		}
		l.e.log.Info("real server enabled", "vs", v.cfg.Name, "rs", r.key)
		l.quorum(v)
		keys := map[ipvs.ServiceKey]bool{}
		for _, s := range v.svcs {
			keys[s.Key()] = true
		}
		_, _, rerr = l.sync(keys, "enable")
	})
	if err != nil {
		return err
	}
	return rerr
}

// Stats reads the managed services of the kernel table with their
// counters (for status and metrics). Only the list of services is taken
// on the engine goroutine; the kernel is read outside it, so a slow read
// never delays health events.
func (e *Engine) Stats(ctx context.Context) (ipvs.Table, error) {
	var svcs []ipvs.Service
	err := e.do(ctx, func(l *loop) { svcs = slices.Collect(maps.Values(l.managed())) })
	if err != nil {
		return ipvs.Table{}, err
	}
	if len(svcs) == 0 {
		return ipvs.Table{}, nil
	}
	return e.opts.Kernel.DumpServices(ctx, svcs...)
}

// PlanOffline returns the changes an engine starting now with cfg (and
// run-time state st) would send to k, for `lbd plan` when no daemon
// runs. Health is not known: real servers count as up (alpha virtual
// servers' checked ones as down), as at the engine's start. A virtual
// server bound to a vrrp_instance counts as installed when any of its
// services is in the kernel now (the instance is likely MASTER).
func PlanOffline(ctx context.Context, k Kernel, cfg *conf.Config, st State) (ipvs.Plan, error) {
	m := buildModel(cfg, nil)
	m.applyState(st, time.Now())
	cur, err := k.DumpServices(ctx, slices.Collect(maps.Values(m.services()))...)
	if err != nil {
		return ipvs.Plan{}, fmt.Errorf("lb: read kernel table: %w", err)
	}
	present := map[ipvs.ServiceKey]bool{}
	for _, e := range cur.Services {
		present[e.Key()] = true
	}
	r := roles{}
	for _, v := range m.vss {
		for _, s := range v.svcs {
			if v.cfg.VRRPInstance != "" && present[s.Key()] {
				r[v.cfg.VRRPInstance] = true
			}
		}
	}
	return ipvs.Diff(m.desired(r, nil), cur), nil
}

// rampKey names a real server (virtual server ID, key) whose slow start
// begins with the next prepared model: one added at run time.
type rampKey struct{ vs, rs string }
