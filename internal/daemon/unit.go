package daemon

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

	"github.com/lbd-project/lbd/vrrp"
)

// HandoverLinger is how long a stopping Master keeps its addresses after it
// heard the new Master's first advert: the new Master sends its gratuitous
// ARP / NA right after that advert, and the linger lets it reach the LAN
// (and packets already on their way to us be answered) before we let go.
const HandoverLinger = 50 * time.Millisecond

// retryOpen is how often a unit that could not open its sockets (missing
// interface or address) tries again.
const retryOpen = 2 * time.Second

// host opens what a member needs on the host. The Linux implementation is
// in host.go; it is a seam so that the unit logic does not depend on it.
type host interface {
	// open resolves the member's primary address when it is not set and
	// opens its conn, address manager and announcers.
	open(m *memberSpec) (memberIO, error)
	// linkUp reports whether an interface is up.
	linkUp(ifname string) (bool, error)
	// watchLink calls fn on every change of an interface's state (and
	// once at once) until ctx ends.
	watchLink(ctx context.Context, ifname string, fn func(up bool)) error
}

// memberIO is a member's I/O on the host.
type memberIO struct {
	primary    netip.Addr
	conn       vrrp.Conn
	vips       vrrp.VIPManager
	announcers map[string]vrrp.Announcer // by interface
	close      func()                    // releases vips and announcers (not conn)
}

// unitEnv is what units share with the daemon.
type unitEnv struct {
	log           *slog.Logger
	host          host
	notifyTimeout *atomic.Int64 // nanoseconds; changed live by reloads
	changed       chan<- struct{}
	// role, if set, is told every change of an instance between MASTER
	// and not MASTER (for the lb engine); it must not block.
	role func(instance string, master bool)
}

// unit runs the instances of one unitSpec; see the package documentation.
type unit struct {
	spec    unitSpec
	env     unitEnv
	log     *slog.Logger
	members []*member
	byName  map[string]*member
	group   *vrrp.SyncGroup
	gstate  vrrp.State

	events chan memberEvent
	pkts   chan memberPacket
	fires  chan fire
	quit   chan struct{} // closed when the loop has ended
	done   chan struct{} // closed when run has returned
	abort  chan struct{} // closed: skip the handover wait
	once   sync.Once
	notify *notifyQueue

	handovers chan handoverReq
	demoted   bool // handed over: priority lowered until restore
}

