package lb

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/healthcheck"
	"github.com/lbd-project/lbd/ipvs"
)

// This file holds the engine's state model and the pure functions over it:
// building it from a configuration, carrying health across a reload, and
// computing the desired IPVS table. Nothing here does I/O, so table tests
// drive it directly.

// model is everything the engine knows: the configuration as IPVS objects,
// health, quorum and drains. Only the engine goroutine touches it.
type model struct {
	cfg  *conf.Config
	vss  []*vsState          // in configuration order
	byID map[string]*vsState // by conf.VirtualServer.ID
	// targets maps health-check target IDs to the real servers that use
	// the target's probe: one probe feeds every real server with the same
	// probe target and check (see probeID), each in its own virtual server.
	targets map[string][]*rsState
	// svcIndex caches services(): the services never change in a model.
	svcIndex map[ipvs.ServiceKey]ipvs.Service
}

// vsState is one virtual server: its IPVS services and real servers.
type vsState struct {
	id   string
	cfg  *conf.VirtualServer
	svcs []ipvs.Service
	rss  []*rsState // configured real servers, then draining ones

	quorumUp bool
	// reused is set when buildModel took the real servers' identities
	// from the running model's vsState of the same, unchanged
	// configuration item (same services too).
	reused bool
}

// rsState is one real server of a virtual server.
type rsState struct {
	vs  *vsState
	key string // address:port in the first service: identity within vs
	cfg *conf.RealServer
	// checks are its effective checks with their probes' results; none
	// when unchecked. It is up when every one is (keepalived's several
	// checkers on one real server).
	checks []rsCheck

	up     bool
	weight int // dynamic weight from the checks, or healthcheck.NoWeight
	reason string

	// draining is set for a real server a reload removed: it stays with
	// weight 0 until its connections end or drainDeadline passes.
	draining      bool
	drainDeadline time.Time

	// runtime marks a real server added at run time (RuntimeChange), not
	// in the configuration file.
	runtime bool
	// disabled is an operator's drain (Engine.Drain): weight 0 until its
	// connections end or drainDeadline passes, then drained (out of the
	// kernel), until Engine.Enable.
	disabled, drained bool
	// since is when up last changed (or the server appeared).
	since time.Time
	// rampStart is when its slow start began, zero when it does not ramp;
	// rampWeight is the weight the ramp gives it now (see slowstart.go).
	rampStart  time.Time
	rampWeight int
}

// rsCheck is one check of a real server and its probe's last result.
type rsCheck struct {
	check *conf.Check
	// target is the probe's health target ID (it changes when the check
	// does); real servers with the same one share the probe.
	target string
	up     bool
	weight int // dynamic weight, or healthcheck.NoWeight
	reason string
}

// checked reports whether r has a health check.
func (r *rsState) checked() bool { return len(r.checks) > 0 }

// effWeight is the weight of an up real server.
func (r *rsState) effWeight() int {
	if r.weight >= 0 && r.weight != healthcheck.NoWeight {
		return r.weight
	}
	return *r.cfg.Weight
}

