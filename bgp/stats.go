package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	gobgplog "github.com/osrg/gobgp/v3/pkg/log"
	pkt "github.com/osrg/gobgp/v3/pkg/packet/bgp"
)

// State is a BGP session's state (RFC 4271 §8.2.2).
type State uint8

const (
	StateUnknown State = iota
	StateIdle
	StateConnect
	StateActive
	StateOpenSent
	StateOpenConfirm
	StateEstablished
)

var stateNames = [...]string{"unknown", "idle", "connect", "active", "opensent", "openconfirm", "established"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

func stateOf(s api.PeerState_SessionState) State {
	switch s {
	case api.PeerState_IDLE:
		return StateIdle
	case api.PeerState_CONNECT:
		return StateConnect
	case api.PeerState_ACTIVE:
		return StateActive
	case api.PeerState_OPENSENT:
		return StateOpenSent
	case api.PeerState_OPENCONFIRM:
		return StateOpenConfirm
	case api.PeerState_ESTABLISHED:
		return StateEstablished
	}
	return StateUnknown
}

// PeerStatus is a snapshot of one configured peer.
type PeerStatus struct {
	Address netip.Addr
	ASN     uint32
	State   State
	Uptime  time.Duration // of the Established session; 0 otherwise
	// Advertised counts the prefixes on the wire to the peer: sent and
	// not withdrawn in this session.
	Advertised int
	// ReceivedPrefixes are the routes the peer sends now (kept in its
	// Adj-RIB-In); the import policy accepts none of them, so all are
	// RejectedPrefixes.
	ReceivedPrefixes, RejectedPrefixes       uint64
	MessagesReceived, MessagesSent           uint64
	UpdatesReceived, UpdatesSent             uint64
	NotificationsReceived, NotificationsSent uint64
	Resets                                   uint64 // sessions that went down
	ConnectFailures                          uint64 // outgoing connection attempts that failed
	// LastError is the last reason a session went down or a connection
	// failed, at LastErrorAt; LastNotificationReceived/Sent describe the
	// last NOTIFICATION each way. Empty until one happens.
	LastError                string
	LastErrorAt              time.Time
	LastNotificationReceived string
	LastNotificationSent     string
}

// Stats is a snapshot of the speaker's counters, for metrics.
type Stats struct {
	Routes int // announced
	Peers  []PeerStatus
	// UnknownConnections counts connections accepted from addresses that
	// are no configured peer, closed at once.
	UnknownConnections uint64
}

// Peers returns the status of every configured peer, in configuration
// order; nil when the speaker is not running.
func (s *Speaker) Peers() []PeerStatus {
	out, _ := s.peerStatus(context.Background())
	return out
}

// Stats returns a snapshot of the speaker's counters.
func (s *Speaker) Stats() Stats {
	peers, _ := s.peerStatus(context.Background())
	s.mu.Lock()
	n := len(s.routes)
	s.mu.Unlock()
	s.recMu.Lock()
	defer s.recMu.Unlock()
	return Stats{Routes: n, Peers: peers, UnknownConnections: s.unknown}
}

func (s *Speaker) peerStatus(ctx context.Context) ([]PeerStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return nil, ErrNotRunning
	}
	byAddr := make(map[string]*api.Peer, len(s.cfg.Peers))
	err := s.srv.ListPeer(ctx, &api.ListPeerRequest{}, func(p *api.Peer) {
		if p.Conf != nil {
			byAddr[p.Conf.NeighborAddress] = p
		}
	})
	if err != nil {
		return nil, fmt.Errorf("bgp: list peers: %w", err)
	}
	out := make([]PeerStatus, 0, len(s.cfg.Peers))
	s.recMu.Lock()
	defer s.recMu.Unlock()
	for _, c := range s.cfg.Peers {
		st := PeerStatus{Address: c.Address, ASN: c.ASN}
		if p := byAddr[c.Address.String()]; p != nil {
			fillStatus(&st, p)
		}
		if r := s.peers[c.Address]; r != nil {
			if st.State == StateEstablished {
				st.Advertised = len(r.wire)
			}
			st.Resets, st.ConnectFailures = r.resets, r.connectFailed
			st.LastError, st.LastErrorAt = r.lastError, r.lastErrorAt
			st.LastNotificationReceived, st.LastNotificationSent = r.lastNotifyRecv, r.lastNotifySent
		}
		out = append(out, st)
	}
	return out, nil
}