// member is one running instance of a unit.
type member struct {
	idx   int
	spec  memberSpec
	io    memberIO
	inst  *vrrp.Instance
	check vrrp.CheckConfig
	dsts  []netip.Addr
	all   []vrrp.VIP // advertised and excluded addresses
	log   *slog.Logger

	timer, delay, refresh       *time.Timer
	timerGen, delayGen, refGen  uint64
	holding                     bool // stopping Master keeping its addresses
	pending                     []vrrp.Transition
	failing                     bool
	state                       atomic.Uint32
	prio                        atomic.Uint32
	garps, transitions, adverts atomic.Uint64
	received                    atomic.Uint64
	drops                       [32]atomic.Uint64 // by vrrp.DropReason
	last                        atomic.Pointer[lastTransition]

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

// lastTransition is when and why a member last changed state.
type lastTransition struct {
	at     time.Time
	reason string
}

type memberEvent struct {
	m  int
	ev vrrp.Event
}

type memberPacket struct {
	m int
	p vrrp.Packet
}

type fireKind uint8

const (
	fireState fireKind = iota
	fireDelay
	fireRefresh
)

type fire struct {
	m    int
	kind fireKind
	gen  uint64
}

func newUnit(spec unitSpec, env unitEnv) *unit {
	u := &unit{
		spec:   spec,
		env:    env,
		log:    env.log,
		byName: map[string]*member{},
		events: make(chan memberEvent),
		pkts:   make(chan memberPacket, 64*len(spec.Members)),
		fires:  make(chan fire, 4*len(spec.Members)),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
		abort:  make(chan struct{}),

		handovers: make(chan handoverReq),
	}
	if spec.Group != "" {
		u.log = u.log.With("sync_group", spec.Group)
	}
	for i, ms := range spec.Members {
		m := &member{idx: i, spec: ms, log: u.log.With("instance", ms.Name, "vrid", ms.VRRP.VRID)}
		u.members = append(u.members, m)
		u.byName[ms.Name] = m
	}
	return u
}

// Abort makes a stopping unit skip the rest of its handover wait.
func (u *unit) Abort() { u.once.Do(func() { close(u.abort) }) }

// Done is closed when the unit has stopped and released everything.
func (u *unit) Done() <-chan struct{} { return u.done }

// counts returns how many members run and how many are Master.
func (u *unit) counts() (n, master int) {
	for _, m := range u.members {
		n++
		if vrrp.State(m.state.Load()) == vrrp.StateMaster {
			master++
		}
	}
	return n, master
}

// run runs the unit until ctx ends, after waiting for after to close (the
// units a reload stops). It hands over and releases everything before it
// returns.
func (u *unit) run(ctx context.Context, after <-chan struct{}) {
	defer close(u.done)
	select {
	case <-after:
	case <-ctx.Done():
		return
	}
	u.notify = newNotifyQueue(u.log, u.env.notifyTimeout)
	defer u.notify.close()
	for !u.open(ctx) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(retryOpen):
		}
	}
	defer u.closeIO()

	trackCtx, stopTrackers := context.WithCancel(context.Background())
	defer stopTrackers()
	var readers sync.WaitGroup
	defer readers.Wait()
	for _, m := range u.members {
		readers.Add(1)
		go u.read(m, &readers)
	}
	u.startTrackers(trackCtx)
	stopProbers := u.startProbers(trackCtx)
	for _, m := range u.members {
		u.handle(m, vrrp.Startup{})
	}
	u.loop(ctx)
	stopTrackers()
	stopProbers()
	u.shutdown()
	close(u.quit)
	for _, m := range u.members {
		m.timer.Stop()
		m.delay.Stop()
		m.refresh.Stop()
		m.io.conn.Close() // unblocks the reader
	}
}