// buildModel turns a validated configuration into a fresh model: real
// servers start up, or down for alpha virtual servers with checks. old, the
// running model (nil at start), lends what it computed for virtual servers
// the configuration did not change (conf.VirtualServer.Same): a reload of a
// 10,000-service file then rebuilds only what changed.
func buildModel(cfg *conf.Config, old *model) *model {
	n := 0
	for i := range cfg.VirtualServers {
		n += len(cfg.VirtualServers[i].RealServers)
	}
	m := &model{cfg: cfg, byID: make(map[string]*vsState, len(cfg.VirtualServers)), targets: make(map[string][]*rsState, n)}
	groups := cfg.GroupIndex()
	for i := range cfg.VirtualServers {
		vc := &cfg.VirtualServers[i]
		v := &vsState{id: vc.ID(), cfg: vc, svcs: vc.Services(groups)}
		if len(v.svcs) == 0 {
			continue
		}
		var prev *vsState
		if old != nil {
			if ov := old.byID[v.id]; ov != nil && vc.Same(ov.cfg) && slices.Equal(v.svcs, ov.svcs) {
				prev, v.reused = ov, true
			}
		}
		v.rss = make([]*rsState, 0, len(vc.RealServers))
		slab := make([]rsState, len(vc.RealServers)) // one allocation for the virtual server's real servers
		vsCheckHash := ""
		for j := range vc.RealServers {
			rc, r := &vc.RealServers[j], &slab[j]
			if prev != nil && j < len(prev.rss) && prev.rss[j].cfg == rc {
				o := prev.rss[j] // same real server, check and services: same identity
				*r = rsState{vs: v, cfg: rc, key: o.key, checks: o.identities()}
				v.rss = append(v.rss, m.initRS(r))
				continue
			}
			v.rss = append(v.rss, m.newRS(r, v, rc, &vsCheckHash))
		}
		v.quorumUp = v.weightSum() >= *vc.Quorum // keepalived's initial state, without hysteresis
		m.vss = append(m.vss, v)
		m.byID[v.id] = v
	}
	return m
}

// newRS builds, in r, the state of real server rc of v and registers its
// health targets. vsCheckHash caches the hash of v's own check.
func (m *model) newRS(r *rsState, v *vsState, rc *conf.RealServer, vsCheckHash *string) *rsState {
	vc := v.cfg
	*r = rsState{vs: v, cfg: rc, key: vc.Destination(rc, v.svcs[0]).String()}
	for _, c := range vc.EffectiveChecks(rc) {
		var h string
		if rc.Check == nil && len(rc.Checks) == 0 {
			if *vsCheckHash == "" {
				*vsCheckHash = checkHash(c)
			}
			h = *vsCheckHash
		} else {
			h = checkHash(c)
		}
		r.checks = append(r.checks, rsCheck{check: c, target: probeID(c.CheckTarget(rc, v.svcs[0]), h, vc.Alpha)})
	}
	return m.initRS(r)
}

// identities are r's checks without their results, for the same real
// server in a new model.
func (r *rsState) identities() []rsCheck {
	out := make([]rsCheck, len(r.checks))
	for i, c := range r.checks {
		out[i] = rsCheck{check: c.check, target: c.target}
	}
	return out
}

// probeID identifies a health probe: what it connects to and how it
// checks (the check's settings, and alpha, which decides its state before
// the first result). Real servers of different virtual servers with the
// same probe share it: one probe, whose results feed each of them (for
// HTTP and HTTPS, IPv4 and IPv6 virtual servers on the same real server).
func probeID(target netip.AddrPort, checkHash string, alpha bool) string {
	id := target.String() + "|" + checkHash
	if alpha {
		id += "|alpha"
	}
	return id
}

// initRS gives r, whose identity (key, checks with their targets) is set,
// its initial health, or the results of the probes it shares with real
// servers already there, and registers it as a user of its targets.
func (m *model) initRS(r *rsState) *rsState {
	r.weight, r.up = healthcheck.NoWeight, true
	for i := range r.checks {
		c := &r.checks[i]
		c.weight, c.up = healthcheck.NoWeight, !r.vs.cfg.Alpha
		if !c.up {
			c.reason = "alpha: down until the first successful check"
		}
		users := m.targets[c.target]
		if len(users) > 0 {
			r.takeHealth(users[0], c.target)
		}
		m.targets[c.target] = append(users, r)
	}
	r.combine()
	return r
}

// check returns r's check of the probe target, nil when it has none.
func (r *rsState) check(target string) *rsCheck {
	for i := range r.checks {
		if r.checks[i].target == target {
			return &r.checks[i]
		}
	}
	return nil
}

// takeHealth copies the result of the probe target from o, another of
// its users, and updates r's health from its checks.
func (r *rsState) takeHealth(o *rsState, target string) {
	c, oc := r.check(target), o.check(target)
	if c == nil || oc == nil {
		return
	}
	*c = *oc
	if len(r.checks) == 1 {
		r.since = o.since
	}
	r.combine()
}

