// Package bgp is lbd's BGP speaker: it announces virtual IPs (/32, /128)
// to upstream routers, which spread flows over the balancers with ECMP,
// and withdraws them when a balancer must stop taking traffic.
//
// It is export only. lbd originates routes and never learns any: an
// import policy rejects every route a peer sends (counted per peer in
// [PeerStatus]), so nothing received reaches the RIB, the kernel, or
// another peer, and connections from addresses that are no configured
// peer are refused.
//
// It wraps GoBGP's server as a library (github.com/osrg/gobgp/v3): a
// maintained, pure-Go BGP implementation with TCP MD5, both unicast
// families and a Go API, so lbd stays one static binary with no routing
// daemon beside it. GoBGP's gRPC API is not started — nothing listens
// but BGP itself (and only with Config.ListenPort or a passive peer).
// Its logger is put onto log/slog at reduced verbosity.
//
// [Speaker.Drain] withdraws everything and returns once each Established
// peer has been sent the withdrawals. GoBGP computes its Adj-RIB-Out from
// the Loc-RIB when asked (empty as soon as a path is deleted) and does not
// report its per-peer outbound queue, so the speaker keeps each peer's
// Adj-RIB-Out as written to the socket from GoBGP's report of every
// UPDATE it wrote (a debug message the logger adapter observes).
//
// Every input is hostile: the configuration is validated field by field,
// routes and communities are bounded, and a peer that sends garbage,
// resets, never opens or has the wrong password is counted in
// [Speaker.Stats] and disturbs no other session.
package bgp
