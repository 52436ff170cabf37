package vrrp

import (
	"net/netip"
	"sync/atomic"
	"time"
)

// memberStats are a member's counters and its last known state, written by
// the runner goroutine and read by [Runner.Stats] from any goroutine.
type memberStats struct {
	state, prio                        atomic.Uint32
	sent, received, transitions, garps atomic.Uint64
	txErr, rxErr, garpErr, vipErr      atomic.Uint64
	drops                              [numReasons]atomic.Uint64 // by DropReason
	last                               atomic.Pointer[lastTransition]
}

// lastTransition is when and why a member last changed state.
type lastTransition struct {
	at     time.Time
	reason string
}

// InstanceStats is a snapshot of one instance of a runner, for status and
// metrics.
type InstanceStats struct {
	Name      string
	Interface string
	VRID      uint8
	State     State
	Priority  uint8 // effective; the configured one before the runner started
	// LastTransition and LastReason: when and why the state last
	// changed; zero before the first change.
	LastTransition time.Time
	LastReason     string
	// Master is the Master a Backup follows (the last one heard, not
	// leaving); invalid otherwise.
	Master          netip.Addr
	AdvertsSent     uint64 // one per destination
	AdvertsReceived uint64 // accepted
	SendErrors      uint64
	ReceiveErrors   uint64
	Transitions     uint64
	GARPBursts      uint64 // announcement rounds
	GARPErrors      uint64
	VIPErrors       uint64 // adding, removing or checking addresses, routes or rules failed
	// Drops counts dropped packets by reason; every reason is present.
	Drops map[DropReason]uint64
}

// Stats returns a snapshot of every instance, in configuration order;
// safe from any goroutine.
func (r *Runner) Stats() []InstanceStats {
	out := make([]InstanceStats, 0, len(r.members))
	for _, m := range r.members {
		s := &m.stats
		is := InstanceStats{
			Name: m.cfg.Name(), Interface: m.cfg.Interface, VRID: m.cfg.Config.VRID,
			State: State(s.state.Load()), Priority: uint8(s.prio.Load()),
			AdvertsSent: s.sent.Load(), AdvertsReceived: s.received.Load(),
			SendErrors: s.txErr.Load(), ReceiveErrors: s.rxErr.Load(),
			Transitions: s.transitions.Load(), GARPBursts: s.garps.Load(),
			GARPErrors: s.garpErr.Load(), VIPErrors: s.vipErr.Load(),
			Drops: make(map[DropReason]uint64, numReasons-1),
		}
		if is.Priority == 0 {
			is.Priority = m.cfg.Config.Priority
		}
		is.Master = m.watchedMaster()
		if l := s.last.Load(); l != nil {
			is.LastTransition, is.LastReason = l.at, l.reason
		}
		for _, reason := range DropReasons() {
			is.Drops[reason] = s.drops[reason].Load()
		}
		out = append(out, is)
	}
	return out
}
