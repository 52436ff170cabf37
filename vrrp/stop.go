package vrrp

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"time"
)

// This file holds make-before-break: a Master that stops (its runner's
// context ends) or hands over on request keeps its addresses until the
// new Master is heard.
//
//  1. It sends an advert with priority 0 (RFC 5798 section 6.4.3), so a
//     Backup takes over after its Skew_Time rather than
//     Master_Down_Interval;
//  2. it KEEPS the virtual addresses, so the host goes on answering ARP
//     and traffic for them, and repeats the priority-0 advert every advert
//     interval (in case one is lost);
//  3. once an advert with a non-zero priority arrives from another router
//     (the new Master, which adds the addresses and then sends gratuitous
//     ARP / NA), it watches its interfaces for that announcement and
//     [HandoverLinger] after seeing it (or [HandoverAnnounceWait] after the
//     advert if it never shows) removes the addresses and runs its notify
//     scripts: neighbours keep sending to us until the announcement
//     reaches them, however long the new Master takes to add addresses;
//  4. if no new Master is heard within 3 x advert interval + one interval
//     (the longest Master_Down_Interval of any Backup) + 100 ms, it
//     removes the addresses anyway when stopping (there is no Backup to
//     hand over to), or stays Master when handing over on request.
//
// For a few milliseconds both routers hold the addresses; on a LAN that is
// harmless, since the new Master's gratuitous ARP moves every neighbour to
// it, and packets that still reach the old Master are answered.

// handoverTrack is a tracked object every instance gets: while it is
// down (after a handover) it takes 253 off the priority, so the instance
// stays Backup (priority 1 at most 254-253) behind any other router. A
// restart or [Runner.Handover] with restore brings it up again. In a sync
// group without tracking_weight tracked weights are forced to 0, so there
// the members wait in Fault instead.
const handoverTrack = "lbd:handover"

// handoverTick is how often the handover wait looks at its deadlines.
const handoverTick = 5 * time.Millisecond

// ErrNoTakeover is the answer of [Runner.Handover] when no other router
// took over in time.
var ErrNoTakeover = errors.New("no backup took over; the instance stays master")

type handoverReq struct {
	restore bool
	reply   chan handoverReply
}

type handoverReply struct {
	instances []string
	err       error
}

