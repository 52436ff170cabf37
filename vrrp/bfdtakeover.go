package vrrp

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"github.com/lbd-project/lbd/bfd"
)

// Fast takeover by BFD: every member with BFD timers runs a BFD session
// with each of its unicast peers, so that whichever of them is Master
// answers its Backups. BFD runs in lbd on both sides, so it needs an lbd
// peer (a keepalived peer does not speak it) and the peers' addresses
// (unicast_peer: in multicast mode a Master does not know its Backups).
// A Backup whose session to the Master it follows goes from Up to Down
// because the detection time expired (the Master sent nothing for
// Multiplier intervals: its host, its link or its lbd died) takes over at
// once, without Skew_Time. A session that goes down because the peer said
// AdminDown (its lbd stopping on purpose) is left to the priority-0
// advert of the handover. Unlike ICMP echo, which the Master's kernel
// answers, a Master whose lbd alone died is found in the detection time
// too; its addresses go with their lease ([VIPLease]).

// BFDTimers are a member's BFD session timers; a zero Interval is off.
type BFDTimers struct {
	Interval   time.Duration // desired min TX and required min RX
	Multiplier uint8         // intervals without a packet that declare the peer down
}

// BFDSessions runs BFD sessions; a *bfd.Manager is one.
type BFDSessions interface {
	Add(bfd.SessionConfig) (*bfd.Handle, error)
	Remove(*bfd.Handle) error
}

// lostByDetection reports whether c is a peer found dead, rather than one
// that went down on purpose or never came up.
func lostByDetection(c bfd.Change) bool {
	return c.From == bfd.StateUp && c.To == bfd.StateDown && c.Diag == bfd.DiagControlExpired
}

// watchBFD tells the loop when the session to peer is lost by detection
// while m follows peer as its Master, until ctx ends or the session is
// removed.
func (r *Runner) watchBFD(ctx context.Context, m *member, peer netip.Addr, changes <-chan bfd.Change) {
	for {
		var c bfd.Change
		var ok bool
		select {
		case <-ctx.Done():
			return
		case c, ok = <-changes:
			if !ok {
				return
			}
		}
		m.log.Debug("vrrp: BFD session changed", "peer", peer, "from", c.From, "to", c.To, "diag", c.Diag, "remote_diag", c.RemoteDiag)
		if lostByDetection(c) && m.watchedMaster().WithZone("") == peer {
			r.deliver(ctx, m.idx, MasterUnreachable{From: peer, Now: true})
		}
	}
}

// startBFD starts the BFD sessions of the members with BFD timers; the
// returned function stops them (the peers see AdminDown).
func (r *Runner) startBFD(ctx context.Context) (stop func()) {
	var sessions BFDSessions
	var handles []*bfd.Handle
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	for _, m := range r.members {
		t := m.cfg.FastTakeover.BFD
		if t.Interval <= 0 {
			continue
		}
		if sessions == nil {
			var err error
			if r.cfg.BFD != nil {
				sessions, err = r.cfg.BFD()
			}
			if sessions == nil {
				r.log.Error("vrrp: fast takeover off: no BFD", "err", err)
				break
			}
		}
		for _, p := range m.cfg.Peers {
			h, err := sessions.Add(bfd.SessionConfig{Peer: p, Local: m.io.Primary.WithZone(""), Interface: m.cfg.Interface,
				DesiredMinTx: t.Interval, RequiredMinRx: t.Interval, DetectMult: t.Multiplier})
			if err != nil {
				m.log.Error("vrrp: fast takeover off for a peer: cannot start its BFD session", "peer", p, "err", err)
				continue
			}
			handles = append(handles, h)
			changes, _ := h.Subscribe() // closed when the session is removed
			wg.Go(func() { r.watchBFD(ctx, m, p, changes) })
		}
	}
	return func() {
		cancel()
		for _, h := range handles {
			if err := sessions.Remove(h); err != nil {
				r.log.Debug("vrrp: stopping a BFD session", "peer", h.Config().Peer, "err", err)
			}
		}
		wg.Wait()
	}
}
