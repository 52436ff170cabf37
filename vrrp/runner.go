package vrrp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// This file holds the runner: the one goroutine that owns the state
// machines of a sync group (or of a lone instance), feeds them packets,
// timers and tracker events with the time of its [Clock], and carries out
// their actions through the seams of its [Host]. lbd runs one per
// vrrp_sync_group and one per instance outside any group.

// HandoverLinger is how long a stopping Master keeps its addresses after it
// saw the new Master's gratuitous ARP / NA on the wire: long enough for
// the neighbours, which got the same frame, to act on it, and for packets
// already on their way to us to be answered.
const HandoverLinger = 50 * time.Millisecond

// HandoverAnnounceWait is how long a stopping Master waits for the new
// Master's gratuitous ARP / NA after hearing its first advert. The new
// Master adds its addresses between the two, which took 90 ms in an
// emulated VM under load; a Master that let go sooner would drop the SYNs
// its clients still send it. The announcement may never come our way (a
// VMAC shares our MAC address, announcements may be off): then the
// addresses go when this wait ends.
const HandoverAnnounceWait = 500 * time.Millisecond

// RetryOpen is how often a runner that could not open its sockets (a
// missing interface or address) tries again.
const RetryOpen = 2 * time.Second

// DefaultNotifyTimeout bounds a notify script when
// [RunnerConfig.Notify] is not set.
const DefaultNotifyTimeout = 30 * time.Second

// NotifyOptions is how notify scripts run.
type NotifyOptions struct {
	Timeout time.Duration // bounds each script; 0: DefaultNotifyTimeout
	User    string        // runs them as this user; "": the daemon's user
}

// Host opens what a member needs on the host: package vrrp/vrrpnet for
// Linux, package vrrp/vrrptest for tests.
type Host interface {
	// Open resolves the member's primary address when it is not set and
	// opens its conn, address manager and announcers.
	Open(m *MemberConfig) (MemberIO, error)
	// LinkUp reports whether an interface is up.
	LinkUp(ifname string) (bool, error)
	// WatchLink calls fn on every change of an interface's state (and
	// once at once) until ctx ends.
	WatchLink(ctx context.Context, ifname string, fn func(up bool)) error
	// OpenPinger opens an ICMP echo prober for fast takeover.
	OpenPinger() (Pinger, error)
}

// MemberIO is a member's I/O on the host.
type MemberIO struct {
	Primary    netip.Addr
	Conn       Conn
	VIPs       VIPManager
	Announcers map[string]Announcer // by interface
	// Routes installs the member's routes and rules; needed only when
	// it has some.
	Routes RouteManager
	// Close releases VIPs, Routes and Announcers (not Conn, which the runner
	// closes to stop its reader).
	Close func()
}

// Pinger sends one ICMP echo request and waits for its reply.
type Pinger interface {
	Ping(ctx context.Context, addr netip.Addr) error
	Close() error
}

// RunnerConfig configures a [Runner].
type RunnerConfig struct {
	// Group is the vrrp_sync_group's name; empty for a lone instance,
	// which then is the one member.
	Group          string
	TrackingWeight bool
	// GroupNotify are the group's notify scripts (keepalived
	// vrrp_sync_group notify_master ... notify); the generic one gets
	// GROUP name state.
	GroupNotify NotifyScripts
	Members     []MemberConfig
	// Host opens the members' I/O. Required.
	Host Host
	// Clock; nil: the real time.
	Clock Clock
	// Logger; nil: slog.Default().
	Logger *slog.Logger
	// Notify says how notify scripts run; it is read at every run, so
	// that a reload can change it. nil: DefaultNotifyTimeout, as lbd's user.
	Notify func() NotifyOptions
	// BFD returns the sessions of fast takeover by BFD, once, when a
	// member has BFD timers; nil or an error: that fast takeover is off.
	BFD func() (BFDSessions, error)
	// OnTransition is told every state change, in order, from the runner
	// goroutine; it must not block.
	OnTransition func(Notification)
}

