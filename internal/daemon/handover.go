package daemon

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/lbd-project/lbd/vrrp"
)

// This file holds the planned handover of a running unit (the control
// socket's "handover"): the make-before-break sequence of a stopping unit
// (see the package documentation), without stopping.

// handoverTrack is a tracked object every instance gets: while it is
// down (after a handover) it takes 253 off the priority, so the instance
// stays Backup (priority 1 at most 254-253) behind any other router. A
// reload or a "handover" request with restore brings it up again. In a
// sync group without tracking_weight tracked weights are forced to 0, so
// there the members wait in Fault instead.
const handoverTrack = "lbd:handover"

// errNoTakeover is the answer when no other router took over in time.
var errNoTakeover = errors.New("no backup took over; the instance stays master")

type handoverReq struct {
	restore bool
	reply   chan handoverReply
}

type handoverReply struct {
	instances []string
	err       error
}

// request asks the unit's loop to hand over (or to restore its
// priority) and waits for the answer.
func (u *unit) request(ctx context.Context, restore bool) ([]string, error) {
	r := handoverReq{restore: restore, reply: make(chan handoverReply, 1)}
	select {
	case u.handovers <- r:
	case <-u.done:
		return nil, errors.New("vrrp unit stopped")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case a := <-r.reply:
		return a.instances, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// setHandoverTrack raises or lowers the priority of every member.
func (u *unit) setHandoverTrack(up bool) {
	for _, m := range u.members {
		u.handle(m, vrrp.TrackChanged{Name: handoverTrack, Status: vrrp.TrackStatus{Up: up}})
	}
}

// handover runs on the unit's loop. With restore it ends an earlier
// handover (priorities back). Otherwise every Master member hands over:
// its priority drops, it advertises priority 0 (so a Backup takes over
// after its Skew_Time) while it keeps its addresses, and once another
// router's advert is heard it becomes Backup, lingers HandoverLinger and
// releases the addresses. If nobody takes over within the handover
// timeout the priority is restored and errNoTakeover returned. Other
// members' packets, events and timers are served meanwhile.
func (u *unit) handover(ctx context.Context, restore bool) ([]string, error) {
	var names []string
	if restore {
		if u.demoted {
			u.demoted = false
			u.setHandoverTrack(true)
			for _, m := range u.members {
				names = append(names, m.spec.Name)
			}
			u.log.Info("vrrp: handover ended; priorities restored")
		}
		return names, nil
	}
	var held []*member
	for _, m := range u.members {
		if m.inst.State() == vrrp.StateMaster {
			m.holding = true
			held = append(held, m)
			names = append(names, m.spec.Name)
		}
	}
	u.demoted = true
	u.setHandoverTrack(false)
	if len(held) == 0 {
		return nil, nil
	}
	for _, m := range held {
		u.sendAdvert(m, vrrp.PriorityStop)
		m.log.Info("vrrp: handing over on request: priority 0 sent, keeping the addresses until a new master is heard")
	}
	w := newTakeoverWait(held, time.Now())
	release := func(m *member, why string) {
		m.holding = false
		if m.inst.State() != vrrp.StateMaster {
			m.log.Info("vrrp: handover: " + why + "; releasing the addresses")
			u.removeVIPs(m)
		}
		for _, t := range m.pending {
			u.notifyInstance(m, t.To)
		}
		m.pending = nil
		w.drop(m)
	}
	deadline := time.NewTimer(w.timeout())
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for len(w.held) > 0 {
		select {
		case <-ctx.Done():
			for _, m := range slices.Clone(w.held) {
				release(m, "stopping")
			}
			u.groupState()
			return names, ctx.Err()
		case p := <-u.pkts:
			m := u.members[p.m]
			w.heard(m, p.p)
			u.receive(m, p.p)
		case e := <-u.events:
			u.handle(u.members[e.m], e.ev)
		case f := <-u.fires:
			u.fired(f)
		case now := <-tick.C:
			w.tick(u, now, func(m *member) { release(m, "new master took over") })
		case <-deadline.C:
			for _, m := range slices.Clone(w.held) {
				m.log.Warn("vrrp: handover: no new master heard; staying master", "waited", w.timeout())
				release(m, "no new master heard")
			}
			u.demoted = false
			u.setHandoverTrack(true)
			u.groupState()
			return nil, errNoTakeover
		}
	}
	u.groupState()
	return names, nil
}
