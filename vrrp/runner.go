package vrrp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"
)

// This file holds the runner: the one goroutine that owns an [Instance],
// feeds it packets, timers and events with the real time, and carries out
// its actions through small seams (Conn, VIPManager, Announcer, Notifier)
// so that it runs with real sockets (package vrrpnet) or with fakes.

// Packet is one received VRRP packet: the IP payload and what the IP layer
// reported about it.
type Packet struct {
	Src, Dst netip.Addr // without zone
	// TTL is the IPv4 TTL or IPv6 hop limit; negative when the socket did
	// not report it.
	TTL     int
	Payload []byte // the VRRP message (IP payload)
}

// Conn sends and receives VRRP messages of one address family on one link.
// Implementations must send from the instance's [Config.Primary] (the
// checksum of VRRPv3 covers it) with TTL / hop limit 255.
type Conn interface {
	// Send sends one VRRP message, checksum included, to dst (the
	// multicast group or a unicast peer).
	Send(msg []byte, dst netip.Addr) error
	// Receive blocks until a packet arrives. After Close it returns an
	// error (wrapping net.ErrClosed for sockets).
	Receive() (Packet, error)
	// Close releases the conn and unblocks Receive.
	Close() error
}

// VIP is a virtual address and how it is installed on the host.
type VIP struct {
	// Prefix is the address with its prefix length; a /32 (IPv4) or
	// /128 (IPv6) host route unless configured otherwise.
	Prefix netip.Prefix
	// Dev is the interface; empty means the [VIPManager]'s default, the
	// instance's interface.
	Dev string
	// Label is the optional IPv4 address label (keepalived "label"); the
	// kernel wants it to start with the interface name.
	Label string
}

// Addr returns the virtual address.
func (v VIP) Addr() netip.Addr { return v.Prefix.Addr() }

// String returns the prefix, and the interface when set.
func (v VIP) String() string {
	if v.Dev == "" {
		return v.Prefix.String()
	}
	return v.Prefix.String() + " dev " + v.Dev
}

// VIPManager adds and removes virtual addresses on the host.
type VIPManager interface {
	// AddVIP installs v; an address already present is not an error.
	AddVIP(v VIP) error
	// RemoveVIP removes v if present and reports whether it was; an
	// absent address is not an error.
	RemoveVIP(v VIP) (removed bool, err error)
	// HasVIP reports whether v is installed.
	HasVIP(v VIP) (bool, error)
}

// Announcer sends one gratuitous ARP (IPv4) or unsolicited neighbour
// advertisement (IPv6) per address. The runner calls it Repeat times per
// burst.
type Announcer interface {
	Announce(addrs []netip.Addr) error
}

// Notification reports one state change of an instance to a [Notifier].
type Notification struct {
	Instance   string
	VRID       uint8
	Transition Transition
	Priority   uint8     // our effective priority after the change
	Time       time.Time // when the runner carried it out
}

// Notifier receives every state change, in order, from the runner
// goroutine. Notify must return quickly (queue slow work such as scripts):
// the runner does nothing else while it runs.
type Notifier interface {
	Notify(Notification)
}

// NotifyFunc adapts a function to [Notifier].
type NotifyFunc func(Notification)

// Notify calls f(n).
func (f NotifyFunc) Notify(n Notification) { f(n) }

// GARP defaults. lbd refreshes by default, unlike keepalived (where
// garp_master_refresh is off): switches age out forwarding entries and
// hosts keep stale ARP entries after a split brain, and one gratuitous ARP
// a minute costs nothing.
const (
	DefaultGARPDelay         = 5 * time.Second  // keepalived garp_master_delay
	DefaultGARPRepeat        = 5                // keepalived garp_master_repeat
	DefaultGARPRefresh       = 60 * time.Second // keepalived garp_master_refresh (off there)
	DefaultGARPRefreshRepeat = 1                // keepalived garp_master_refresh_repeat
)

// GARPConfig says when a Master announces its addresses. A zero field means
// its default; a negative duration turns that part off.
type GARPConfig struct {
	// Delay: a second burst this long after becoming Master (keepalived
	// garp_master_delay, default 5 s).
	Delay time.Duration
	// Repeat: announcements per address in a burst (keepalived
	// garp_master_repeat, default 5).
	Repeat int
	// Refresh: while Master, a burst this often (keepalived
	// garp_master_refresh; lbd default 60 s). On each refresh the runner
	// also re-adds virtual addresses removed behind its back.
	Refresh time.Duration
	// RefreshRepeat: announcements per address in a refresh burst
	// (keepalived garp_master_refresh_repeat, default 1).
	RefreshRepeat int
}