// open builds the members' state machines and opens their I/O. On failure
// it logs why, releases what it opened and returns false.
func (u *unit) open(ctx context.Context) bool {
	var opened []*member
	fail := func(err error) bool {
		u.log.Error("vrrp: cannot start; retrying", "unit", u.spec.Key, "retry", retryOpen, "err", err)
		for _, m := range opened {
			m.io.conn.Close()
			m.io.close()
		}
		for _, m := range u.members {
			m.inst = nil
		}
		u.group = nil
		return false
	}
	insts := make([]*vrrp.Instance, 0, len(u.members))
	for _, m := range u.members {
		io, err := u.env.host.open(&m.spec)
		if err != nil {
			return fail(err)
		}
		m.io = io
		opened = append(opened, m)
		cfg := m.spec.VRRP
		cfg.Primary = io.primary
		// The handover track lowers the priority of a handed-over
		// instance (see handover.go); up, it adds nothing.
		cfg.Tracks = append(slices.Clone(cfg.Tracks), vrrp.Track{Name: handoverTrack, Kind: vrrp.TrackScript, Weight: -vrrp.MaxTrackWeight})
		m.inst, err = vrrp.NewInstance(cfg)
		if err != nil {
			return fail(err)
		}
		insts = append(insts, m.inst)
		m.check = vrrp.CheckConfig{
			Version: cfg.Version, VRID: cfg.VRID, Interval: cfg.AdvertInterval,
			AuthType: m.spec.Auth, AuthData: m.spec.Pass, Addrs: cfg.VIPs,
			Unicast: len(m.spec.Peers) > 0, Peers: slices.Clone(m.spec.Peers), Self: io.primary,
		}
		m.dsts = slices.Clone(m.spec.Peers)
		if len(m.dsts) == 0 {
			m.dsts = []netip.Addr{vrrp.MulticastIPv4}
			if io.primary.Is6() {
				m.dsts = []netip.Addr{vrrp.MulticastIPv6}
			}
		}
		m.all = append(slices.Clone(m.spec.VIPs), m.spec.Excluded...)
		m.timer, m.delay, m.refresh = stoppedTimer(), stoppedTimer(), stoppedTimer()
		m.prio.Store(uint32(m.inst.Priority()))
	}
	if u.spec.Group != "" {
		g, err := vrrp.NewSyncGroup(u.spec.Group, u.spec.TrackingWeight, insts...)
		if err != nil {
			return fail(err)
		}
		u.group = g
	}
	// Initial link and file states, so that an instance whose link is
	// down starts in Fault rather than passing through Backup.
	for _, m := range u.members {
		if up, err := u.env.host.linkUp(m.spec.Interface); err == nil && !up {
			u.handle(m, vrrp.Fault{Source: faultLinkDown})
		}
		for _, t := range m.spec.TrackInterfaces {
			up, err := u.env.host.linkUp(t.Interface)
			u.handle(m, vrrp.TrackChanged{Name: t.Track, Status: vrrp.TrackStatus{Up: up && err == nil}})
		}
		for _, f := range m.spec.Files {
			v, _ := readTrackFile(f.Path)
			u.handle(m, vrrp.TrackChanged{Name: f.Track, Status: vrrp.TrackStatus{Value: v}})
		}
		m.log.Info("vrrp: instance starting", "iface", m.spec.Interface, "primary", m.io.primary,
			"priority", m.inst.Priority(), "version", int(m.spec.VRRP.Version), "interval", m.spec.VRRP.AdvertInterval,
			"vips", m.spec.VRRP.VIPs, "unicast_peers", m.spec.Peers)
	}
	return true
}

func (u *unit) closeIO() {
	for _, m := range u.members {
		if m.io.close != nil {
			m.io.close()
		}
	}
}

func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

// read moves packets from a member's conn to the loop until the conn is
// closed.
func (u *unit) read(m *member, wg *sync.WaitGroup) {
	defer wg.Done()
	errs := 0
	for {
		p, err := m.io.conn.Receive()
		if err != nil {
			select {
			case <-u.quit:
				return
			default:
			}
			if errs++; errs%1000 == 1 {
				m.log.Warn("vrrp: receive failed", "err", err)
			}
			select {
			case <-u.quit:
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		select {
		case u.pkts <- memberPacket{m: m.idx, p: p}:
		case <-u.quit:
			return
		}
	}
}

// deliver hands an event from a tracker to the loop.
func (u *unit) deliver(ctx context.Context, m int, ev vrrp.Event) {
	select {
	case u.events <- memberEvent{m: m, ev: ev}:
	case <-ctx.Done():
	}
}

func (u *unit) loop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-u.pkts:
			u.receive(u.members[p.m], p.p)
		case e := <-u.events:
			u.handle(u.members[e.m], e.ev)
		case f := <-u.fires:
			u.fired(f)
		case r := <-u.handovers:
			names, err := u.handover(ctx, r.restore)
			r.reply <- handoverReply{instances: names, err: err}
		}
	}
}

func (u *unit) fired(f fire) {
	m := u.members[f.m]
	switch f.kind {
	case fireState:
		if f.gen == m.timerGen {
			u.handle(m, vrrp.TimerFired{})
		}
	case fireDelay:
		if f.gen == m.delayGen && m.inst.State() == vrrp.StateMaster {
			u.announce(m, m.spec.GARP.repeat(), "garp_master_delay")
		}
	case fireRefresh:
		if f.gen == m.refGen && m.inst.State() == vrrp.StateMaster {
			u.refresh(m)
		}
	}
}

