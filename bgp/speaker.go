package bgp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/server"
)

// maxRoutes bounds what one speaker announces.
const maxRoutes = 1 << 16

// maxReceivedRoutes bounds the routes of one family a peer may send
// (they are all rejected); a peer that sends more has its session reset.
const maxReceivedRoutes = 1000

// drainPoll is how often Drain looks at what the peers were sent.
const drainPoll = 5 * time.Millisecond

// ErrNotRunning is returned by a Speaker that is not started or stopped.
var ErrNotRunning = errors.New("bgp: speaker not running")

// Speaker announces lbd's routes to its peers. Its methods are safe from
// any goroutine; gobgp's server goroutine owns the RIBs and the sessions,
// the Speaker's mutex guards its own view: the configuration, the routes
// lbd asked for, and per-peer records built from gobgp's reports.
type Speaker struct {
	log *slog.Logger

	// mu serialises the operations and guards what they change; it is
	// held across calls into gobgp.
	mu     sync.Mutex
	srv    *server.BgpServer // nil when not running
	cfg    Config            // defaults applied
	routes map[netip.Prefix]Route

	// recMu guards what gobgp's goroutines report through the logger
	// (observe). It is never held across a call into gobgp, which logs
	// from inside its operations.
	recMu   sync.Mutex
	peers   map[netip.Addr]*peerRecord
	unknown uint64 // connections from unconfigured addresses, refused
}

// peerRecord is what the speaker learns of a peer from gobgp's log
// reports; it outlives the peer's sessions, not the peer's configuration.
type peerRecord struct {
	// wire is the peer's Adj-RIB-Out as written to its socket: prefixes
	// sent in an UPDATE and not withdrawn since, cleared when the
	// session goes down.
	wire           map[netip.Prefix]struct{}
	resets         uint64 // sessions that went down
	connectFailed  uint64 // outgoing connection attempts that failed
	lastError      string
	lastErrorAt    time.Time
	lastNotifyRecv string
	lastNotifySent string
}

// New returns a stopped speaker that logs to log (nil: slog.Default()).
func New(log *slog.Logger) *Speaker {
	if log == nil {
		log = slog.Default()
	}
	return &Speaker{log: log, routes: make(map[netip.Prefix]Route), peers: make(map[netip.Addr]*peerRecord)}
}

// Start validates cfg, starts gobgp (without its gRPC server: nothing but
// BGP listens) and adds the peers; ctx bounds the start only.
func (s *Speaker) Start(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("bgp: %w", err)
	}
	cfg = cfg.WithDefaults()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return errors.New("bgp: speaker already running")
	}
	s.srv = server.NewBgpServer(server.LoggerOption(&logAdapter{log: s.log, observe: s.observe}))
	go s.srv.Serve()
	if err := s.startLocked(ctx, cfg); err != nil {
		s.srv.Stop()
		s.srv = nil
		return err
	}
	return nil
}

// startLocked starts BGP on the running server with cfg and announces the
// routes the speaker holds.
func (s *Speaker) startLocked(ctx context.Context, cfg Config) error {
	port := int32(cfg.ListenPort)
	if port == 0 {
		port = -1 // gobgp: do not listen
	}
	global := &api.Global{Asn: cfg.LocalASN, RouterId: cfg.RouterID.String(), ListenPort: port}
	if err := s.srv.StartBgp(ctx, &api.StartBgpRequest{Global: global}); err != nil {
		return fmt.Errorf("bgp: start: %w", err)
	}
	if err := s.rejectImportLocked(ctx); err != nil {
		return err
	}
	s.cfg = cfg
	for _, p := range cfg.Peers {
		if err := s.addPeerLocked(ctx, p); err != nil {
			return err
		}
	}
	for _, prefix := range slices.SortedFunc(maps.Keys(s.routes), comparePrefix) {
		if err := s.addPathLocked(ctx, prefix, s.routes[prefix]); err != nil {
			return err
		}
	}
	return nil
}

// Names of the import policy and its neighbor set.
const (
	policyName   = "lbd-export-only"
	neighborsSet = "lbd-any-neighbor"
)

// rejectImportLocked makes the speaker export only: every route a peer
// sends is rejected on import, so none reaches the RIB (nor is sent on to
// another peer). gobgp applies the global import policy to lbd's own
// paths as well; they have no neighbor, so a statement matching any
// neighbor address rejects exactly the received ones.
func (s *Speaker) rejectImportLocked(ctx context.Context) error {
	set := &api.DefinedSet{DefinedType: api.DefinedType_NEIGHBOR, Name: neighborsSet, List: []string{"0.0.0.0/0", "::/0"}}
	policy := &api.Policy{Name: policyName, Statements: []*api.Statement{{
		Name:       policyName + "-received",
		Conditions: &api.Conditions{NeighborSet: &api.MatchSet{Type: api.MatchSet_ANY, Name: neighborsSet}},
		Actions:    &api.Actions{RouteAction: api.RouteAction_REJECT},
	}}}
	assignment := &api.PolicyAssignment{Name: "global", Direction: api.PolicyDirection_IMPORT,
		Policies: []*api.Policy{{Name: policyName}}, DefaultAction: api.RouteAction_ACCEPT}
	err := s.srv.AddDefinedSet(ctx, &api.AddDefinedSetRequest{DefinedSet: set})
	if err == nil {
		err = s.srv.AddPolicy(ctx, &api.AddPolicyRequest{Policy: policy, ReferExistingStatements: false})
	}
	if err == nil {
		err = s.srv.SetPolicyAssignment(ctx, &api.SetPolicyAssignmentRequest{Assignment: assignment})
	}
	if err != nil {
		return fmt.Errorf("bgp: import policy: %w", err)
	}
	return nil
}

