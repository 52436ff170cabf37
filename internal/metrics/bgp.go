package metrics

import (
	"net/netip"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lbd-project/lbd/bfd"
	"github.com/lbd-project/lbd/bgp"
)

// BGP is the active/active side of a scrape.
type BGP struct {
	Configured []netip.Addr // the addresses of announce: bgp virtual servers
	Announced  []netip.Addr
	Draining   bool
	Errors     uint64 // failed announcements, withdrawals and address changes
	Speaker    bgp.Stats
	BFD        *bfd.Stats // nil without a BFD session
}

var (
	labelsPeer       = []string{"peer"}
	descBGPAnnounced = prometheus.NewDesc("lbd_bgp_vip_announced", "Whether the virtual address is announced to the BGP peers (1) or withdrawn (0).", []string{"vip"}, nil)
	descBGPDraining  = prometheus.NewDesc("lbd_bgp_draining", "Whether an operator or a stop drained this balancer (nothing announced).", nil, nil)
	descBGPErrors    = prometheus.NewDesc("lbd_bgp_errors_total", "Announcements, withdrawals and virtual address changes that failed.", nil, nil)
	descBGPUnknown   = prometheus.NewDesc("lbd_bgp_unknown_connections_total", "BGP connections from addresses that are no configured peer, refused.", nil, nil)
	descBGPPeerUp    = prometheus.NewDesc("lbd_bgp_peer_up", "Whether the BGP session with the peer is established.", labelsPeer, nil)
	descBGPRoutes    = prometheus.NewDesc("lbd_bgp_peer_advertised_routes", "Routes sent to the peer and not withdrawn in this session.", labelsPeer, nil)
	descBGPRejected  = prometheus.NewDesc("lbd_bgp_peer_rejected_prefixes", "Routes the peer sends that lbd rejects (it accepts none).", labelsPeer, nil)
	descBGPResets    = prometheus.NewDesc("lbd_bgp_peer_resets_total", "BGP sessions with the peer that went down.", labelsPeer, nil)
	descBGPNotifRecv = prometheus.NewDesc("lbd_bgp_peer_notifications_received_total", "NOTIFICATION messages received from the peer.", labelsPeer, nil)
	descBFDUp        = prometheus.NewDesc("lbd_bfd_session_up", "Whether the BFD session with the peer is Up.", labelsPeer, nil)
	descBFDChanges   = prometheus.NewDesc("lbd_bfd_session_state_changes_total", "State changes of the BFD session with the peer.", labelsPeer, nil)
	descBFDDrops     = prometheus.NewDesc("lbd_bfd_packets_dropped_total", "BFD packets dropped by the reception checks, by reason.", []string{"reason"}, nil)
	descBGPConnFail  = prometheus.NewDesc("lbd_bgp_peer_connect_failures_total", "Outgoing connection attempts to the peer that failed.", labelsPeer, nil)
)

func collectBGP(b *BGP, gauge func(*prometheus.Desc, float64, ...string), counter func(*prometheus.Desc, uint64, ...string)) {
	announced := map[netip.Addr]bool{}
	for _, a := range b.Announced {
		announced[a] = true
	}
	for _, a := range b.Configured {
		gauge(descBGPAnnounced, b2f(announced[a]), a.String())
	}
	gauge(descBGPDraining, b2f(b.Draining))
	counter(descBGPErrors, b.Errors)
	counter(descBGPUnknown, b.Speaker.UnknownConnections)
	for _, p := range b.Speaker.Peers {
		peer := p.Address.String()
		gauge(descBGPPeerUp, b2f(p.State == bgp.StateEstablished), peer)
		gauge(descBGPRoutes, float64(p.Advertised), peer)
		gauge(descBGPRejected, float64(p.RejectedPrefixes), peer)
		counter(descBGPResets, p.Resets, peer)
		counter(descBGPNotifRecv, p.NotificationsReceived, peer)
		counter(descBGPConnFail, p.ConnectFailures, peer)
	}
	if f := b.BFD; f != nil {
		for _, s := range f.Sessions {
			peer := s.Config.Peer.String()
			gauge(descBFDUp, b2f(s.State == bfd.StateUp), peer)
			counter(descBFDChanges, s.StateChanges, peer)
		}
		for r, n := range f.Drops {
			counter(descBFDDrops, n, r.String())
		}
	}
}