// arm (re)starts one of a member's timers; a stale fire is recognised by
// its generation.
func (u *unit) arm(m *member, kind fireKind, d time.Duration) {
	var t **time.Timer
	var gen *uint64
	switch kind {
	case fireState:
		t, gen = &m.timer, &m.timerGen
	case fireDelay:
		t, gen = &m.delay, &m.delayGen
	default:
		t, gen = &m.refresh, &m.refGen
	}
	(*t).Stop()
	*gen++
	f := fire{m: m.idx, kind: kind, gen: *gen}
	*t = time.AfterFunc(max(d, 0), func() {
		select {
		case u.fires <- f:
		case <-u.quit:
		}
	})
}

func (u *unit) disarm(m *member, kind fireKind) {
	switch kind {
	case fireState:
		m.timer.Stop()
		m.timerGen++
	case fireDelay:
		m.delay.Stop()
		m.delayGen++
	default:
		m.refresh.Stop()
		m.refGen++
	}
}

// receive checks one packet and feeds an accepted advert to the instance.
func (u *unit) receive(m *member, p vrrp.Packet) {
	a, v := m.check.Receive(p.Payload, p.Src.WithZone(""), p.Dst.WithZone(""), p.TTL)
	if !v.OK() {
		if int(v.Drop) < len(m.drops) {
			m.drops[v.Drop].Add(1)
		}
		if v.Drop != vrrp.ReasonVRID { // other VRIDs on the link are normal
			m.log.Debug("vrrp: packet dropped", "reason", v.Drop, "peer", p.Src, "ttl", p.TTL)
		}
		return
	}
	m.received.Add(1)
	m.lastAdvert = advertSeen{from: p.Src.WithZone(""), at: time.Now()}
	u.handle(m, vrrp.AdvertReceived{From: p.Src.WithZone(""), Priority: a.Priority, Interval: a.Interval})
}

// handle applies one event to a member (through the sync group, so the
// others follow) and carries out the actions.
func (u *unit) handle(m *member, ev vrrp.Event) {
	if mu, ok := ev.(vrrp.MasterUnreachable); ok && !u.masterUnreachable(m, mu) {
		return
	}
	now := time.Now()
	var acts []vrrp.MemberAction
	if u.group != nil {
		acts = u.group.Handle(now, m.spec.Name, ev)
	} else {
		for _, a := range m.inst.Handle(now, ev) {
			acts = append(acts, vrrp.MemberAction{Instance: m.spec.Name, Action: a})
		}
	}
	u.exec(now, acts)
	for _, o := range u.members {
		o.updateWatched()
	}
}

func (u *unit) exec(now time.Time, acts []vrrp.MemberAction) {
	becoming := map[*member]bool{}
	for _, a := range acts {
		if t, ok := a.Action.(vrrp.Transition); ok && t.To == vrrp.StateMaster {
			becoming[u.byName[a.Instance]] = true
		}
	}
	for _, ma := range acts {
		m := u.byName[ma.Instance]
		if m == nil {
			continue
		}
		switch a := ma.Action.(type) {
		case vrrp.SendAdvert:
			if m.holding && u.demoted && a.Priority != vrrp.PriorityStop {
				continue // handing over: only priority 0 goes out
			}
			u.sendAdvert(m, a.Priority)
		case vrrp.AddVIPs:
			u.addVIPs(m)
		case vrrp.RemoveVIPs:
			if !m.holding {
				u.removeVIPs(m)
			}
		case vrrp.SendGARP:
			reason := "lower priority master"
			if becoming[m] {
				reason = "became master"
			}
			u.announce(m, m.spec.GARP.repeat(), reason)
			if becoming[m] && m.spec.GARP.delay() > 0 {
				u.arm(m, fireDelay, m.spec.GARP.delay())
			}
		case vrrp.SetTimer:
			u.arm(m, fireState, time.Until(a.At))
		case vrrp.StopTimer:
			u.disarm(m, fireState)
		case vrrp.Transition:
			u.transition(m, now, a)
		case vrrp.PriorityChanged:
			m.prio.Store(uint32(a.To))
			m.log.Info("vrrp: priority changed", "state", m.inst.State(), "priority", a.To, "from", a.From)
		case vrrp.LowerPriorityMaster:
			m.log.Warn("vrrp: lower priority router advertises as master; asserting ourselves",
				"state", m.inst.State(), "peer", a.Peer, "priority", a.Priority, "ours", m.inst.Priority())
		}
	}
	u.groupState()
}