// MemberConfig is one instance of a runner.
type MemberConfig struct {
	Interface string
	// VMAC, when set, runs the member on a virtual-MAC interface on top
	// of Interface (keepalived use_vmac).
	VMAC *VMAC
	// Config is the state machine's. Config.Primary may be left invalid:
	// the Host then takes the interface's first address of the family
	// (IPv6: its link-local address) when the runner starts.
	Config Config
	IPv6   bool
	// Peers are the unicast peers (keepalived unicast_peer). Empty: send
	// to the multicast group and check the TTL of received adverts.
	Peers []netip.Addr
	// Group is the multicast group of the adverts (keepalived
	// vrrp_mcast_group4 / vrrp_mcast_group6); invalid: 224.0.0.18 or
	// ff02::12. Unused with Peers.
	Group netip.Addr
	// AuthType and AuthData: VRRPv2 authentication (keepalived
	// authentication { auth_type PASS; auth_pass ... }).
	AuthType AuthType
	AuthData [8]byte
	// VIPs are the advertised addresses (each also in Config.VIPs),
	// Excluded the others (virtual_ipaddresses_excluded); both are
	// installed on Master.
	VIPs     []VIP
	Excluded []VIP
	// Routes and Rules are installed on Master after the addresses, and
	// removed before them (keepalived virtual_routes, virtual_rules).
	Routes []Route
	Rules  []Rule
	GARP   GARPConfig
	// FastTakeover probes the Master faster than its adverts.
	FastTakeover FastTakeover
	// TrackInterfaces, Scripts and Files are the tracked objects, by the
	// names of their Config.Tracks entries.
	TrackInterfaces []TrackedLink
	Scripts         []TrackedScript
	Files           []TrackedFile
	Notify          NotifyScripts
}

// Name is the instance's name.
func (m *MemberConfig) Name() string { return m.Config.Name }

// NotifyScripts are an instance's notify scripts (argv; each may be empty).
type NotifyScripts struct {
	Master, Backup, Fault, Stop, Generic []string
}

// Runner runs the instances of one sync group, or one instance: one
// goroutine (the caller of [Runner.Run]) owns their state machines;
// reader goroutines only move packets onto a channel, trackers (links,
// vrrp_scripts, track files) and fast-takeover probers only deliver
// events, and notify scripts run on a queue of their own, so that a slow
// script never delays an advert. Every received packet goes through the
// receive checks; drops are counted by reason and never change state.
type Runner struct {
	cfg     RunnerConfig
	clock   Clock
	log     *slog.Logger
	members []*member
	byName  map[string]*member
	group   *SyncGroup
	gstate  State

	events chan memberEvent
	pkts   chan memberPacket
	fires  chan timerFire
	quit   chan struct{} // closed when the loop has ended
	done   chan struct{} // closed when Run has returned
	abort  chan struct{} // closed: skip the handover wait
	once   sync.Once
	notify *notifyQueue

	handovers chan handoverReq
	demoted   bool // handed over: priority lowered until restore
}

// member is one running instance of a runner.
type member struct {
	idx   int
	cfg   MemberConfig
	garp  GARPConfig
	io    MemberIO
	inst  *Instance
	check CheckConfig
	dsts  []netip.Addr
	all   []VIP // advertised and excluded addresses
	log   *slog.Logger

	timer, delay, refresh, paced        func() bool // stop functions of the clock's timers
	timerGen, delayGen, refGen, paceGen uint64
	// queued are the announcements that garp_interval / gna_interval
	// hold back, sent one per fire of the paced timer.
	queued []announcement
	// second is the burst the delay timer sends: after becoming Master
	// (garp_master_delay) or after answering a lower-priority Master
	// (garp_lower_prio_delay).
	second   secondBurst
	holding  bool // stopping Master keeping its addresses
	pending  []Transition
	failing  bool
	mismatch bool // an advert with other addresses was logged
	stats    memberStats

	// master is whom a Backup follows, for the fast-takeover prober
	// (see fasttakeover.go); lastAdvert is the last advert accepted.
	master     atomic.Pointer[netip.Addr]
	lastAdvert advertSeen
	// renewed is when the addresses' lease was last renewed.
	renewed time.Time
}