// combine sets r's health from its checks' results: up when every check
// is, with the lowest dynamic weight any reports, and the reason of the
// failing checks (or of the one check).
func (r *rsState) combine() {
	if len(r.checks) == 0 {
		return
	}
	r.up, r.weight = true, healthcheck.NoWeight
	var failing []string
	for _, c := range r.checks {
		if !c.up {
			r.up = false
			failing = append(failing, c.check.Type+": "+c.reason)
			continue
		}
		if c.weight != healthcheck.NoWeight && (r.weight == healthcheck.NoWeight || c.weight < r.weight) {
			r.weight = c.weight
		}
	}
	switch {
	case len(r.checks) == 1:
		r.reason = r.checks[0].reason
	case r.up:
		r.reason = fmt.Sprintf("all %d checks pass", len(r.checks))
	default:
		r.reason = strings.Join(failing, "; ")
	}
	if !r.up {
		r.weight = healthcheck.NoWeight
	}
}

// checkHash fingerprints a check's settings, so a reload that changes them
// replaces the health target while an unchanged one keeps its state.
func checkHash(c *conf.Check) string {
	cc := *c
	cc.Pos = conf.Pos{}
	for i := range cc.URLs {
		if i == 0 {
			cc.URLs = slices.Clone(cc.URLs)
		}
		cc.URLs[i].Pos = conf.Pos{}
	}
	b, _ := json.Marshal(cc)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

// carryOver moves runtime state from old into m (fresh from buildModel):
// health of real servers whose check is unchanged, quorum state of
// virtual servers that stay, and drains. Real servers old had and m lacks
// start (or keep) draining, until deadline now+drain. old is not modified.
func (m *model) carryOver(old *model, now time.Time, drain time.Duration) {
	for _, v := range m.vss {
		ov := old.byID[v.id]
		if ov == nil {
			continue
		}
		v.quorumUp = ov.quorumUp
		if sameKeys(v.rss, ov.rss) { // the common case: pair them by index
			for j, r := range v.rss {
				carry(r, ov.rss[j])
			}
			continue
		}
		oldRS := make(map[string]*rsState, len(ov.rss))
		for _, r := range ov.rss {
			oldRS[r.key] = r
		}
		have := make(map[string]bool, len(v.rss))
		for _, r := range v.rss {
			have[r.key] = true
			if o := oldRS[r.key]; o != nil {
				carry(r, o)
			}
		}
		for _, o := range ov.rss {
			if have[o.key] {
				continue
			}
			d := *o
			d.vs = v
			d.checks = nil // no probe: it only drains
			if d.disabled && d.drained {
				continue // already out of the kernel
			}
			if !d.draining {
				d.draining, d.drainDeadline = true, now.Add(drain)
				d.reason = "removed by reload: draining"
			}
			v.rss = append(v.rss, &d)
		}
	}
	// A probe that stays keeps its result for every user, including a
	// real server of a new virtual server that joins it.
	for id, users := range m.targets {
		if o := old.targets[id]; len(o) > 0 {
			for _, r := range users {
				r.takeHealth(o[0], id)
			}
		}
	}
}

// sameKeys reports whether a and b list the same real servers in the same
// order, none of them draining after a reload.
func sameKeys(a, b []*rsState) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].key != b[i].key || a[i].draining || b[i].draining {
			return false
		}
	}
	return true
}

// carry moves o's operator drain, and its health if its check is r's, to
// r, the same real server in a new model.
func carry(r, o *rsState) {
	if !o.draining {
		r.disabled, r.drained, r.drainDeadline = o.disabled, o.drained, o.drainDeadline
		r.rampStart, r.rampWeight = o.rampStart, o.rampWeight
	}
	if !o.draining {
		for _, c := range r.checks {
			r.takeHealth(o, c.target)
		}
	}
}

