package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/lbd-project/lbd/bfd"
	"github.com/lbd-project/lbd/bgp"
	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/internal/announce"
	"github.com/lbd-project/lbd/internal/control"
	"github.com/lbd-project/lbd/lb"
	"github.com/lbd-project/lbd/vrrp"
	"github.com/lbd-project/lbd/vrrp/vrrpnet"
)

// routeSpeaker is the BGP speaker as the daemon uses it (bgp.Speaker;
// tests give a fake).
type routeSpeaker interface {
	Start(ctx context.Context, cfg bgp.Config) error
	Reconfigure(cfg bgp.Config) error
	Announce(prefix netip.Prefix, r bgp.Route) error
	Withdraw(prefix netip.Prefix) error
	Drain(ctx context.Context) (time.Duration, error)
	Stop()
	Stats() bgp.Stats
}

// vipSet puts addresses on a device (vrrpnet.VIPs).
type vipSet interface {
	AddVIP(v vrrp.VIP) error
	RemoveVIP(v vrrp.VIP) (bool, error)
	Close()
}

// anycast is the BGP side of the daemon (announce: bgp): the speaker,
// the virtual addresses on bgp.vip_interface, and the announcer, which
// follows the engine's health. Its goroutine owns the announcer and the
// addresses; the daemon reaches it through reqs.
type anycast struct {
	log       *slog.Logger
	engine    *lb.Engine
	speaker   routeSpeaker
	openVIP   func(dev string) (vipSet, error)
	sharedBFD func() (*bfd.Manager, error)
	reqs      chan func()
	done      chan struct{}

	// Owned by run.
	cfg      *conf.Config
	ann      *announce.Announcer
	onDevice map[netip.Addr]string // addresses lbd put on a device, and which
	drained  chan struct{}         // closed once a drain's withdrawals are sent
	bfd      bfdSessions
	// bfdManager is bfd.m for the other goroutines (Stats).
	bfdManager atomic.Pointer[bfd.Manager]
	// errors counts failed announcements, withdrawals and address
	// changes, for metrics.
	errors atomic.Uint64
}

// bgpConfig is the speaker's configuration for the bgp section.
func bgpConfig(b *conf.BGP) bgp.Config {
	c := bgp.Config{LocalASN: b.LocalASN, RouterID: b.RouterID.Addr, ListenPort: b.ListenPort}
	for _, p := range b.Peers {
		c.Peers = append(c.Peers, bgp.PeerConfig{Address: p.Address.Addr, ASN: p.ASN, Port: p.Port,
			HoldTime: p.HoldTime.D(), Password: p.Password, Passive: p.Passive, MultihopTTL: p.Multihop,
			LocalAddress: p.LocalAddress.Addr})
	}
	return c
}

// startAnycast starts the speaker for cfg.BGP and the goroutine that
// announces; ctx ends it.
func startAnycast(ctx context.Context, log *slog.Logger, cfg *conf.Config, engine *lb.Engine, s routeSpeaker,
	openVIP func(string) (vipSet, error), sharedBFD func() (*bfd.Manager, error)) (*anycast, error) {
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.Start(sctx, bgpConfig(cfg.BGP)); err != nil {
		return nil, err
	}
	a := &anycast{log: log, engine: engine, speaker: s, openVIP: openVIP, sharedBFD: sharedBFD, reqs: make(chan func()),
		done: make(chan struct{}), cfg: cfg, ann: announce.New(cfg.BGP.HoldDown.D()), onDevice: map[netip.Addr]string{}}
	a.placeVIPs()
	a.placeBFD()
	go a.run(ctx)
	return a, nil
}

// run follows the engine's status until ctx ends, then withdraws what is
// announced (a stop without drain: the peers see the Cease anyway) and
// stops the speaker. The addresses stay on their device: in-flight
// connections finish, and a restart finds them there.
func (a *anycast) run(ctx context.Context) {
	defer close(a.done)
	defer a.speaker.Stop()
	defer a.stopBFD()
	timer := time.NewTimer(0)
	defer timer.Stop()
	var changed <-chan struct{}
	if a.engine != nil {
		changed = a.engine.Changed()
	}
	// Health can only be read from the engine; the periodic pass is a
	// safety net for a missed change, never the way changes arrive.
	const safety = 5 * time.Second
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-timer.C:
		case fn := <-a.reqs:
			fn()
		}
		next := a.update(ctx)
		wait := safety
		if !next.IsZero() {
			wait = min(wait, max(time.Until(next), time.Millisecond))
		}
		timer.Reset(wait)
	}
}