// advertSeen is where and when an advert came from.
type advertSeen struct {
	from netip.Addr
	at   time.Time
}

type memberEvent struct {
	m  int
	ev Event
}

type memberPacket struct {
	m int
	p Packet
}

type fireKind uint8

const (
	fireState fireKind = iota
	fireDelay
	fireRefresh
	firePaced
)

// secondBurst is a burst of gratuitous ARP / NA to send later.
type secondBurst struct {
	repeat int
	reason string
}

type timerFire struct {
	m    int
	kind fireKind
	gen  uint64
}

// recvQueue bounds the packets waiting per member between the readers and
// the owner loop; beyond it a reader blocks and the kernel socket buffer
// drops.
const recvQueue = 64

// NewRunner checks cfg. It opens nothing: [Runner.Run] does.
func NewRunner(cfg RunnerConfig) (*Runner, error) {
	if cfg.Host == nil || len(cfg.Members) == 0 {
		return nil, errors.New("vrrp: a runner needs a host and at least one member")
	}
	if cfg.Group == "" && len(cfg.Members) > 1 {
		return nil, errors.New("vrrp: several instances need a sync group")
	}
	r := &Runner{
		cfg:    cfg,
		clock:  cfg.Clock,
		log:    cfg.Logger,
		byName: map[string]*member{},
		events: make(chan memberEvent),
		pkts:   make(chan memberPacket, recvQueue*len(cfg.Members)),
		fires:  make(chan timerFire, 5*len(cfg.Members)),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
		abort:  make(chan struct{}),

		handovers: make(chan handoverReq),
	}
	if r.clock == nil {
		r.clock = SystemClock{}
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	if cfg.Group != "" {
		r.log = r.log.With("sync_group", cfg.Group)
	}
	var errs []error
	for i, mc := range cfg.Members {
		if err := mc.validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		m := &member{idx: i, cfg: mc, garp: mc.GARP.withDefaults(),
			log: r.log.With("instance", mc.Name(), "vrid", mc.Config.VRID)}
		r.members = append(r.members, m)
		r.byName[mc.Name()] = m
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r, nil
}

// validate checks what the state machine's own validation cannot see.
func (m *MemberConfig) validate() error {
	var errs []error
	name := m.Name()
	for _, v := range append(slices.Clone(m.VIPs), m.Excluded...) {
		if !v.Prefix.IsValid() {
			errs = append(errs, fmt.Errorf("vrrp: instance %q: invalid virtual address %v", name, v.Prefix))
		}
	}
	for _, v := range m.VIPs {
		if !slices.Contains(m.Config.VIPs, v.Addr()) {
			errs = append(errs, fmt.Errorf("vrrp: instance %q: VIP %v is not an advertised address", name, v))
		}
	}
	if g := m.Group.Unmap(); m.Group.IsValid() && (!g.IsMulticast() || g.Is6() != m.IPv6) {
		errs = append(errs, fmt.Errorf("vrrp: instance %q: %v is not a multicast group of the instance's address family", name, m.Group))
	}
	for _, p := range m.Peers {
		if !p.IsValid() || p.Unmap().Is6() != m.IPv6 {
			errs = append(errs, fmt.Errorf("vrrp: instance %q: unicast peer %v is not of the instance's address family", name, p))
		}
	}
	if m.Config.Version == Version3 && (m.AuthType != AuthNone || m.AuthData != [8]byte{}) {
		errs = append(errs, fmt.Errorf("vrrp: instance %q: VRRPv3 has no authentication", name))
	}
	if m.AuthType != AuthNone && m.AuthType != AuthSimple {
		errs = append(errs, fmt.Errorf("vrrp: instance %q: authentication %v is not supported", name, m.AuthType))
	}
	return errors.Join(errs...)
}

// Abort makes a stopping runner skip the rest of its handover wait.
func (r *Runner) Abort() { r.once.Do(func() { close(r.abort) }) }

// Done is closed when Run has returned and everything is released.
func (r *Runner) Done() <-chan struct{} { return r.done }

// Deliver hands an event (for example [TrackChanged] or [Fault]) for one
// instance to the runner goroutine. It blocks until the runner takes it,
// ctx ends, or the runner stops ([ErrStopped]).
func (r *Runner) Deliver(ctx context.Context, instance string, ev Event) error {
	m := r.byName[instance]
	if m == nil {
		return fmt.Errorf("vrrp: no instance %q in this runner", instance)
	}
	select {
	case r.events <- memberEvent{m: m.idx, ev: ev}:
		return nil
	case <-r.quit:
		return ErrStopped
	case <-r.done:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ErrStopped is returned by [Runner.Deliver] and [Runner.Handover] once
// the runner has ended.
var ErrStopped = errors.New("vrrp: runner stopped")

// Run opens the members' I/O (retrying every [RetryOpen] until it
// succeeds or ctx ends), runs the instances until ctx ends, then stops
// them: Masters hand over (see stop.go) before they release their
// addresses. Run may be called once; a ctx that has already ended makes
// it return at once.
func (r *Runner) Run(ctx context.Context) {
	defer close(r.done)
	if ctx.Err() != nil {
		return
	}
	r.notify = newNotifyQueue(r.log, r.notifyOptions)
	defer r.notify.close()
	for !r.open() {
		if !sleep(ctx, r.clock, RetryOpen) {
			return
		}
	}
	defer r.closeIO()

	trackCtx, stopTrackers := context.WithCancel(context.Background())
	defer stopTrackers()
	readCtx, stopReaders := context.WithCancel(context.Background())
	var readers sync.WaitGroup
	defer readers.Wait()
	defer stopReaders()
	for _, m := range r.members {
		readers.Go(func() { r.read(readCtx, m) })
	}
	r.startTrackers(trackCtx)
	stopProbers := r.startProbers(trackCtx)
	stopBFD := r.startBFD(trackCtx)
	for _, m := range r.members {
		r.handle(m, Startup{})
	}
	r.loop(ctx)
	stopTrackers()
	stopProbers()
	r.shutdown()
	stopBFD()
	close(r.quit)
	stopReaders()
	for _, m := range r.members {
		m.timer()
		m.delay()
		m.refresh()
		m.paced()
		m.io.Conn.Close() // unblocks the reader
	}
}

func (r *Runner) notifyOptions() NotifyOptions {
	var o NotifyOptions
	if r.cfg.Notify != nil {
		o = r.cfg.Notify()
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultNotifyTimeout
	}
	return o
}

func stopped() bool { return false }

// open builds the members' state machines and opens their I/O. On failure
// it logs why, releases what it opened and returns false.
func (r *Runner) open() bool {
	var opened []*member
	fail := func(err error) bool {
		r.log.Error("vrrp: cannot start; retrying", "retry", RetryOpen, "err", err)
		for _, m := range opened {
			m.io.Conn.Close()
			m.io.Close()
		}
		for _, m := range r.members {
			m.inst = nil
		}
		r.group = nil
		return false
	}
	insts := make([]*Instance, 0, len(r.members))
	for _, m := range r.members {
		io, err := r.cfg.Host.Open(&m.cfg)
		if err != nil {
			return fail(fmt.Errorf("instance %s: %w", m.cfg.Name(), err))
		}
		if io.Close == nil {
			io.Close = func() {}
		}
		m.io = io
		opened = append(opened, m)
		if io.Routes == nil && len(m.cfg.Routes)+len(m.cfg.Rules) > 0 {
			return fail(fmt.Errorf("instance %s: the host cannot install routes", m.cfg.Name()))
		}
		cfg := m.cfg.Config
		cfg.Primary = io.Primary
		// The handover track lowers the priority of a handed-over
		// instance (see stop.go); up, it adds nothing. The address
		// owner (priority 255) is Master whatever happens, so it has
		// none.
		if cfg.Priority != PriorityOwner {
			cfg.Tracks = append(slices.Clone(cfg.Tracks), Track{Name: handoverTrack, Kind: TrackScript, Weight: -MaxTrackWeight})
		}
		m.inst, err = NewInstance(cfg)
		if err != nil {
			return fail(err)
		}
		insts = append(insts, m.inst)
		m.check = CheckConfig{
			Version: cfg.Version, VRID: cfg.VRID, Interval: cfg.AdvertInterval,
			AuthType: m.cfg.AuthType, AuthData: m.cfg.AuthData, Addrs: cfg.VIPs,
			Unicast: len(m.cfg.Peers) > 0, Peers: slices.Clone(m.cfg.Peers), Self: io.Primary,
			Group: GroupOf(m.cfg.Group, io.Primary.Is6()),
		}
		m.dsts = slices.Clone(m.cfg.Peers)
		if len(m.dsts) == 0 {
			m.dsts = []netip.Addr{m.check.Group}
		}
		m.all = append(slices.Clone(m.cfg.VIPs), m.cfg.Excluded...)
		m.timer, m.delay, m.refresh, m.paced = stopped, stopped, stopped, stopped
		m.stats.prio.Store(uint32(m.inst.Priority()))
	}
	if r.cfg.Group != "" {
		g, err := NewSyncGroup(r.cfg.Group, r.cfg.TrackingWeight, insts...)
		if err != nil {
			return fail(err)
		}
		r.group = g
	}
	// Initial link states, so that an instance whose link is down starts
	// in Fault rather than passing through Backup. Track files are read
	// by their watchers (trackers.go), off this path.
	for _, m := range r.members {
		if up, err := r.cfg.Host.LinkUp(m.cfg.Interface); err == nil && !up {
			r.handle(m, Fault{Source: FaultLinkDown})
		}
		for _, t := range m.cfg.TrackInterfaces {
			up, err := r.cfg.Host.LinkUp(t.Interface)
			r.handle(m, TrackChanged{Name: t.Track, Status: TrackStatus{Up: up && err == nil}})
		}
		iface := m.cfg.Interface
		if v := m.cfg.VMAC; v != nil {
			iface += " vmac " + v.Name
		}
		m.log.Info("vrrp: instance starting", "iface", iface, "primary", m.io.Primary,
			"priority", m.inst.Priority(), "version", int(m.cfg.Config.Version), "interval", m.cfg.Config.AdvertInterval,
			"vips", m.cfg.Config.VIPs, "unicast_peers", m.cfg.Peers, "group", m.dsts[0])
	}
	return true
}

func (r *Runner) closeIO() {
	for _, m := range r.members {
		if m.io.Close != nil {
			m.io.Close()
		}
	}
}

// read moves packets from a member's conn to the loop until ctx ends (and
// the conn is closed).
func (r *Runner) read(ctx context.Context, m *member) {
	for {
		p, err := m.io.Conn.Receive()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if n := m.stats.rxErr.Add(1); n%1000 == 1 {
				m.log.Warn("vrrp: receive failed", "err", err)
			}
			// Bounded back-off so that a broken socket does not spin.
			if !sleep(ctx, r.clock, 10*time.Millisecond) {
				return
			}
			continue
		}
		select {
		case r.pkts <- memberPacket{m: m.idx, p: p}:
		case <-ctx.Done():
			return
		}
	}
}

// deliver hands an event from a tracker or prober to the loop.
func (r *Runner) deliver(ctx context.Context, m int, ev Event) {
	select {
	case r.events <- memberEvent{m: m, ev: ev}:
	case <-ctx.Done():
	}
}

func (r *Runner) loop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-r.pkts:
			r.receive(r.members[p.m], p.p)
		case e := <-r.events:
			r.handle(r.members[e.m], e.ev)
		case f := <-r.fires:
			r.fired(f)
		case q := <-r.handovers:
			names, err := r.handover(ctx, q.restore)
			q.reply <- handoverReply{instances: names, err: err}
		}
	}
}