func (g GARPConfig) withDefaults() GARPConfig {
	if g.Delay == 0 {
		g.Delay = DefaultGARPDelay
	}
	if g.Repeat <= 0 {
		g.Repeat = DefaultGARPRepeat
	}
	if g.Refresh == 0 {
		g.Refresh = DefaultGARPRefresh
	}
	if g.RefreshRepeat <= 0 {
		g.RefreshRepeat = DefaultGARPRefreshRepeat
	}
	return g
}

// RunnerConfig holds what a [Runner] needs besides the [Instance].
type RunnerConfig struct {
	// Conn carries the adverts; the runner owns it and closes it when Run
	// returns. Required.
	Conn Conn
	// Peers are the unicast peers (keepalived unicast_peer). Empty: send
	// to the multicast group and check the TTL of received adverts.
	Peers []netip.Addr
	// AuthType and AuthData: VRRPv2 authentication (keepalived
	// authentication { auth_type PASS; auth_pass ... }).
	AuthType AuthType
	AuthData [8]byte
	// VIPs says how to install each virtual address; addresses of the
	// instance that are missing here are host routes on the default
	// interface.
	VIPs []VIP
	// VIPManager installs the addresses; nil: none are installed.
	VIPManager VIPManager
	// Announcer sends gratuitous ARP / NA; nil: none are sent.
	Announcer Announcer
	GARP      GARPConfig
	// Notifier receives every state change; nil: none.
	Notifier Notifier
	// Logger; nil: slog.Default().
	Logger *slog.Logger
}

// Stats are the runner's counters, for metrics.
type Stats struct {
	AdvertsReceived uint64 // accepted adverts
	AdvertsSent     uint64 // one per destination
	SendErrors      uint64
	ReceiveErrors   uint64
	GARPsSent       uint64 // announcement rounds (one per address each)
	GARPErrors      uint64
	VIPErrors       uint64
	Transitions     uint64
	// Drops counts dropped packets by reason; every reason is present.
	Drops map[DropReason]uint64
}

// ErrStopped is returned by [Runner.Deliver] once the runner has ended.
var ErrStopped = errors.New("vrrp: runner stopped")

// Runner runs one [Instance]: one goroutine (the caller of [Runner.Run])
// owns it; a reader goroutine only moves packets from the Conn onto a
// channel. Every received packet goes through the receive checks; drops
// are counted by reason and never change state.
type Runner struct {
	inst  *Instance
	cfg   Config
	rc    RunnerConfig
	log   *slog.Logger
	check CheckConfig
	vips  []VIP // in the order of cfg.VIPs
	dsts  []netip.Addr
	garp  GARPConfig

	events chan Event
	done   chan struct{}

	state    atomic.Uint32
	prio     atomic.Uint32
	drops    [numReasons]atomic.Uint64
	rx       atomic.Uint64
	tx       atomic.Uint64
	txErr    atomic.Uint64
	rxErr    atomic.Uint64
	garps    atomic.Uint64
	garpErr  atomic.Uint64
	vipErr   atomic.Uint64
	changes  atomic.Uint64
	started  atomic.Bool
	failing  bool // last send failed (log once per episode)
	mismatch bool // address list mismatch already logged
}