// weightSum is keepalived's weigh_live_realservers: the weights of the
// live real servers, at least 1 when any is live (even with weight 0).
func (v *vsState) weightSum() int {
	sum, live := 0, 0
	for _, r := range v.rss {
		if r.up && !r.draining && !r.disabled {
			live++
			sum += r.effWeight()
		}
	}
	if sum == 0 && live > 0 {
		return 1
	}
	return sum
}

// updateQuorum applies keepalived's update_quorum_state: quorum is gained
// at quorum+hysteresis and lost below quorum-hysteresis (or with no live
// weight at all). It returns whether the state changed.
func (v *vsState) updateQuorum() bool {
	sum, q, h := v.weightSum(), *v.cfg.Quorum, v.cfg.Hysteresis
	switch {
	case !v.quorumUp && sum >= q+h:
		v.quorumUp = true
		return true
	case v.quorumUp && (sum == 0 || sum < q-h):
		v.quorumUp = false
		return true
	}
	return false
}

// sorryActive reports whether the sorry server replaces the real servers.
func (v *vsState) sorryActive() bool { return !v.quorumUp && v.cfg.SorryServer != nil }

// destinations computes the desired destinations of svc, one of v's
// services, following keepalived:
//   - a live real server has its (dynamic) weight; a failed one is absent,
//     or weight 0 with inhibit_on_failure;
//   - without quorum the sorry server is installed and the remaining real
//     servers leave (inhibited ones stay at weight 0); with quorum the
//     sorry server is absent, or weight 0 with sorry_server_inhibit;
//   - a draining real server has weight 0.
func (v *vsState) destinations(svc ipvs.Service) []ipvs.Destination {
	out := make([]ipvs.Destination, 0, len(v.rss)+1)
	// Virtual servers have few real servers: a linear search beats a map.
	var index map[netip.AddrPort]int
	if len(v.rss) > 32 {
		index = make(map[netip.AddrPort]int, len(v.rss)+1)
	}
	find := func(d ipvs.Destination) (int, bool) {
		if index != nil {
			i, ok := index[netip.AddrPortFrom(d.Address, d.Port)]
			return i, ok
		}
		for i, o := range out {
			if o.Address == d.Address && o.Port == d.Port {
				return i, true
			}
		}
		return 0, false
	}
	put := func(d ipvs.Destination, weak bool) {
		if i, ok := find(d); ok {
			if !weak {
				out[i] = d
			}
			return
		}
		if index != nil {
			index[netip.AddrPortFrom(d.Address, d.Port)] = len(out)
		}
		out = append(out, d)
	}
	sorry := v.sorryActive()
	for _, r := range v.rss {
		if r.draining {
			continue
		}
		d := v.cfg.Destination(r.cfg, svc)
		if r.disabled {
			if !r.drained {
				d.Weight = 0
				put(d, false)
			}
			continue
		}
		inhibit := v.cfg.Inhibit(r.cfg)
		switch {
		case r.up && !sorry:
			d.Weight = int32(r.kernelWeight())
		case inhibit:
			d.Weight = 0
		default:
			continue
		}
		put(d, false)
	}
	if d, ok := v.cfg.SorryDestination(svc); ok {
		switch {
		case sorry:
			put(d, false)
		case v.cfg.SorryServerInhibit:
			d.Weight = 0
			put(d, true)
		}
	}
	for _, r := range v.rss {
		if r.draining {
			d := v.cfg.Destination(r.cfg, svc)
			d.Weight = 0
			put(d, true) // a configured server at the same place wins
		}
	}
	return out
}

// roles says which VRRP instances are MASTER.
type roles map[string]bool

// installed reports whether v's services belong in the kernel now.
func (v *vsState) installed(r roles) bool {
	return v.cfg.VRRPInstance == "" || r[v.cfg.VRRPInstance]
}