func (r *Runner) fired(f timerFire) {
	m := r.members[f.m]
	switch f.kind {
	case fireState:
		if f.gen == m.timerGen {
			r.handle(m, TimerFired{})
		}
	case fireDelay:
		if f.gen == m.delayGen && m.inst.State() == StateMaster {
			r.announce(m, m.second.repeat, m.second.reason)
		}
	case fireRefresh:
		if f.gen == m.refGen && m.inst.State() == StateMaster {
			r.refresh(m)
		}
	case firePaced:
		if f.gen == m.paceGen && m.inst.State() == StateMaster {
			r.sendQueued(m)
		}
	}
}

// arm (re)starts one of a member's timers; a stale fire is recognised by
// its generation.
func (r *Runner) arm(m *member, kind fireKind, d time.Duration) {
	stop, gen := r.timerOf(m, kind)
	(*stop)()
	*gen++
	f := timerFire{m: m.idx, kind: kind, gen: *gen}
	*stop = r.clock.AfterFunc(max(d, 0), func() {
		select {
		case r.fires <- f:
		case <-r.quit:
		}
	})
}

func (r *Runner) disarm(m *member, kind fireKind) {
	stop, gen := r.timerOf(m, kind)
	(*stop)()
	*gen++
}

func (r *Runner) timerOf(m *member, kind fireKind) (*func() bool, *uint64) {
	switch kind {
	case fireState:
		return &m.timer, &m.timerGen
	case fireDelay:
		return &m.delay, &m.delayGen
	case firePaced:
		return &m.paced, &m.paceGen
	}
	return &m.refresh, &m.refGen
}