// update reads the engine's status, runs the announcer and makes its
// actions; it returns the announcer's next wake-up.
func (a *anycast) update(ctx context.Context) time.Time {
	var st lb.Status
	var stErr error
	if a.engine != nil {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, stErr = a.engine.Status(sctx)
		cancel()
		if stErr != nil && ctx.Err() != nil {
			return time.Time{}
		}
	}
	actions, next := a.ann.Update(time.Now(), wantedVIPs(a.cfg, st, stErr, a.engine != nil))
	for _, act := range actions {
		prefix := netip.PrefixFrom(act.Addr, act.Addr.BitLen())
		var err error
		if act.Announce {
			r := bgp.Route{Communities: act.Route.Communities, MED: act.Route.MED, LocalPref: act.Route.LocalPref}
			for _, l := range act.Route.LargeCommunities {
				r.LargeCommunities = append(r.LargeCommunities, bgp.LargeCommunity{ASN: l[0], Data1: l[1], Data2: l[2]})
			}
			err = a.speaker.Announce(prefix, r)
			a.log.Info("bgp: announcing", "vip", act.Addr, "why", act.Why, "err", err)
		} else {
			err = a.speaker.Withdraw(prefix)
			a.log.Warn("bgp: withdrawing", "vip", act.Addr, "why", act.Why, "err", err)
		}
		if err != nil {
			a.errors.Add(1)
		}
	}
	if a.drained != nil {
		close(a.drained)
		a.drained = nil
	}
	return next
}

// wantedVIPs is, for every address of an announce: bgp virtual server,
// whether this balancer can serve it: every virtual server on it has
// quorum (or its sorry server with announce_sorry), and the engine can
// read and apply the kernel table.
func wantedVIPs(cfg *conf.Config, st lb.Status, stErr error, haveEngine bool) []announce.VIP {
	byName := map[string]lb.VirtualServerStatus{}
	for _, v := range st.VirtualServers {
		byName[v.Name] = v
	}
	idx := map[netip.Addr]int{}
	var out []announce.VIP
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		if !vs.AnnouncesBGP() {
			continue
		}
		addr := vs.Address.Addr
		j, ok := idx[addr]
		if !ok {
			j = len(out)
			idx[addr] = j
			out = append(out, announce.VIP{Addr: addr, Route: routeOf(vs.BGPRoute), Serving: true})
		}
		why := ""
		v, known := byName[vs.Name]
		switch {
		case !haveEngine:
			why = "no IPVS engine"
		case stErr != nil:
			why = "cannot read the engine's status: " + stErr.Error()
		case st.LastError != "":
			why = "the kernel table cannot be applied: " + st.LastError
		case !known:
			why = "virtual server " + vs.Name + " is not running yet"
		case v.QuorumUp:
		case v.SorryActive && vs.AnnounceSorry:
		default:
			why = fmt.Sprintf("virtual server %s lost quorum (weight %d of %d)", vs.Name, v.WeightSum, v.Quorum)
		}
		if why != "" && out[j].Serving {
			out[j].Serving, out[j].Why = false, why
		}
	}
	return out
}

func routeOf(r *conf.BGPRoute) announce.Route {
	if r == nil {
		return announce.Route{}
	}
	out := announce.Route{MED: r.MED, LocalPref: r.LocalPref}
	// Both were validated with the file.
	for _, s := range r.Communities {
		c, _ := conf.ParseCommunity(s)
		out.Communities = append(out.Communities, c)
	}
	for _, s := range r.LargeCommunities {
		c, _ := conf.ParseLargeCommunity(s)
		out.LargeCommunities = append(out.LargeCommunities, c)
	}
	return out
}

// placeVIPs puts every announced address on bgp.vip_interface and takes
// off those a reload dropped. An address is local before it is
// announced, and stays while lbd runs whatever its health: a withdrawn
// address still carries the connections that were on it.
func (a *anycast) placeVIPs() {
	want := bgpVIPs(a.cfg)
	for addr, dev := range a.onDevice {
		if want[addr] != dev {
			a.vipOp(dev, addr, false)
			delete(a.onDevice, addr)
		}
	}
	for _, addr := range slices.SortedFunc(maps.Keys(want), netip.Addr.Compare) {
		if _, ok := a.onDevice[addr]; !ok && a.vipOp(want[addr], addr, true) {
			a.onDevice[addr] = want[addr]
		}
	}
}