// fillStatus copies what gobgp knows of a peer into st.
func fillStatus(st *PeerStatus, p *api.Peer) {
	if ps := p.State; ps != nil {
		st.State = stateOf(ps.SessionState)
		if m := ps.Messages; m != nil {
			if r := m.Received; r != nil {
				st.MessagesReceived, st.UpdatesReceived, st.NotificationsReceived = r.Total, r.Update, r.Notification
			}
			if t := m.Sent; t != nil {
				st.MessagesSent, st.UpdatesSent, st.NotificationsSent = t.Total, t.Update, t.Notification
			}
		}
	}
	if t := p.Timers; st.State == StateEstablished && t != nil && t.State != nil && t.State.Uptime != nil {
		st.Uptime = time.Since(t.State.Uptime.AsTime()).Truncate(time.Second)
	}
	for _, af := range p.AfiSafis {
		if af.State != nil {
			st.ReceivedPrefixes += af.State.Received
		}
	}
	st.RejectedPrefixes = st.ReceivedPrefixes
}

// observe is the logger's hook: it keeps the per-peer records from gobgp's
// reports. It runs on gobgp's goroutines and takes only recMu.
func (s *Speaker) observe(msg string, f gobgplog.Fields) {
	if msg == "Can't find configuration for a new passive connection" {
		s.recMu.Lock()
		s.unknown++
		s.recMu.Unlock()
		return
	}
	key, _ := f["Key"].(string)
	addr, err := netip.ParseAddr(key)
	if err != nil {
		return
	}
	s.recMu.Lock()
	defer s.recMu.Unlock()
	r := s.peers[addr.Unmap()]
	if r == nil {
		return
	}
	switch msg {
	case "sent update":
		r.noteSent(f)
	case "Peer Down":
		r.resets++
		clear(r.wire)
		r.lastError, r.lastErrorAt = fmt.Sprint("session down: ", f["Reason"]), time.Now()
	case "failed to connect":
		r.connectFailed++
		r.lastError, r.lastErrorAt = fmt.Sprint("connect: ", f["Error"]), time.Now()
	case "received notification":
		r.lastNotifyRecv = notification(f)
	case "sent notification":
		r.lastNotifySent = notification(f)
	}
}

func notification(f gobgplog.Fields) string {
	s := fmt.Sprintf("code %v subcode %v", f["Code"], f["Subcode"])
	if reason, _ := f["Communicated-Reason"].(string); reason != "" {
		s += fmt.Sprintf(" %q", reason)
	}
	return s
}

// noteSent applies an UPDATE written to the peer's socket (gobgp's "sent
// update" report) to the record of what is on the wire.
func (r *peerRecord) noteSent(f gobgplog.Fields) {
	add := func(nlri pkt.AddrPrefixInterface) {
		if p, err := netip.ParsePrefix(nlri.String()); err == nil {
			r.wire[p] = struct{}{}
		}
	}
	del := func(nlri pkt.AddrPrefixInterface) {
		if p, err := netip.ParsePrefix(nlri.String()); err == nil {
			delete(r.wire, p)
		}
	}
	if l, ok := f["withdrawals"].([]*pkt.IPAddrPrefix); ok {
		for _, n := range l {
			del(n)
		}
	}
	if l, ok := f["nlri"].([]*pkt.IPAddrPrefix); ok {
		for _, n := range l {
			add(n)
		}
	}
	if attrs, ok := f["attributes"].([]pkt.PathAttributeInterface); ok {
		for _, a := range attrs {
			switch a := a.(type) {
			case *pkt.PathAttributeMpReachNLRI:
				for _, n := range a.Value {
					add(n)
				}
			case *pkt.PathAttributeMpUnreachNLRI:
				for _, n := range a.Value {
					del(n)
				}
			}
		}
	}
}