// receive checks one packet and feeds an accepted advert to the instance.
func (r *Runner) receive(m *member, p Packet) {
	a, v := m.check.Receive(p.Payload, p.Src.WithZone(""), p.Dst.WithZone(""), p.TTL)
	if !v.OK() {
		m.stats.drops[v.Drop].Add(1)
		if v.Drop != ReasonVRID { // other VRIDs on the link are normal
			m.log.Debug("vrrp: packet dropped", "reason", v.Drop, "peer", p.Src, "ttl", p.TTL, "len", len(p.Payload))
		}
		return
	}
	m.stats.received.Add(1)
	if v.AddrMismatch && !m.mismatch {
		m.mismatch = true
		m.log.Warn("vrrp: advert lists other virtual addresses than ours", "peer", p.Src, "priority", a.Priority, "theirs", a.Addrs)
	}
	m.lastAdvert = advertSeen{from: p.Src.WithZone(""), at: r.clock.Now()}
	r.handle(m, AdvertReceived{From: p.Src.WithZone(""), Priority: a.Priority, Interval: a.Interval})
}

// handle applies one event to a member (through the sync group, so the
// others follow) and carries out the actions.
func (r *Runner) handle(m *member, ev Event) {
	if mu, ok := ev.(MasterUnreachable); ok && !r.masterUnreachable(m, mu) {
		return
	}
	now := r.clock.Now()
	var acts []MemberAction
	if r.group != nil {
		acts = r.group.Handle(now, m.cfg.Name(), ev)
	} else {
		acts = tag(nil, m.inst, m.inst.Handle(now, ev))
	}
	r.exec(now, acts)
	for _, o := range r.members {
		o.updateWatched()
	}
}