// NewRunner checks rc against the instance. The instance must be in
// StateInit and belong to no sync group.
func NewRunner(inst *Instance, rc RunnerConfig) (*Runner, error) {
	if inst == nil || rc.Conn == nil {
		return nil, errors.New("vrrp: runner needs an instance and a conn")
	}
	if inst.group != nil {
		return nil, fmt.Errorf("vrrp: instance %q is in sync group %q; run the group instead", inst.Name(), inst.group.Name())
	}
	if inst.State() != StateInit {
		return nil, fmt.Errorf("vrrp: instance %q already started", inst.Name())
	}
	cfg := inst.Config()
	r := &Runner{
		inst:   inst,
		cfg:    cfg,
		rc:     rc,
		log:    rc.Logger,
		garp:   rc.GARP.withDefaults(),
		events: make(chan Event), // unbuffered: a taken event is handled
		done:   make(chan struct{}),
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	r.log = r.log.With("instance", cfg.Name, "vrid", cfg.VRID)
	is4 := cfg.Primary.Unmap().Is4()
	var errs []error
	specs := map[netip.Addr]VIP{}
	for _, v := range rc.VIPs {
		a := v.Addr().Unmap()
		switch {
		case !v.Prefix.IsValid():
			errs = append(errs, fmt.Errorf("vrrp: instance %q: invalid VIP prefix %v", cfg.Name, v.Prefix))
		case !slices.ContainsFunc(cfg.VIPs, func(x netip.Addr) bool { return x.Unmap() == a }):
			errs = append(errs, fmt.Errorf("vrrp: instance %q: VIP %v is not a virtual address of the instance", cfg.Name, v))
		default:
			specs[a] = v
		}
	}
	for _, a := range cfg.VIPs {
		v, ok := specs[a.Unmap()]
		if !ok {
			v = VIP{Prefix: netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())}
		}
		r.vips = append(r.vips, v)
	}
	for _, p := range rc.Peers {
		if !p.IsValid() || p.Unmap().Is4() != is4 {
			errs = append(errs, fmt.Errorf("vrrp: instance %q: unicast peer %v is not of the family of %v", cfg.Name, p, cfg.Primary))
		}
		r.dsts = append(r.dsts, p.Unmap().WithZone(""))
	}
	if len(r.dsts) == 0 {
		r.dsts = []netip.Addr{MulticastIPv4}
		if !is4 {
			r.dsts = []netip.Addr{MulticastIPv6}
		}
	}
	if cfg.Version == Version3 && (rc.AuthType != AuthNone || rc.AuthData != [8]byte{}) {
		errs = append(errs, fmt.Errorf("vrrp: instance %q: VRRPv3 has no authentication", cfg.Name))
	}
	if rc.AuthType != AuthNone && rc.AuthType != AuthSimple {
		errs = append(errs, fmt.Errorf("vrrp: instance %q: authentication %v is not supported", cfg.Name, rc.AuthType))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	r.check = CheckConfig{
		Version:  cfg.Version,
		VRID:     cfg.VRID,
		Interval: cfg.AdvertInterval,
		AuthType: rc.AuthType,
		AuthData: rc.AuthData,
		Addrs:    cfg.VIPs,
		Unicast:  len(rc.Peers) > 0,
		Peers:    slices.Clone(rc.Peers),
		Self:     cfg.Primary,
	}
	r.prio.Store(uint32(inst.Priority()))
	return r, nil
}

// State returns the instance state; safe from any goroutine.
func (r *Runner) State() State { return State(r.state.Load()) }

// Priority returns the effective priority; safe from any goroutine.
func (r *Runner) Priority() uint8 { return uint8(r.prio.Load()) }

// Done is closed when Run has returned.
func (r *Runner) Done() <-chan struct{} { return r.done }

// Drops returns the dropped packets by reason (every reason present);
// safe from any goroutine.
func (r *Runner) Drops() map[DropReason]uint64 {
	m := make(map[DropReason]uint64, numReasons-1)
	for _, reason := range DropReasons() {
		m[reason] = r.drops[reason].Load()
	}
	return m
}

// Stats returns a snapshot of the counters; safe from any goroutine.
func (r *Runner) Stats() Stats {
	return Stats{
		AdvertsReceived: r.rx.Load(),
		AdvertsSent:     r.tx.Load(),
		SendErrors:      r.txErr.Load(),
		ReceiveErrors:   r.rxErr.Load(),
		GARPsSent:       r.garps.Load(),
		GARPErrors:      r.garpErr.Load(),
		VIPErrors:       r.vipErr.Load(),
		Transitions:     r.changes.Load(),
		Drops:           r.Drops(),
	}
}

// Deliver hands an event (for example [TrackChanged] or [Fault]) to the
// runner goroutine. It blocks until the runner takes it, ctx ends, or the
// runner stops ([ErrStopped]).
func (r *Runner) Deliver(ctx context.Context, ev Event) error {
	select {
	case <-r.done:
		return ErrStopped
	default:
	}
	select {
	case r.events <- ev:
		return nil
	case <-r.done:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// recvQueue bounds the packets waiting between the reader and the owner
// loop; beyond it the reader blocks and the kernel socket buffer drops.
const recvQueue = 64

// Run starts the instance and runs it until ctx ends. Then it shuts the
// instance down (a Master sends priority 0 and removes its addresses),
// closes the Conn and returns nil. Run may be called once.
func (r *Runner) Run(ctx context.Context) error {
	if !r.started.CompareAndSwap(false, true) {
		return errors.New("vrrp: runner already started")
	}
	defer close(r.done)
	pkts := make(chan Packet, recvQueue)
	readerDone := make(chan struct{})
	stop := make(chan struct{})
	go r.read(pkts, stop, readerDone)
	defer func() {
		close(stop)
		r.rc.Conn.Close()
		<-readerDone
	}()

	l := loop{
		timer:   stoppedTimer(),
		delay:   stoppedTimer(),
		refresh: stoppedTimer(),
	}
	defer l.timer.Stop()
	defer l.delay.Stop()
	defer l.refresh.Stop()

	r.log.Info("vrrp: instance starting", "state", StateInit, "priority", r.inst.Priority(),
		"version", int(r.cfg.Version), "interval", r.cfg.AdvertInterval, "vips", r.cfg.VIPs, "unicast_peers", r.rc.Peers)
	r.exec(&l, time.Now(), r.inst.Handle(time.Now(), Startup{}))
	for {
		select {
		case <-ctx.Done():
			r.exec(&l, time.Now(), r.inst.Handle(time.Now(), Shutdown{}))
			return nil
		case p := <-pkts:
			r.receive(&l, p)
		case <-l.timerC:
			now := time.Now()
			l.timerC = nil
			r.exec(&l, now, r.inst.Handle(now, TimerFired{}))
		case ev := <-r.events:
			now := time.Now()
			r.exec(&l, now, r.inst.Handle(now, ev))
		case <-l.delayC:
			l.delayC = nil
			r.burst(r.garp.Repeat)
		case <-l.refreshC:
			r.refresh(&l)
		}
	}
}

// loop is the owner loop's timer state. A nil channel disables its case.
type loop struct {
	timer, delay, refresh    *time.Timer
	timerC, delayC, refreshC <-chan time.Time
}

func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

// read moves packets from the conn to pkts until the conn is closed.
func (r *Runner) read(pkts chan<- Packet, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	for {
		p, err := r.rc.Conn.Receive()
		if err != nil {
			select {
			case <-stop:
				return
			default:
			}
			r.rxErr.Add(1)
			if r.rxErr.Load()%1000 == 1 {
				r.log.Warn("vrrp: receive failed", "err", err)
			}
			// Bounded back-off so a broken socket does not spin.
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		select {
		case pkts <- p:
		case <-stop:
			return
		}
	}
}

// receive checks one packet and feeds an accepted advert to the instance.
func (r *Runner) receive(l *loop, p Packet) {
	a, v := r.check.Receive(p.Payload, p.Src.WithZone(""), p.Dst.WithZone(""), p.TTL)
	if !v.OK() {
		r.drops[v.Drop].Add(1)
		r.log.Debug("vrrp: packet dropped", "reason", v.Drop, "peer", p.Src, "ttl", p.TTL, "len", len(p.Payload))
		return
	}
	r.rx.Add(1)
	if v.AddrMismatch && !r.mismatch {
		r.mismatch = true
		r.log.Warn("vrrp: advert lists other virtual addresses than ours", "peer", p.Src, "priority", a.Priority, "theirs", a.Addrs)
	}
	now := time.Now()
	r.exec(l, now, r.inst.Handle(now, AdvertReceived{From: p.Src.WithZone(""), Priority: a.Priority, Interval: a.Interval}))
}

// exec carries out the actions of one Handle call, in order.
func (r *Runner) exec(l *loop, now time.Time, acts []Action) {
	becomingMaster := slices.ContainsFunc(acts, func(a Action) bool {
		t, ok := a.(Transition)
		return ok && t.To == StateMaster
	})
	for _, a := range acts {
		switch a := a.(type) {
		case SendAdvert:
			r.sendAdvert(a.Priority)
		case AddVIPs:
			r.addVIPs(a.Addrs)
		case RemoveVIPs:
			r.removeVIPs(a.Addrs)
		case SendGARP:
			r.burstAddrs(a.Addrs, r.garp.Repeat)
			if becomingMaster && r.garp.Delay > 0 {
				l.delay.Reset(r.garp.Delay)
				l.delayC = l.delay.C
			}
		case SetTimer:
			l.timer.Reset(max(0, time.Until(a.At)))
			l.timerC = l.timer.C
		case StopTimer:
			l.timer.Stop()
			l.timerC = nil
		case Transition:
			r.transition(l, now, a)
		case PriorityChanged:
			r.prio.Store(uint32(a.To))
			r.log.Info("vrrp: priority changed", "state", r.inst.State(), "priority", a.To, "from", a.From)
		case LowerPriorityMaster:
			r.log.Warn("vrrp: lower priority router advertises as master; asserting ourselves",
				"state", r.inst.State(), "peer", a.Peer, "priority", a.Priority, "ours", r.inst.Priority())
		}
	}
}

func (r *Runner) transition(l *loop, now time.Time, t Transition) {
	r.state.Store(uint32(t.To))
	r.prio.Store(uint32(r.inst.Priority()))
	r.changes.Add(1)
	attrs := []any{"state", t.To, "from", t.From, "reason", t.Cause.String(), "priority", r.inst.Priority()}
	if t.Peer.IsValid() {
		attrs = append(attrs, "peer", t.Peer, "peer_priority", t.PeerPriority)
	}
	r.log.Info("vrrp: state change", attrs...)
	if t.To == StateMaster {
		if r.garp.Refresh > 0 {
			l.refresh.Reset(r.garp.Refresh)
			l.refreshC = l.refresh.C
		}
	} else {
		l.delay.Stop()
		l.delayC = nil
		l.refresh.Stop()
		l.refreshC = nil
	}
	if r.rc.Notifier != nil {
		r.rc.Notifier.Notify(Notification{Instance: r.cfg.Name, VRID: r.cfg.VRID, Transition: t, Priority: r.inst.Priority(), Time: now})
	}
}

// advert builds our advert with the given priority.
func (r *Runner) advert(prio uint8) Advert {
	return Advert{
		Version:  r.cfg.Version,
		VRID:     r.cfg.VRID,
		Priority: prio,
		Interval: r.cfg.AdvertInterval,
		AuthType: r.rc.AuthType,
		AuthData: r.rc.AuthData,
		Addrs:    r.cfg.VIPs,
	}
}

func (r *Runner) sendAdvert(prio uint8) {
	a := r.advert(prio)
	src := r.cfg.Primary.WithZone("")
	var buf []byte
	for _, dst := range r.dsts {
		msg, err := a.Append(buf[:0], src, dst)
		if err == nil {
			buf = msg
			err = r.rc.Conn.Send(msg, dst)
		}
		if err != nil {
			r.txErr.Add(1)
			if !r.failing {
				r.failing = true
				r.log.Warn("vrrp: sending advert failed", "state", r.inst.State(), "peer", dst, "priority", prio, "err", err)
			}
			continue
		}
		if r.failing {
			r.failing = false
			r.log.Info("vrrp: sending adverts again", "state", r.inst.State(), "peer", dst)
		}
		r.tx.Add(1)
	}
}

func (r *Runner) vip(a netip.Addr) VIP {
	for _, v := range r.vips {
		if v.Addr() == a.Unmap() {
			return v
		}
	}
	return VIP{Prefix: netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())}
}

func (r *Runner) addVIPs(addrs []netip.Addr) {
	if r.rc.VIPManager == nil {
		return
	}
	for _, a := range addrs {
		v := r.vip(a)
		if err := r.rc.VIPManager.AddVIP(v); err != nil {
			r.vipErr.Add(1)
			r.log.Error("vrrp: adding virtual address failed", "state", r.inst.State(), "vip", v, "err", err)
		}
	}
}

func (r *Runner) removeVIPs(addrs []netip.Addr) {
	if r.rc.VIPManager == nil {
		return
	}
	for _, a := range addrs {
		v := r.vip(a)
		removed, err := r.rc.VIPManager.RemoveVIP(v)
		switch {
		case err != nil:
			r.vipErr.Add(1)
			r.log.Error("vrrp: removing virtual address failed", "state", r.inst.State(), "vip", v, "err", err)
		case removed && r.inst.State() != StateMaster:
			r.log.Info("vrrp: removed virtual address", "state", r.inst.State(), "vip", v)
		}
	}
}

// burst announces every virtual address n times.
func (r *Runner) burst(n int) { r.burstAddrs(r.cfg.VIPs, n) }

func (r *Runner) burstAddrs(addrs []netip.Addr, n int) {
	if r.rc.Announcer == nil || len(addrs) == 0 {
		return
	}
	for range n {
		if err := r.rc.Announcer.Announce(addrs); err != nil {
			r.garpErr.Add(1)
			if r.garpErr.Load()%100 == 1 {
				r.log.Warn("vrrp: gratuitous ARP / NA failed", "state", r.inst.State(), "err", err)
			}
			return
		}
		r.garps.Add(1)
	}
}

// refresh is the periodic Master work: re-add addresses removed behind our
// back, then announce them.
func (r *Runner) refresh(l *loop) {
	l.refresh.Reset(r.garp.Refresh)
	if r.inst.State() != StateMaster {
		return
	}
	if m := r.rc.VIPManager; m != nil {
		for _, v := range r.vips {
			ok, err := m.HasVIP(v)
			if err == nil && !ok {
				r.log.Warn("vrrp: virtual address was removed behind our back; adding it again", "state", StateMaster, "vip", v)
				if err = m.AddVIP(v); err == nil {
					continue
				}
			}
			if err != nil {
				r.vipErr.Add(1)
				r.log.Error("vrrp: checking virtual address failed", "state", StateMaster, "vip", v, "err", err)
			}
		}
	}
	r.burst(r.garp.RefreshRepeat)
}