// Handover asks the runner to hand over every Master instance without
// stopping (or, with restore, to end an earlier handover: priorities
// back) and waits for the answer: the instances concerned. The
// instances stay Backup (priority 1 at most, still ready to take over
// should the other router fail) until Handover with restore or a restart.
// If no router takes over in time the priority comes back and the
// instance stays Master ([ErrNoTakeover]).
func (r *Runner) Handover(ctx context.Context, restore bool) ([]string, error) {
	q := handoverReq{restore: restore, reply: make(chan handoverReply, 1)}
	select {
	case r.handovers <- q:
	case <-r.done:
		return nil, ErrStopped
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case a := <-q.reply:
		return a.instances, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// setHandoverTrack raises or lowers the priority of every member.
func (r *Runner) setHandoverTrack(up bool) {
	for _, m := range r.members {
		r.handle(m, TrackChanged{Name: handoverTrack, Status: TrackStatus{Up: up}})
	}
}

// handover runs on the loop; see [Runner.Handover]. Other members'
// packets, events and timers are served meanwhile.
func (r *Runner) handover(ctx context.Context, restore bool) ([]string, error) {
	var names []string
	if restore {
		if r.demoted {
			r.demoted = false
			r.setHandoverTrack(true)
			for _, m := range r.members {
				names = append(names, m.cfg.Name())
			}
			r.log.Info("vrrp: handover ended; priorities restored")
		}
		return names, nil
	}
	held := r.holdMasters()
	for _, m := range held {
		names = append(names, m.cfg.Name())
	}
	r.demoted = true
	r.setHandoverTrack(false)
	if len(held) == 0 {
		return nil, nil
	}
	for _, m := range held {
		r.sendAdvert(m, PriorityStop)
		m.log.Info("vrrp: handing over on request: priority 0 sent, keeping the addresses until a new master is heard")
	}
	w := r.newTakeoverWait(held)
	defer w.stop()
	failed := false // a member heard no new master: the answer is ErrNoTakeover
	release := func(m *member, why string) {
		if m.inst.State() != StateMaster {
			m.log.Info("vrrp: handover: " + why + "; releasing the addresses")
			r.release(m, w)
			return
		}
		r.unhold(m, w)
	}
	for len(w.held) > 0 {
		select {
		case <-ctx.Done():
			for _, m := range slices.Clone(w.held) {
				release(m, "stopping")
			}
			r.groupState()
			return names, ctx.Err()
		case p := <-r.pkts:
			m := r.members[p.m]
			w.heard(m, p.p)
			r.receive(m, p.p)
		case e := <-r.events:
			r.handle(r.members[e.m], e.ev)
		case f := <-r.fires:
			r.fired(f)
		case m := <-w.announced:
			w.announce(m)
		case now := <-w.tick.C:
			w.due(now, release)
		case <-w.deadline:
			// Those that heard a new master wait on for its announcement.
			for _, m := range w.pastDeadline() {
				m.log.Warn("vrrp: handover: no new master heard; staying master", "waited", w.timeout())
				release(m, "no new master heard")
				failed = true
			}
		}
	}
	if failed {
		r.demoted = false
		r.setHandoverTrack(true)
		r.groupState()
		return nil, ErrNoTakeover
	}
	r.groupState()
	return names, nil
}

// shutdown stops every member; Masters hand over before they release
// their addresses. A call of [Runner.Abort] skips the wait.
func (r *Runner) shutdown() {
	held := r.holdMasters()
	for _, m := range r.members {
		r.handle(m, Shutdown{})
	}
	if len(held) == 0 {
		return
	}
	for _, m := range held {
		m.log.Info("vrrp: handing over: priority 0 sent, keeping the addresses until a new master is heard")
	}
	w := r.newTakeoverWait(held)
	defer w.stop()
	release := func(m *member, why string, attrs ...any) {
		m.log.Info("vrrp: handover: "+why+"; releasing the addresses", attrs...)
		r.release(m, w)
	}
	for len(w.held) > 0 {
		select {
		case p := <-r.pkts:
			w.heard(r.members[p.m], p.p)
		case m := <-w.announced:
			w.announce(m)
		case now := <-w.tick.C:
			w.due(now, func(m *member, why string) { release(m, why) })
		case <-w.deadline:
			for _, m := range w.pastDeadline() {
				release(m, "no new master heard", "waited", w.timeout())
			}
		case <-r.abort:
			for _, m := range slices.Clone(w.held) {
				release(m, "aborted by a second signal")
			}
		}
	}
	r.groupState()
}

// holdMasters marks the Master members as holding their addresses.
func (r *Runner) holdMasters() []*member {
	var held []*member
	for _, m := range r.members {
		if m.inst.State() == StateMaster {
			m.holding = true
			held = append(held, m)
		}
	}
	return held
}

// release ends m's hold: its addresses go, then the notify scripts of
// the transitions made while it held them run.
func (r *Runner) release(m *member, w *takeoverWait) {
	m.holding = false // so that the addresses go
	r.removeRoutes(m)
	r.removeVIPs(m)
	r.unhold(m, w)
}

// unhold ends m's hold without touching its addresses.
func (r *Runner) unhold(m *member, w *takeoverWait) {
	m.holding = false
	for _, t := range m.pending {
		r.notifyInstance(m, t.To)
	}
	m.pending = nil
	w.drop(m)
}

// takeoverWait tracks Masters that hand over: each advertises priority 0
// every advert interval while it keeps its addresses, until another
// router's advert is heard; it is released HandoverLinger after the new
// Master's gratuitous ARP / NA is seen on one of its interfaces (or
// HandoverAnnounceWait after the advert when none is), so that the
// neighbours have moved before the addresses go.
type takeoverWait struct {
	r        *Runner
	held     []*member
	each     map[*member]*handing
	longest  time.Duration // the longest advert interval held
	tick     *ticker
	deadline chan struct{}
	cancel   func() bool
	// announced receives a held member, once, when another host
	// announces one of its addresses.
	announced chan *member
}

// handing is the handover of one member.
type handing struct {
	nextAdvert time.Time
	heard      time.Time // the new master's first advert; zero until then
	seen       time.Time // its announcement; zero until then
	// blind is set when the announcements could not be watched: the
	// addresses go HandoverLinger after the advert, as if one was seen.
	blind   bool
	unwatch []func()
}

// releaseAt is when the addresses may go, zero while no new master has
// been heard.
func (h *handing) releaseAt() (time.Time, string) {
	switch {
	case h.heard.IsZero():
		return time.Time{}, ""
	case !h.seen.IsZero():
		return maxTime(h.heard, h.seen).Add(HandoverLinger), "new master took over"
	case h.blind:
		return h.heard.Add(HandoverLinger), "new master took over"
	}
	return h.heard.Add(HandoverAnnounceWait), "new master heard, its gratuitous ARP / NA not seen"
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// newTakeoverWait starts waiting for held, whose first priority-0 adverts
// have just been sent, and watches their interfaces for announcements of
// their addresses by another host.
func (r *Runner) newTakeoverWait(held []*member) *takeoverWait {
	now := r.clock.Now()
	w := &takeoverWait{r: r, held: held, each: map[*member]*handing{}, deadline: make(chan struct{}),
		announced: make(chan *member, len(held))}
	for _, m := range held {
		w.longest = max(w.longest, m.cfg.Config.AdvertInterval)
		w.each[m] = &handing{nextAdvert: now.Add(m.cfg.Config.AdvertInterval)}
		w.watch(m)
	}
	w.tick = newTicker(r.clock, handoverTick)
	w.cancel = r.clock.AfterFunc(w.timeout(), func() { close(w.deadline) })
	return w
}

// watch starts watching for announcements of m's addresses on each of
// their interfaces.
func (w *takeoverWait) watch(m *member) {
	h := w.each[m]
	// Only the first announcement counts, so each member sends once and
	// the channel, with room for every member, never blocks a watch.
	var once atomic.Bool
	heard := func() {
		if once.CompareAndSwap(false, true) {
			w.announced <- m
		}
	}
	for dev, addrs := range m.addrsByDev() {
		ann := m.io.Announcers[dev]
		if ann == nil {
			continue
		}
		stop, err := ann.Watch(addrs, heard)
		if err != nil {
			m.log.Warn("vrrp: handover: cannot watch for the new master's gratuitous ARP / NA; releasing the addresses shortly after its advert",
				"dev", dev, "err", err)
			h.blind = true
			continue
		}
		h.unwatch = append(h.unwatch, stop)
	}
}

func (w *takeoverWait) stop() {
	w.tick.stop()
	w.cancel()
	for _, m := range slices.Clone(w.held) {
		w.drop(m)
	}
}

// timeout is how long to wait for a new master at most: the longest time
// a Backup of any priority needs to take over (Master_Down_Interval: 3
// intervals plus a skew of at most one interval), with a margin.
func (w *takeoverWait) timeout() time.Duration { return 4*w.longest + 100*time.Millisecond }

// heard looks at a packet for m: a valid advert of another router (not
// priority 0) starts the wait for its announcement.
func (w *takeoverWait) heard(m *member, p Packet) {
	h := w.each[m]
	if !m.holding || h == nil || !h.heard.IsZero() {
		return
	}
	a, v := m.check.Receive(p.Payload, p.Src.WithZone(""), p.Dst.WithZone(""), p.TTL)
	if v.OK() && a.Priority != PriorityStop {
		m.log.Info("vrrp: handover: new master heard", "peer", p.Src, "peer_priority", a.Priority)
		h.heard = w.r.clock.Now()
	}
}

// announce notes that another host announced one of m's addresses.
func (w *takeoverWait) announce(m *member) {
	if h := w.each[m]; h != nil && h.seen.IsZero() {
		h.seen = w.r.clock.Now()
		m.log.Info("vrrp: handover: another host announced our addresses", "after_advert", !h.heard.IsZero())
	}
}

// due releases the members whose wait is over and repeats the priority-0
// advert of the others when it is due.
func (w *takeoverWait) due(now time.Time, release func(m *member, why string)) {
	for _, m := range slices.Clone(w.held) {
		h := w.each[m]
		if at, why := h.releaseAt(); !at.IsZero() && !now.Before(at) {
			release(m, why)
			continue
		}
		if h.heard.IsZero() && !now.Before(h.nextAdvert) {
			w.r.sendAdvert(m, PriorityStop)
			h.nextAdvert = now.Add(m.cfg.Config.AdvertInterval)
		}
	}
}

// pastDeadline ends the wait for a new master and returns the members
// that heard none. Those that did wait on for its announcement, at most
// HandoverAnnounceWait after its advert.
func (w *takeoverWait) pastDeadline() (unheard []*member) {
	w.deadline = nil // closed, it would be chosen again at once
	for _, m := range w.held {
		if w.each[m].heard.IsZero() {
			unheard = append(unheard, m)
		}
	}
	return unheard
}

// drop stops waiting for m.
func (w *takeoverWait) drop(m *member) {
	w.held = slices.DeleteFunc(w.held, func(x *member) bool { return x == m })
	if h := w.each[m]; h != nil {
		for _, stop := range h.unwatch {
			stop()
		}
		delete(w.each, m)
	}
}