func (r *Runner) exec(now time.Time, acts []MemberAction) {
	becoming := map[*member]bool{}
	for _, a := range acts {
		if t, ok := a.Action.(Transition); ok && t.To == StateMaster {
			becoming[r.byName[a.Instance]] = true
		}
	}
	for _, ma := range acts {
		m := r.byName[ma.Instance]
		if m == nil {
			continue
		}
		switch a := ma.Action.(type) {
		case SendAdvert:
			if m.holding && r.demoted && a.Priority != PriorityStop {
				continue // handing over: only priority 0 goes out
			}
			r.sendAdvert(m, a.Priority)
		case AddVIPs:
			r.addVIPs(m)
			r.addRoutes(m)
		case RemoveVIPs:
			if !m.holding {
				r.removeRoutes(m)
				r.removeVIPs(m)
			}
		case SendGARP:
			reason, repeat := "lower priority master", m.garp.LowerPrioRepeat
			second := secondBurst{repeat, "garp_lower_prio_delay"}
			delay := m.garp.LowerPrioDelay
			if becoming[m] {
				reason, repeat = "became master", m.garp.Repeat
				second, delay = secondBurst{repeat, "garp_master_delay"}, m.garp.Delay
			}
			r.announce(m, repeat, reason)
			if delay > 0 {
				m.second = second
				r.arm(m, fireDelay, delay)
			}
		case SetTimer:
			r.arm(m, fireState, a.At.Sub(r.clock.Now()))
		case StopTimer:
			r.disarm(m, fireState)
		case Transition:
			r.transition(m, now, a)
		case PriorityChanged:
			m.stats.prio.Store(uint32(a.To))
			m.log.Info("vrrp: priority changed", "state", m.inst.State(), "priority", a.To, "from", a.From)
		case LowerPriorityMaster:
			m.log.Warn("vrrp: lower priority router advertises as master; asserting ourselves",
				"state", m.inst.State(), "peer", a.Peer, "priority", a.Priority, "ours", m.inst.Priority())
		}
	}
	r.groupState()
}

