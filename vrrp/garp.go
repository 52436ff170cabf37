package vrrp

import (
	"context"
	"log/slog"
	"net/netip"
)

// This file paces gratuitous ARP / NA (keepalived garp_interval and
// gna_interval): the runner never sleeps, so the announcements of a burst
// wait in a queue, and a timer of the runner's clock sends the next one
// after the gap its predecessor's family asks for.

// announcement is one gratuitous ARP or unsolicited NA.
type announcement struct {
	dev  string
	addr netip.Addr
}

// pace queues n rounds of announcements of every address of m, behind
// those still queued, and starts sending them if none was waiting. A
// burst asked for while a whole one is still waiting is folded into it:
// adverts of a lower-priority master each ask for a burst, and a flood of
// them must not grow the queue without bound.
func (r *Runner) pace(m *member, n int, reason string) {
	idle := len(m.queued) == 0
	if len(m.queued) >= n*len(m.all) {
		m.log.Debug("vrrp: gratuitous ARP / NA burst folded into the one queued", "reason", reason, "queued", len(m.queued))
		return
	}
	for range n {
		for _, v := range m.all {
			m.queued = append(m.queued, announcement{dev: v.Dev, addr: v.Addr()})
		}
	}
	m.stats.garps.Add(1)
	lvl := slog.LevelInfo
	if reason == "garp_master_refresh" {
		lvl = slog.LevelDebug
	}
	m.log.Log(context.Background(), lvl, "vrrp: gratuitous ARP / NA queued", "reason", reason, "repeat", n,
		"vips", len(m.all), "garp_interval", m.garp.Interval, "gna_interval", m.garp.NAInterval)
	if idle {
		r.sendQueued(m)
	}
}

// sendQueued sends the first queued announcement and arms the timer for
// the next, after the gap of this one's family.
func (r *Runner) sendQueued(m *member) {
	if len(m.queued) == 0 {
		return
	}
	a := m.queued[0]
	m.queued = m.queued[1:]
	if ann := m.io.Announcers[a.dev]; ann != nil {
		if err := ann.Announce([]netip.Addr{a.addr}); err != nil {
			m.stats.garpErr.Add(1)
			m.log.Warn("vrrp: gratuitous ARP / NA failed", "state", m.inst.State(), "vip", a.addr, "err", err)
		}
	}
	if len(m.queued) == 0 {
		m.queued = nil
		return
	}
	gap := m.garp.Interval
	if a.addr.Is6() {
		gap = m.garp.NAInterval
	}
	r.arm(m, firePaced, gap)
}