func (u *unit) transition(m *member, now time.Time, t vrrp.Transition) {
	m.state.Store(uint32(t.To))
	m.prio.Store(uint32(m.inst.Priority()))
	m.transitions.Add(1)
	reason := t.Cause.String()
	if u.demoted && m.holding {
		reason = "handover requested"
	}
	m.last.Store(&lastTransition{at: now, reason: reason})
	if u.env.role != nil && (t.To == vrrp.StateMaster || t.From == vrrp.StateMaster) {
		u.env.role(m.spec.Name, t.To == vrrp.StateMaster)
	}
	attrs := []any{"state", t.To, "from", t.From, "reason", t.Cause.String(), "priority", m.inst.Priority()}
	if t.Peer.IsValid() {
		attrs = append(attrs, "peer", t.Peer, "peer_priority", t.PeerPriority)
	}
	m.log.Info("vrrp: state change", attrs...)
	if t.To == vrrp.StateMaster {
		if r := m.spec.GARP.refresh(); r > 0 {
			u.arm(m, fireRefresh, r)
		}
	} else {
		u.disarm(m, fireDelay)
		u.disarm(m, fireRefresh)
	}
	select {
	case u.env.changed <- struct{}{}:
	default:
	}
	if m.holding {
		m.pending = append(m.pending, t)
		return
	}
	u.notifyInstance(m, t.To)
}

// notifyInstance queues the notify scripts of one instance state.
func (u *unit) notifyInstance(m *member, s vrrp.State) {
	n := m.spec.Notify
	var script []string
	switch s {
	case vrrp.StateMaster:
		script = n.Master
	case vrrp.StateBackup:
		script = n.Backup
	case vrrp.StateFault:
		script = n.Fault
	case vrrp.StateInit:
		script = n.Stop
	}
	name := stateName(s)
	if len(script) > 0 {
		u.notify.push(notifyJob{argv: script, what: "instance " + m.spec.Name + " " + name})
	}
	if len(n.Generic) > 0 {
		argv := append(slices.Clone(n.Generic), "INSTANCE", m.spec.Name, name, fmt.Sprint(m.inst.Priority()))
		u.notify.push(notifyJob{argv: argv, what: "instance " + m.spec.Name + " " + name})
	}
}

// groupState runs the sync group's notify when the group's state moved.
func (u *unit) groupState() {
	if u.group == nil || u.notify == nil {
		return
	}
	s := u.group.State()
	if slices.ContainsFunc(u.members, func(m *member) bool { return m.holding }) {
		return // reported once the handover is over
	}
	if s == u.gstate {
		return
	}
	u.gstate = s
	u.log.Info("vrrp: sync group state change", "state", s)
	if len(u.spec.GroupNotify) > 0 {
		argv := append(slices.Clone(u.spec.GroupNotify), "GROUP", u.spec.Group, stateName(s))
		u.notify.push(notifyJob{argv: argv, what: "group " + u.spec.Group + " " + stateName(s)})
	}
}

// stateName is keepalived's name of a state in notify arguments.
func stateName(s vrrp.State) string {
	if s == vrrp.StateInit {
		return "STOP"
	}
	return s.String()
}