func (r *Runner) transition(m *member, now time.Time, t Transition) {
	m.stats.state.Store(uint32(t.To))
	m.stats.prio.Store(uint32(m.inst.Priority()))
	m.stats.transitions.Add(1)
	reason := t.Cause.String()
	if r.demoted && m.holding {
		reason = "handover requested"
	}
	m.stats.last.Store(&lastTransition{at: now, reason: reason})
	attrs := []any{"state", t.To, "from", t.From, "reason", t.Cause.String(), "priority", m.inst.Priority()}
	if t.Peer.IsValid() {
		attrs = append(attrs, "peer", t.Peer, "peer_priority", t.PeerPriority)
	}
	m.log.Info("vrrp: state change", attrs...)
	if t.To == StateMaster {
		if m.garp.Refresh > 0 {
			r.arm(m, fireRefresh, m.garp.Refresh)
		}
	} else {
		r.disarm(m, fireDelay)
		r.disarm(m, fireRefresh)
		r.disarm(m, firePaced)
		m.queued = nil
	}
	if fn := r.cfg.OnTransition; fn != nil {
		fn(Notification{Instance: m.cfg.Name(), VRID: m.cfg.Config.VRID, Transition: t, Reason: reason,
			Priority: m.inst.Priority(), Time: now})
	}
	if m.holding {
		m.pending = append(m.pending, t)
		return
	}
	r.notifyInstance(m, t.To)
}

func (r *Runner) sendAdvert(m *member, prio uint8) {
	a := Advert{
		Version: m.cfg.Config.Version, VRID: m.cfg.Config.VRID, Priority: prio,
		Interval: m.cfg.Config.AdvertInterval, AuthType: m.cfg.AuthType, AuthData: m.cfg.AuthData,
		Addrs: m.cfg.Config.VIPs,
	}
	src := m.io.Primary.WithZone("")
	var buf []byte
	for _, dst := range m.dsts {
		msg, err := a.Append(buf[:0], src, dst)
		if err == nil {
			buf = msg
			err = m.io.Conn.Send(msg, dst)
		}
		if err != nil {
			m.stats.txErr.Add(1)
			if !m.failing {
				m.failing = true
				m.log.Warn("vrrp: sending advert failed", "state", m.inst.State(), "peer", dst, "priority", prio, "err", err)
			}
			continue
		}
		if m.failing {
			m.failing = false
			m.log.Info("vrrp: sending adverts again", "state", m.inst.State(), "peer", dst)
		}
		m.stats.sent.Add(1)
	}
	// A Master (or one handing over) renews the lease of its addresses
	// with its adverts; a quarter of the lease apart is plenty, since the
	// kernel counts lifetimes in seconds.
	if (m.inst.State() == StateMaster || m.holding) && r.clock.Now().Sub(m.renewed) >= VIPLease(m.cfg.Config.AdvertInterval)/4 {
		r.addVIPs(m)
	}
}

