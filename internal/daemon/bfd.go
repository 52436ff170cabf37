package daemon

import (
	"context"
	"net/netip"

	"github.com/lbd-project/lbd/bfd"
	"github.com/lbd-project/lbd/bfd/bfdnet"
	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/vrrp"
)

// BFD with the BGP peers (bgp.peers[].bfd): the router learns that a
// balancer died in a few hundred milliseconds instead of after the BGP
// hold time, and takes it out of its ECMP set. lbd runs the sessions;
// their state is logged, counted and shown with the peer. The VRRP
// runners' fast takeover by BFD runs its sessions on the same manager:
// the daemon has one, since BFD has one UDP port.

// openBFD opens the BFD sockets of the real host.
func openBFD() (bfd.Conn, error) { return bfdnet.Listen(bfdnet.ListenConfig{}) }

// bfdManager returns the daemon's BFD manager, opened and started at the
// first call that succeeds; it runs until lbd exits.
func (d *daemon) bfdManager() (*bfd.Manager, error) {
	d.bfdMu.Lock()
	defer d.bfdMu.Unlock()
	if d.bfd == nil {
		conn, err := d.openBFD()
		if err != nil {
			return nil, err
		}
		d.bfd = bfd.NewManager(bfd.ManagerConfig{Conn: conn, Logger: d.log})
		go d.bfd.Run(context.Background())
	}
	return d.bfd, nil
}

// vrrpBFD is the runners' seam to the daemon's BFD manager.
func (d *daemon) vrrpBFD() (vrrp.BFDSessions, error) {
	m, err := d.bfdManager()
	if err != nil {
		return nil, err
	}
	return m, nil
}

// bfdSessions is the BFD side of anycast, owned by its goroutine.
type bfdSessions struct {
	m        *bfd.Manager // nil until a peer asks for BFD
	sessions map[netip.Addr]bfdSession
}

type bfdSession struct {
	cfg bfd.SessionConfig
	h   *bfd.Handle
}

// sessionConfig is the BFD session of a peer, ok false without bfd.
func sessionConfig(p conf.BGPPeer) (bfd.SessionConfig, bool) {
	if p.BFD == nil {
		return bfd.SessionConfig{}, false
	}
	return bfd.SessionConfig{Peer: p.Address.Addr, Local: p.LocalAddress.Addr, DesiredMinTx: p.BFD.MinTx.D(),
		RequiredMinRx: p.BFD.MinRx.D(), DetectMult: p.BFD.Multiplier}, true
}

// place makes the sessions those of cfg's peers: new ones are added,
// changed ones replaced, removed ones stopped (the peer sees AdminDown),
// and unchanged ones left alone.
func (a *anycast) placeBFD() {
	want := map[netip.Addr]bfd.SessionConfig{}
	if a.cfg.BGP != nil {
		for _, p := range a.cfg.BGP.Peers {
			if c, ok := sessionConfig(p); ok {
				want[p.Address.Addr] = c
			}
		}
	}
	b := &a.bfd
	for peer, s := range b.sessions {
		if c, ok := want[peer]; !ok || c != s.cfg {
			if err := b.m.Remove(s.h); err != nil {
				a.log.Error("bfd: cannot stop a session", "peer", peer, "err", err)
			}
			delete(b.sessions, peer)
		}
	}
	if len(want) == 0 {
		return
	}
	if b.m == nil {
		m, err := a.sharedBFD()
		if err != nil {
			a.log.Error("bfd: cannot open its sockets; BGP runs without BFD", "err", err)
			a.errors.Add(1)
			return
		}
		b.m, b.sessions = m, map[netip.Addr]bfdSession{}
		a.bfdManager.Store(b.m)
	}
	for peer, c := range want {
		if _, ok := b.sessions[peer]; ok {
			continue
		}
		h, err := b.m.Add(c)
		if err != nil {
			a.log.Error("bfd: cannot start a session", "peer", peer, "err", err)
			a.errors.Add(1)
			continue
		}
		b.sessions[peer] = bfdSession{cfg: c, h: h}
	}
}

// stopBFD ends every session of the BGP peers (they see AdminDown).
func (a *anycast) stopBFD() {
	for peer, s := range a.bfd.sessions {
		if err := a.bfd.m.Remove(s.h); err != nil {
			a.log.Error("bfd: cannot stop a session", "peer", peer, "err", err)
		}
	}
	a.bfd.sessions = nil
}

// bfdStats is the BFD manager's snapshot, false without one.
func (a *anycast) bfdStats() (bfd.Stats, bool) {
	m := a.bfdManager.Load()
	if m == nil {
		return bfd.Stats{}, false
	}
	st, err := m.Stats()
	return st, err == nil
}