func (u *unit) sendAdvert(m *member, prio uint8) {
	a := vrrp.Advert{
		Version: m.spec.VRRP.Version, VRID: m.spec.VRRP.VRID, Priority: prio,
		Interval: m.spec.VRRP.AdvertInterval, AuthType: m.spec.Auth, AuthData: m.spec.Pass,
		Addrs: m.spec.VRRP.VIPs,
	}
	src := m.io.primary.WithZone("")
	for _, dst := range m.dsts {
		msg, err := a.Marshal(src, dst)
		if err == nil {
			err = m.io.conn.Send(msg, dst)
		}
		if err != nil {
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
		m.adverts.Add(1)
	}
	// A Master (or one handing over) renews the lease of its addresses
	// with its adverts; a quarter of the lease apart is plenty, since the
	// kernel counts lifetimes in seconds.
	if (m.inst.State() == vrrp.StateMaster || m.holding) && time.Since(m.renewed) >= vipLease(m.spec.VRRP.AdvertInterval)/4 {
		u.addVIPs(m)
	}
}

// vipLease is the lifetime of a Master's addresses (vrrpnet.VIPs.Lease):
// four advert intervals, the longest Master_Down_Interval of any Backup
// (three intervals and a skew below one), so that the addresses of a
// Master killed outright go about when a Backup has taken over them, and
// at least 2 s, since the kernel counts lifetimes in whole seconds and
// expires them about once a second.
func vipLease(advertInterval time.Duration) time.Duration {
	return max(4*advertInterval, 2*time.Second)
}

func (u *unit) addVIPs(m *member) {
	m.renewed = time.Now()
	for _, v := range m.all {
		if err := m.io.vips.AddVIP(v); err != nil {
			m.log.Error("vrrp: adding virtual address failed", "state", m.inst.State(), "vip", v, "err", err)
		}
	}
}

func (u *unit) removeVIPs(m *member) {
	for _, v := range m.all {
		removed, err := m.io.vips.RemoveVIP(v)
		switch {
		case err != nil:
			m.log.Error("vrrp: removing virtual address failed", "state", m.inst.State(), "vip", v, "err", err)
		case removed:
			m.log.Info("vrrp: removed virtual address", "state", m.inst.State(), "vip", v)
		}
	}
}

// announce sends n rounds of gratuitous ARP / NA for every address of m,
// each on the interface the address is on.
func (u *unit) announce(m *member, n int, reason string) {
	byDev := map[string][]netip.Addr{}
	for _, v := range m.all {
		byDev[v.Dev] = append(byDev[v.Dev], v.Addr())
	}
	var errs []error
	for dev, addrs := range byDev {
		ann := m.io.announcers[dev]
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
	m.garps.Add(1)
	if err := errors.Join(errs...); err != nil {
		m.log.Warn("vrrp: gratuitous ARP / NA failed", "state", m.inst.State(), "err", err)
		return
	}
	lvl := slog.LevelInfo
	if reason == "garp_master_refresh" {
		lvl = slog.LevelDebug
	}
	m.log.Log(context.Background(), lvl, "vrrp: gratuitous ARP / NA sent", "reason", reason, "repeat", n, "vips", len(m.all))
}

// refresh is the periodic Master work: re-add addresses removed behind our
// back, then announce them.
func (u *unit) refresh(m *member) {
	u.arm(m, fireRefresh, m.spec.GARP.refresh())
	for _, v := range m.all {
		ok, err := m.io.vips.HasVIP(v)
		if err == nil && !ok {
			m.log.Warn("vrrp: virtual address was removed behind our back; adding it again", "state", vrrp.StateMaster, "vip", v)
			err = m.io.vips.AddVIP(v)
		}
		if err != nil {
			m.log.Error("vrrp: checking virtual address failed", "state", vrrp.StateMaster, "vip", v, "err", err)
		}
	}
	u.announce(m, m.spec.GARP.refreshRepeat(), "garp_master_refresh")
}

// shutdown stops every member; Masters hand over (see the package
// documentation) before they release their addresses.
func (u *unit) shutdown() {
	now := time.Now()
	var held []*member
	for _, m := range u.members {
		if m.inst.State() == vrrp.StateMaster {
			m.holding = true
			held = append(held, m)
		}
	}
	for _, m := range u.members {
		u.handle(m, vrrp.Shutdown{})
	}
	if len(held) == 0 {
		return
	}
	for _, m := range held {
		m.log.Info("vrrp: handing over: priority 0 sent, keeping the addresses until a new master is heard")
	}
	w := newTakeoverWait(held, now)
	deadline := time.NewTimer(w.timeout())
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	release := func(m *member, why string, attrs ...any) {
		m.holding = false
		m.log.Info("vrrp: handover: "+why+"; releasing the addresses", attrs...)
		u.removeVIPs(m)
		for _, t := range m.pending {
			u.notifyInstance(m, t.To)
		}
		m.pending = nil
		w.drop(m)
	}
	for len(w.held) > 0 {
		select {
		case p := <-u.pkts:
			w.heard(u.members[p.m], p.p)
		case now := <-tick.C:
			w.tick(u, now, func(m *member) { release(m, "new master took over") })
		case <-deadline.C:
			for _, m := range slices.Clone(w.held) {
				release(m, "no new master heard", "waited", w.timeout())
			}
		case <-u.abort:
			for _, m := range slices.Clone(w.held) {
				release(m, "aborted by a second signal")
			}
		}
	}
	u.groupState()
}

// takeoverWait tracks Masters that hand over: each advertises priority 0
// every advert interval while it keeps its addresses, until another
// router's advert is heard; it is released HandoverLinger after that, so
// the new master's gratuitous ARPs land before the addresses go.
type takeoverWait struct {
	held       []*member
	nextAdvert map[*member]time.Time
	releaseAt  map[*member]time.Time // zero until a new master is heard
	longest    time.Duration         // the longest advert interval held
}

// newTakeoverWait starts waiting for held, whose first priority-0 adverts
// have just been sent.
func newTakeoverWait(held []*member, now time.Time) *takeoverWait {
	w := &takeoverWait{held: held, nextAdvert: map[*member]time.Time{}, releaseAt: map[*member]time.Time{}}
	for _, m := range held {
		w.longest = max(w.longest, m.spec.VRRP.AdvertInterval)
		w.nextAdvert[m] = now.Add(m.spec.VRRP.AdvertInterval)
	}
	return w
}

// timeout is how long to wait for a new master at most.
func (w *takeoverWait) timeout() time.Duration { return handoverTimeout(w.longest) }

// heard looks at a packet for m: a valid advert of another router (not
// priority 0) starts m's linger.
func (w *takeoverWait) heard(m *member, p vrrp.Packet) {
	if !m.holding || !w.releaseAt[m].IsZero() {
		return
	}
	a, v := m.check.Receive(p.Payload, p.Src.WithZone(""), p.Dst.WithZone(""), p.TTL)
	if v.OK() && a.Priority != vrrp.PriorityStop {
		m.log.Info("vrrp: handover: new master heard", "peer", p.Src, "peer_priority", a.Priority)
		w.releaseAt[m] = time.Now().Add(HandoverLinger)
	}
}

// tick releases the members whose linger is over and repeats the
// priority-0 advert of the others when it is due.
func (w *takeoverWait) tick(u *unit, now time.Time, release func(*member)) {
	for _, m := range slices.Clone(w.held) {
		if at := w.releaseAt[m]; !at.IsZero() && !now.Before(at) {
			release(m)
			continue
		}
		if w.releaseAt[m].IsZero() && !now.Before(w.nextAdvert[m]) {
			u.sendAdvert(m, vrrp.PriorityStop)
			w.nextAdvert[m] = now.Add(m.spec.VRRP.AdvertInterval)
		}
	}
}

// drop stops waiting for m.
func (w *takeoverWait) drop(m *member) {
	w.held = slices.DeleteFunc(w.held, func(x *member) bool { return x == m })
	delete(w.releaseAt, m)
}

// handoverTimeout bounds the handover wait: the longest time a Backup of
// any priority needs to take over (Master_Down_Interval: 3 intervals plus
// a skew of at most one interval), with a margin.
func handoverTimeout(interval time.Duration) time.Duration {
	return 4*interval + 100*time.Millisecond
}