func comparePrefix(a, b netip.Prefix) int {
	return a.Addr().Compare(b.Addr())*2 + cmpInt(a.Bits(), b.Bits())
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *Speaker) addPeerLocked(ctx context.Context, p PeerConfig) error {
	if err := s.srv.AddPeer(ctx, &api.AddPeerRequest{Peer: apiPeer(s.cfg, p)}); err != nil {
		return fmt.Errorf("bgp: add peer %v: %w", p.Address, err)
	}
	s.recMu.Lock()
	if s.peers[p.Address] == nil {
		s.peers[p.Address] = &peerRecord{wire: make(map[netip.Prefix]struct{})}
	}
	s.recMu.Unlock()
	return nil
}

func (s *Speaker) deletePeerLocked(ctx context.Context, a netip.Addr) error {
	if err := s.srv.DeletePeer(ctx, &api.DeletePeerRequest{Address: a.String()}); err != nil {
		return fmt.Errorf("bgp: delete peer %v: %w", a, err)
	}
	return nil
}

// apiPeer is gobgp's configuration of p.
func apiPeer(c Config, p PeerConfig) *api.Peer {
	hold := uint64(p.HoldTime / time.Second)
	ap := &api.Peer{
		Conf:      &api.PeerConf{NeighborAddress: p.Address.String(), PeerAsn: p.ASN, AuthPassword: p.Password},
		Transport: &api.Transport{RemotePort: uint32(p.Port), PassiveMode: p.Passive},
		Timers: &api.Timers{Config: &api.TimersConfig{
			HoldTime: hold, KeepaliveInterval: hold / 3,
			ConnectRetry:           uint64(connectRetry / time.Second),
			IdleHoldTimeAfterReset: uint64(idleHoldAfterReset / time.Second),
		}},
	}
	if p.LocalAddress.IsValid() {
		ap.Transport.LocalAddress = p.LocalAddress.String()
	}
	if !c.isIBGP(p) && p.MultihopTTL > 1 {
		ap.EbgpMultihop = &api.EbgpMultihop{Enabled: true, MultihopTtl: uint32(p.MultihopTTL)}
	}
	for _, f := range p.Families {
		ap.AfiSafis = append(ap.AfiSafis, &api.AfiSafi{Config: &api.AfiSafiConfig{Family: apiFamily(f), Enabled: true},
			// lbd accepts no route, but gobgp keeps what a peer sends
			// (Adj-RIB-In) before the import policy rejects it: bounded, a
			// peer that sends more is reset.
			PrefixLimits: &api.PrefixLimit{Family: apiFamily(f), MaxPrefixes: maxReceivedRoutes}})
	}
	return ap
}

func apiFamily(f Family) *api.Family {
	if f == IPv6Unicast {
		return &api.Family{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST}
	}
	return &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}
}

// Reconfigure applies cfg to the running speaker: peers that are gone are
// deleted, new ones added, changed ones reset; an unchanged peer keeps its
// session. A change of LocalASN, RouterID or ListenPort restarts BGP (every
// session resets; the routes are announced again). A cfg that does not
// validate changes nothing.
func (s *Speaker) Reconfigure(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("bgp: %w", err)
	}
	cfg = cfg.WithDefaults()
	ctx := context.Background()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return ErrNotRunning
	}
	old := s.cfg
	if cfg.LocalASN != old.LocalASN || cfg.RouterID != old.RouterID || cfg.ListenPort != old.ListenPort {
		if err := s.srv.StopBgp(ctx, &api.StopBgpRequest{}); err != nil {
			return fmt.Errorf("bgp: restart: %w", err)
		}
		s.prunePeersLocked(cfg)
		return s.startLocked(ctx, cfg)
	}
	want := make(map[netip.Addr]PeerConfig, len(cfg.Peers))
	for _, p := range cfg.Peers {
		want[p.Address] = p
	}
	var errs []error
	for _, p := range old.Peers {
		if q, ok := want[p.Address]; !ok || !peerEqual(p, q) {
			errs = append(errs, s.deletePeerLocked(ctx, p.Address))
		}
	}
	s.cfg = cfg
	s.prunePeersLocked(cfg)
	have := make(map[netip.Addr]PeerConfig, len(old.Peers))
	for _, p := range old.Peers {
		have[p.Address] = p
	}
	for _, p := range cfg.Peers {
		if q, ok := have[p.Address]; !ok || !peerEqual(p, q) {
			errs = append(errs, s.addPeerLocked(ctx, p))
		}
	}
	return errors.Join(errs...)
}