// VIPLease is the lifetime of a Master's addresses (the Host installs
// them with it): four advert intervals, the longest Master_Down_Interval
// of any Backup (three intervals and a skew below one), so that the
// addresses of a Master killed outright go about when a Backup has taken
// over them, and at least 2 s, since the kernel counts lifetimes in whole
// seconds and expires them about once a second.
func VIPLease(advertInterval time.Duration) time.Duration {
	return max(4*advertInterval, 2*time.Second)
}

func (r *Runner) addVIPs(m *member) {
	m.renewed = r.clock.Now()
	for _, v := range m.all {
		if err := m.io.VIPs.AddVIP(v); err != nil {
			m.stats.vipErr.Add(1)
			m.log.Error("vrrp: adding virtual address failed", "state", m.inst.State(), "vip", v, "err", err)
		}
	}
}

func (r *Runner) removeVIPs(m *member) {
	for _, v := range m.all {
		removed, err := m.io.VIPs.RemoveVIP(v)
		switch {
		case err != nil:
			m.stats.vipErr.Add(1)
			m.log.Error("vrrp: removing virtual address failed", "state", m.inst.State(), "vip", v, "err", err)
		case removed:
			m.log.Info("vrrp: removed virtual address", "state", m.inst.State(), "vip", v)
		}
	}
}

// addrsByDev returns m's addresses (virtual and excluded) by the
// interface they are on, the unit of its announcers.
func (m *member) addrsByDev() map[string][]netip.Addr {
	byDev := map[string][]netip.Addr{}
	for _, v := range m.all {
		byDev[v.Dev] = append(byDev[v.Dev], v.Addr())
	}
	return byDev
}

// announce sends n rounds of gratuitous ARP / NA for every address of m,
// each on the interface the address is on; with garp_interval or
// gna_interval, one at a time (see pace).
func (r *Runner) announce(m *member, n int, reason string) {
	if m.garp.Interval > 0 || m.garp.NAInterval > 0 {
		r.pace(m, n, reason)
		return
	}
	var errs []error
	for dev, addrs := range m.addrsByDev() {
		ann := m.io.Announcers[dev]
		if ann == nil {
			continue
		}
		for range n {
			if err := ann.Announce(addrs); err != nil {
				errs = append(errs, err)
				break
			}
		}
	}
	m.stats.garps.Add(1)
	if err := errors.Join(errs...); err != nil {
		m.stats.garpErr.Add(1)
		m.log.Warn("vrrp: gratuitous ARP / NA failed", "state", m.inst.State(), "err", err)
		return
	}
	lvl := slog.LevelInfo
	if reason == "garp_master_refresh" {
		lvl = slog.LevelDebug
	}
	m.log.Log(context.Background(), lvl, "vrrp: gratuitous ARP / NA sent", "reason", reason, "repeat", n, "vips", len(m.all))
}

// refresh is the periodic Master work: re-add addresses, routes and rules
// removed behind our back, then announce the addresses.
func (r *Runner) refresh(m *member) {
	r.arm(m, fireRefresh, m.garp.Refresh)
	for _, v := range m.all {
		ok, err := m.io.VIPs.HasVIP(v)
		if err == nil && !ok {
			m.log.Warn("vrrp: virtual address was removed behind our back; adding it again", "state", StateMaster, "vip", v)
			err = m.io.VIPs.AddVIP(v)
		}
		if err != nil {
			m.stats.vipErr.Add(1)
			m.log.Error("vrrp: checking virtual address failed", "state", StateMaster, "vip", v, "err", err)
		}
	}
	r.addRoutes(m)
	r.announce(m, m.garp.RefreshRepeat, "garp_master_refresh")
}