// desired computes the IPVS table the kernel should hold. With only
// non-nil it is restricted to those service keys.
//
// The services of a virtual server announced over BGP are Ordered, their
// destinations in ipvs.CanonicalOrder: several balancers serve them at
// once behind the routers' ECMP, and each must build the same mh or sh
// table, so the kernel's list of destinations, which the table is built
// from, must be the same on all whatever the history of each (a fresh
// start, reloads, run-time additions, sorry server swaps). Diff then
// re-adds what the kernel has out of place. Other services keep the list
// the kernel has, in the order of their history.
func (m *model) desired(r roles, only map[ipvs.ServiceKey]bool) ipvs.Table {
	var t ipvs.Table
	for _, v := range m.vss {
		if !v.installed(r) {
			continue
		}
		for _, svc := range v.svcs {
			if only != nil && !only[svc.Key()] {
				continue
			}
			e := ipvs.ServiceEntry{Service: svc}
			dests := v.destinations(svc)
			e.Destinations = make([]ipvs.DestinationEntry, len(dests))
			for i, d := range dests {
				e.Destinations[i].Destination = d
			}
			if v.cfg.AnnouncesBGP() {
				ipvs.CanonicalOrder(e.Destinations)
				e.Ordered = true
			}
			t.Services = append(t.Services, e)
		}
	}
	return t
}

// services maps every configured service key to its service, installed or
// not: the keys lbd manages. Callers must not modify the map.
func (m *model) services() map[ipvs.ServiceKey]ipvs.Service {
	if m.svcIndex == nil {
		m.svcIndex = make(map[ipvs.ServiceKey]ipvs.Service, len(m.vss))
		for _, v := range m.vss {
			for _, s := range v.svcs {
				m.svcIndex[s.Key()] = s
			}
		}
	}
	return m.svcIndex
}

// draining lists the draining real servers: removed by a reload, or
// disabled by an operator and not yet drained.
func (m *model) draining() []*rsState {
	var out []*rsState
	for _, v := range m.vss {
		for _, r := range v.rss {
			if r.draining || (r.disabled && !r.drained) {
				out = append(out, r)
			}
		}
	}
	return out
}

// stamp sets the since time of real servers that have none.
func (m *model) stamp(now time.Time) {
	for _, v := range m.vss {
		for _, r := range v.rss {
			if r.since.IsZero() {
				r.since = now
			}
		}
	}
}

// removeDrained drops r from its virtual server.
func (r *rsState) removeDrained() {
	v := r.vs
	v.rss = slices.DeleteFunc(v.rss, func(x *rsState) bool { return x == r })
}

// changedKeys returns the keys of the services whose desired state differs
// between old and m: a reload reads and compares only those.
func changedKeys(old, m *model, r roles) map[ipvs.ServiceKey]bool {
	keys := map[ipvs.ServiceKey]bool{}
	for _, v := range m.vss {
		ov := old.byID[v.id]
		if ov == nil {
			for _, s := range v.svcs {
				keys[s.Key()] = true
			}
			continue
		}
		if sameDesired(v, ov, r) {
			continue
		}
		oldSvcs := make(map[ipvs.ServiceKey]ipvs.Service, len(ov.svcs))
		for _, s := range ov.svcs {
			oldSvcs[s.Key()] = s
		}
		for _, s := range v.svcs {
			os, ok := oldSvcs[s.Key()]
			delete(oldSvcs, s.Key())
			if !ok || os != s || ov.installed(r) != v.installed(r) ||
				!slices.Equal(v.destinations(s), ov.destinations(os)) {
				keys[s.Key()] = true
			}
		}
		for k := range oldSvcs {
			keys[k] = true
		}
	}
	return keys
}

// sameDesired reports, without computing them, that v and ov (the
// running model's state of the same ID) want the same table: v was built
// reusing ov (same configuration and services), with real servers in the
// same states, quorum and role.
func sameDesired(v, ov *vsState, r roles) bool {
	if !v.reused || len(v.rss) != len(ov.rss) ||
		v.sorryActive() != ov.sorryActive() || v.installed(r) != ov.installed(r) {
		return false
	}
	for i, a := range v.rss {
		b := ov.rss[i]
		if a.cfg != b.cfg || a.up != b.up || a.weight != b.weight || a.draining != b.draining ||
			a.disabled != b.disabled || a.drained != b.drained {
			return false
		}
	}
	return true
}