// bgpVIPs maps the addresses of cfg's announce: bgp virtual servers to
// the device they go on.
func bgpVIPs(cfg *conf.Config) map[netip.Addr]string {
	want := map[netip.Addr]string{}
	if cfg.BGP == nil {
		return want
	}
	for i := range cfg.VirtualServers {
		if vs := &cfg.VirtualServers[i]; vs.AnnouncesBGP() {
			want[vs.Address.Addr] = cfg.BGP.VIPInterface
		}
	}
	return want
}

// vipOp adds or removes one address; it reports success.
func (a *anycast) vipOp(dev string, addr netip.Addr, add bool) bool {
	vs, err := a.openVIP(dev)
	if err == nil {
		defer vs.Close()
		v := vrrp.VIP{Prefix: netip.PrefixFrom(addr, addr.BitLen()), Dev: dev}
		if add {
			err = vs.AddVIP(v)
		} else {
			_, err = vs.RemoveVIP(v)
		}
	}
	if err != nil {
		a.log.Error("bgp: cannot change a virtual address", "vip", addr, "dev", dev, "add", add, "err", err)
		a.errors.Add(1)
		return false
	}
	return true
}

// do runs fn on the anycast goroutine, then an update.
func (a *anycast) do(ctx context.Context, fn func()) error {
	done := make(chan struct{})
	select {
	case a.reqs <- func() { fn(); close(done) }:
	case <-a.done:
		return errors.New("bgp: stopped")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// reconfigure applies a reloaded configuration: peers (unchanged ones
// keep their sessions), hold-down, addresses and routes.
func (a *anycast) reconfigure(ctx context.Context, cfg *conf.Config) error {
	var err error
	derr := a.do(ctx, func() {
		a.cfg = cfg
		a.ann.SetHoldDown(cfg.BGP.HoldDown.D())
		err = a.speaker.Reconfigure(bgpConfig(cfg.BGP))
		a.placeVIPs()
		a.placeBFD()
	})
	return errors.Join(derr, err)
}

// drainResult is what a drain did.
type drainResult struct {
	Withdrawn []netip.Addr
	Sent      time.Duration // until every established peer had been sent the withdrawals
	Delay     time.Duration // bgp.drain_delay, served after that
}

// drain withdraws every address, waits until the peers have been sent the
// withdrawals, then for bgp.drain_delay while the routers move the flows
// to the other balancers. The balancer stays drained until undrain.
func (a *anycast) drain(ctx context.Context) (drainResult, error) {
	var r drainResult
	wait := make(chan struct{})
	if err := a.do(ctx, func() {
		r.Withdrawn = a.ann.Announced()
		a.ann.Drain()
		a.drained = wait
		r.Delay = a.cfg.BGP.DrainDelay.D()
	}); err != nil {
		return r, err
	}
	select {
	case <-wait:
	case <-ctx.Done():
		return r, ctx.Err()
	}
	var err error
	if r.Sent, err = a.speaker.Drain(ctx); err != nil {
		return r, err
	}
	a.log.Info("bgp: drained; waiting for the routers to move the flows", "peers_sent_in", r.Sent, "drain_delay", r.Delay)
	t := time.NewTimer(r.Delay)
	defer t.Stop()
	select {
	case <-t.C:
		return r, nil
	case <-ctx.Done():
		return r, ctx.Err()
	}
}

// undrain ends a drain: addresses are announced again once they have
// served for the hold-down.
func (a *anycast) undrain(ctx context.Context) error {
	return a.do(ctx, a.ann.Resume)
}

// wait returns once the goroutine has stopped (after ctx ended).
func (a *anycast) wait() { <-a.done }

// openVIPs opens the addresses of a device on the real host.
func openVIPs(dev string) (vipSet, error) { return vrrpnet.NewVIPs(dev) }

// startBGP starts the BGP side when cfg has a bgp section.
func (d *daemon) startBGP(cfg *conf.Config) error {
	if cfg.BGP == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := startAnycast(ctx, d.log, cfg, d.engine, d.newSpeaker(d.log), d.openVIP, d.bfdManager)
	if err != nil {
		cancel()
		return fmt.Errorf("bgp: %w", err)
	}
	d.anycast, d.stopAnycast = a, cancel
	return nil
}

// reloadBGP follows a reload: starts, reconfigures or stops the BGP side.
func (d *daemon) reloadBGP(cfg *conf.Config) {
	switch {
	case d.anycast == nil:
		if err := d.startBGP(cfg); err != nil {
			d.log.Error("lbd: reload: cannot start BGP", "err", err)
		}
	case cfg.BGP == nil:
		d.log.Info("lbd: reload removed the bgp section; stopping BGP")
		d.stopBGP()
	default:
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.anycast.reconfigure(ctx, cfg); err != nil {
			d.log.Error("lbd: reload: BGP", "err", err)
		}
	}
}

// drainBGP withdraws every route and waits for the routers (see
// anycast.drain); a planned stop does it first, so no request is lost.
func (d *daemon) drainBGP(ctx context.Context) {
	if d.anycast == nil {
		return
	}
	r, err := d.anycast.drain(ctx)
	if err != nil {
		d.log.Error("lbd: BGP drain incomplete", "err", err, "withdrawn", r.Withdrawn)
		return
	}
	d.log.Info("lbd: BGP drained", "withdrawn", r.Withdrawn, "peers_sent_in", r.Sent, "served_after", r.Delay)
}

// stopBGP stops the speaker (a Cease to every peer) and its goroutine.
func (d *daemon) stopBGP() {
	if d.anycast == nil {
		return
	}
	d.stopAnycast()
	d.anycast.wait()
	d.anycast, d.stopAnycast = nil, nil
}

// anycastStatus is a snapshot of the BGP side.
type anycastStatus struct {
	Configured []netip.Addr
	Announced  []netip.Addr
	Draining   bool
	Errors     uint64
	Speaker    bgp.Stats
	BFD        *bfd.Stats // nil without a BFD session
}

func (a *anycast) snapshot(ctx context.Context) (anycastStatus, error) {
	var s anycastStatus
	err := a.do(ctx, func() {
		s.Announced, s.Draining = a.ann.Announced(), a.ann.Draining()
		s.Configured = slices.SortedFunc(maps.Keys(bgpVIPs(a.cfg)), netip.Addr.Compare)
	})
	s.Errors, s.Speaker = a.errors.Load(), a.speaker.Stats()
	if b, ok := a.bfdStats(); ok {
		s.BFD = &b
	}
	return s, err
}

// current returns the BGP side from the main loop (nil without one).
func (d *daemon) current(ctx context.Context) (*anycast, error) {
	var a *anycast
	err := d.do(ctx, func() { a = d.anycast })
	return a, err
}

// balancer is the control socket's "balancer": drain or enable this
// balancer (see control.BalancerParams). It runs on the caller's
// goroutine: a drain waits for the routers, which the main loop must not.
func (d *daemon) balancer(ctx context.Context, _ control.Peer, p control.BalancerParams) (control.BalancerResult, error) {
	a, err := d.current(ctx)
	if err != nil {
		return control.BalancerResult{}, err
	}
	if a == nil {
		return control.BalancerResult{}, control.Errorf(control.CodeNotFound, "no bgp section: this balancer announces nothing (VRRP balancers hand over with ipvsctl handover)")
	}
	if p.Enable {
		return control.BalancerResult{Withdrawn: []string{}}, a.undrain(ctx)
	}
	r, err := a.drain(ctx)
	res := control.BalancerResult{Withdrawn: []string{}, PeersSentIn: r.Sent, DrainDelay: r.Delay}
	for _, w := range r.Withdrawn {
		res.Withdrawn = append(res.Withdrawn, w.String())
	}
	return res, err
}

// bgpStatus is the bgp part of status, nil without a bgp section.
func (d *daemon) bgpStatus(ctx context.Context) (*control.BGPStatus, error) {
	a, err := d.current(ctx)
	if err != nil || a == nil {
		return nil, err
	}
	s, err := a.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	out := &control.BGPStatus{Announced: []string{}, Draining: s.Draining, Peers: []control.BGPPeerStatus{}}
	for _, v := range s.Announced {
		out.Announced = append(out.Announced, v.String())
	}
	bfdState := map[netip.Addr]string{}
	if s.BFD != nil {
		for _, b := range s.BFD.Sessions {
			bfdState[b.Config.Peer] = b.State.String()
		}
	}
	for _, p := range s.Speaker.Peers {
		out.Peers = append(out.Peers, control.BGPPeerStatus{Address: p.Address.String(), ASN: p.ASN, State: p.State.String(),
			Uptime: p.Uptime, Advertised: p.Advertised, BFD: bfdState[p.Address], LastError: p.LastError})
	}
	return out, nil
}