// prunePeersLocked forgets the records of the peers cfg no longer has.
func (s *Speaker) prunePeersLocked(cfg Config) {
	keep := make(map[netip.Addr]bool, len(cfg.Peers))
	for _, p := range cfg.Peers {
		keep[p.Address] = true
	}
	s.recMu.Lock()
	defer s.recMu.Unlock()
	for a := range s.peers {
		if !keep[a] {
			delete(s.peers, a)
		}
	}
}

func peerEqual(a, b PeerConfig) bool {
	return a.Address == b.Address && a.ASN == b.ASN && a.Port == b.Port && a.HoldTime == b.HoldTime &&
		a.Password == b.Password && a.Passive == b.Passive && a.MultihopTTL == b.MultihopTTL &&
		a.LocalAddress == b.LocalAddress && slices.Equal(a.Families, b.Families)
}

// Announce announces prefix (a VIP's /32 or /128, or any prefix) with r
// to every peer of its family, replacing what was announced for it.
func (s *Speaker) Announce(prefix netip.Prefix, r Route) error {
	if err := r.validate(prefix); err != nil {
		return fmt.Errorf("bgp: %w", err)
	}
	r = r.clone()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return ErrNotRunning
	}
	if _, ok := s.routes[prefix]; !ok && len(s.routes) >= maxRoutes {
		return fmt.Errorf("bgp: announce %v: already %d routes", prefix, maxRoutes)
	}
	if err := s.addPathLocked(context.Background(), prefix, r); err != nil {
		return err
	}
	s.routes[prefix] = r
	return nil
}

func (s *Speaker) addPathLocked(ctx context.Context, prefix netip.Prefix, r Route) error {
	p, err := apiPath(prefix, r, false)
	if err == nil {
		_, err = s.srv.AddPath(ctx, &api.AddPathRequest{TableType: api.TableType_GLOBAL, Path: p})
	}
	if err != nil {
		return fmt.Errorf("bgp: announce %v: %w", prefix, err)
	}
	return nil
}

// Withdraw withdraws prefix from every peer; withdrawing a prefix that is
// not announced does nothing.
func (s *Speaker) Withdraw(prefix netip.Prefix) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return ErrNotRunning
	}
	return s.withdrawLocked(prefix)
}

func (s *Speaker) withdrawLocked(prefix netip.Prefix) error {
	r, ok := s.routes[prefix]
	if !ok {
		return nil
	}
	p, err := apiPath(prefix, r, true)
	if err == nil {
		err = s.srv.DeletePath(context.Background(), &api.DeletePathRequest{TableType: api.TableType_GLOBAL, Path: p})
	}
	if err != nil {
		return fmt.Errorf("bgp: withdraw %v: %w", prefix, err)
	}
	delete(s.routes, prefix)
	return nil
}

// Routes returns what the speaker announces, by prefix.
func (s *Speaker) Routes() map[netip.Prefix]Route {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[netip.Prefix]Route, len(s.routes))
	for p, r := range s.routes {
		out[p] = r.clone()
	}
	return out
}

// Drain withdraws every route and returns once every Established peer has
// been sent the withdrawals (written to its socket), or ctx ends; it
// returns how long that took. A peer that is not Established has nothing
// of lbd's (its session going down withdrew everything).
func (s *Speaker) Drain(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	s.mu.Lock()
	if s.srv == nil {
		s.mu.Unlock()
		return 0, ErrNotRunning
	}
	var errs []error
	for _, prefix := range slices.SortedFunc(maps.Keys(s.routes), comparePrefix) {
		errs = append(errs, s.withdrawLocked(prefix))
	}
	s.mu.Unlock()
	if err := errors.Join(errs...); err != nil {
		return time.Since(start), err
	}
	t := time.NewTicker(drainPoll)
	defer t.Stop()
	for {
		drained, err := s.drained(ctx)
		if err != nil || drained {
			return time.Since(start), err
		}
		select {
		case <-ctx.Done():
			return time.Since(start), fmt.Errorf("bgp: drain: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// drained reports whether no Established peer has a route of lbd's on
// the wire.
func (s *Speaker) drained(ctx context.Context) (bool, error) {
	peers, err := s.peerStatus(ctx)
	if err != nil {
		return false, err
	}
	for _, p := range peers {
		if p.State == StateEstablished && p.Advertised > 0 {
			return false, nil
		}
	}
	return true, nil
}

// Stop closes every session (with a Cease notification) and stops the
// speaker; the routes it held are forgotten. Stopping a stopped speaker
// does nothing.
func (s *Speaker) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return
	}
	s.srv.Stop()
	s.srv = nil
	s.routes = make(map[netip.Prefix]Route)
	s.recMu.Lock()
	s.peers = make(map[netip.Addr]*peerRecord)
	s.recMu.Unlock()
}
