package vrrp

import (
	"context"
	"net/netip"
	"sync"
	"time"
)

// Fast takeover: VRRP finds a dead Master only after three missed adverts
// plus the skew (3.6 s at keepalived's 1 s default), and shorter adverts
// trade that for false takeovers whenever the Master's daemon is starved
// of CPU. A Backup therefore also pings its Master's address (ICMP echo,
// which the Master's kernel answers, not its daemon): when the host or its
// link dies, the pings stop within a few hundred milliseconds, and the
// Backup treats that like the Master's priority-0 advert — it takes over
// after Skew_Time unless an advert arrives first ([MasterUnreachable]). A
// Master whose daemon alone died still answers pings; the advert timer
// finds it, and its addresses go with their lease (see [VIPLease]).
// Because the kernel answers, a busy or paused daemon on the Master never
// triggers it, and a Master that does not answer pings at all (a
// firewall) never arms it.

// FastTakeover is a member's probe setting: BFD when BFD.Interval is set
// (see bfdtakeover.go), else ICMP echo when Interval is, else off.
type FastTakeover struct {
	Interval time.Duration // between echo requests, each waited for as long
	Misses   int           // unanswered requests in a row that make the Master unreachable
	BFD      BFDTimers
}

// icmp reports whether the member pings its Master.
func (ft FastTakeover) icmp() bool { return ft.BFD.Interval <= 0 && ft.Interval > 0 }

// watchedMaster is the address a Backup member follows, for its prober;
// invalid when it follows none (not Backup, no Master heard, or the Master
// sent priority 0 and is leaving anyway).
func (m *member) watchedMaster() netip.Addr {
	if p := m.master.Load(); p != nil {
		return *p
	}
	return netip.Addr{}
}

// updateWatched records whom m follows after an event.
func (m *member) updateWatched() {
	var a netip.Addr
	if m.inst.State() == StateBackup {
		if addr, prio := m.inst.Master(); addr.IsValid() && prio != PriorityStop && addr != m.io.Primary.WithZone("") {
			a = addr
			if a.IsLinkLocalUnicast() {
				// VRRPv3 over IPv6 advertises from link-local
				// addresses, reachable only through our link.
				a = a.WithZone(m.cfg.Interface)
			}
		}
	}
	if old := m.watchedMaster(); old != a {
		m.master.Store(&a)
	}
}

// probeMaster pings m's Master every interval until ctx ends and tells
// the loop when it stopped answering. It arms only after a reply from the
// Master it follows, and disarms after reporting, so it reports once per
// outage and never for a Master that does not answer pings.
func (r *Runner) probeMaster(ctx context.Context, m *member, ping Pinger) {
	ft := m.cfg.FastTakeover
	tick := newTicker(r.clock, ft.Interval)
	defer tick.stop()
	var target netip.Addr
	armed, misses := false, 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if cur := m.watchedMaster(); cur != target {
			target, armed, misses = cur, false, 0
		}
		if !target.IsValid() {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, ft.Interval)
		err := ping.Ping(pctx, target)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err == nil:
			if !armed {
				m.log.Debug("vrrp: fast takeover armed: master answers ICMP echo", "peer", target)
			}
			armed, misses = true, 0
		case armed:
			if misses++; misses >= ft.Misses {
				armed, misses = false, 0
				r.deliver(ctx, m.idx, MasterUnreachable{From: target.WithZone("")}) // as the instance knows it
			}
		}
	}
}

// masterUnreachable decides whether the loop passes a prober's report on
// to the instance: not when an advert of that Master arrived within the
// time the pings went unanswered (the Master lives; ICMP was lost).
func (r *Runner) masterUnreachable(m *member, ev MasterUnreachable) bool {
	ft := m.cfg.FastTakeover
	if ev.Now {
		m.log.Info("vrrp: BFD session to the master expired; taking over", "peer", ev.From,
			"detection", time.Duration(ft.BFD.Multiplier)*ft.BFD.Interval)
		return true
	}
	window := time.Duration(ft.Misses) * ft.Interval
	if last := m.lastAdvert; last.from == ev.From && r.clock.Now().Sub(last.at) < window {
		m.log.Debug("vrrp: master missed pings but its adverts arrive; staying backup", "peer", ev.From)
		return false
	}
	m.log.Info("vrrp: master does not answer ICMP echo; taking over after the skew time unless it advertises",
		"peer", ev.From, "misses", ft.Misses, "interval", ft.Interval)
	return true
}

// startProbers runs a prober for every member with fast takeover, sharing
// one pinger; the returned function stops them and releases the pinger.
func (r *Runner) startProbers(ctx context.Context) (stop func()) {
	var pinger Pinger
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	for _, m := range r.members {
		if !m.cfg.FastTakeover.icmp() {
			continue
		}
		if pinger == nil {
			p, err := r.cfg.Host.OpenPinger()
			if err != nil {
				r.log.Error("vrrp: fast takeover off: cannot open an ICMP socket", "err", err)
				break
			}
			pinger = p
		}
		wg.Go(func() { r.probeMaster(ctx, m, pinger) })
	}
	return func() {
		cancel()
		wg.Wait()
		if pinger != nil {
			pinger.Close()
		}
	}
}
