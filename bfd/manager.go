package bfd

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"
)

// DefaultMaxSessions bounds the sessions of a Manager when its config
// does not.
const DefaultMaxSessions = 1024

// maxPacket is the read buffer: a Length field cannot say more than 255.
const maxPacket = 256

// ErrClosed is returned by a Manager that is not running.
var ErrClosed = errors.New("bfd: manager not running")

// ManagerConfig configures a Manager.
type ManagerConfig struct {
	Conn Conn
	// Clock; nil: SystemClock.
	Clock Clock
	// MaxSessions; 0: DefaultMaxSessions.
	MaxSessions int
	// Rand draws discriminators and jitter; nil: seeded from crypto/rand,
	// so that an off-path attacker cannot guess a discriminator.
	Rand *rand.Rand
	// Logger; nil: slog.Default().
	Logger *slog.Logger
}

// Manager runs BFD sessions: one goroutine ([Manager.Run]) owns every
// session, the packets read from its Conn and the one timer armed for
// the earliest deadline. Other goroutines reach it through Add, Remove,
// SetTimers and Stats.
type Manager struct {
	cfg  ManagerConfig
	log  *slog.Logger
	reqs chan func()
	done chan struct{}
	once sync.Once

	// owned by Run
	byDiscr map[uint32]*entry
	byPeer  map[netip.Addr][]*entry
	drops   [numReasons]uint64
	rx      uint64
	armed   time.Time
	stop    func() bool
	wake    chan struct{}
	buf     []byte
}

type entry struct {
	s       *Session
	h       *Handle
	tx      Sender
	ifindex int
	since   time.Time
	rx      uint64
	sent    uint64
	txErr   uint64
	changes uint64
}

// NewManager returns a Manager; Run starts it.
func NewManager(cfg ManagerConfig) *Manager {
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.Rand == nil {
		var seed [32]byte
		_, _ = crand.Read(seed[:])
		cfg.Rand = rand.New(rand.NewChaCha8(seed))
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Manager{
		cfg:     cfg,
		log:     log,
		reqs:    make(chan func()),
		done:    make(chan struct{}),
		byDiscr: map[uint32]*entry{},
		byPeer:  map[netip.Addr][]*entry{},
		wake:    make(chan struct{}, 1),
		buf:     make([]byte, 0, HeaderLen),
	}
}

type rxPacket struct {
	b    [maxPacket]byte
	n    int
	info PacketInfo
}

// Run owns the sessions until ctx ends or the conn fails. On the way out
// every session tells its peer AdminDown and the conn is closed.
func (m *Manager) Run(ctx context.Context) error {
	defer m.once.Do(func() { close(m.done) })
	pkts := make(chan *rxPacket, 64)
	readErr := make(chan error, 1)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			p := new(rxPacket)
			n, info, err := m.cfg.Conn.ReadPacket(p.b[:])
			if err != nil {
				readErr <- err
				return
			}
			p.n, p.info = min(n, maxPacket), info
			select {
			case pkts <- p:
			case <-m.done:
				return
			}
		}
	}()
	var err error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case f := <-m.reqs:
			f()
		case p := <-pkts:
			m.receive(p)
		case <-m.wake:
		case err = <-readErr:
			break loop
		}
		m.runTimers()
	}
	now := m.cfg.Clock.Now()
	for _, e := range m.byDiscr {
		m.shutdown(e, now)
	}
	if m.stop != nil {
		m.stop()
	}
	m.once.Do(func() { close(m.done) })
	cerr := m.cfg.Conn.Close()
	<-readerDone
	if err != nil {
		return fmt.Errorf("bfd: read: %w", err)
	}
	return cerr
}

// do runs f in Run's goroutine and waits for it.
func (m *Manager) do(f func()) error {
	ran := make(chan struct{})
	select {
	case m.reqs <- func() { f(); close(ran) }:
		<-ran
		return nil
	case <-m.done:
		return ErrClosed
	}
}

// Add starts a session. Its path (peer, local address, interface) must
// not be another session's; a reload adds and removes only the sessions
// whose path changed, and changes the timers of the others with
// SetTimers.
func (m *Manager) Add(cfg SessionConfig) (*Handle, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("bfd: session %v: %w", cfg.Peer, err)
	}
	cfg = cfg.withDefaults()
	cfg.Peer, cfg.Local = cfg.Peer.Unmap().WithZone(""), cfg.Local.Unmap().WithZone("")
	var h *Handle
	var err error
	if e := m.do(func() { h, err = m.add(cfg) }); e != nil {
		return nil, e
	}
	return h, err
}

func (m *Manager) add(cfg SessionConfig) (*Handle, error) {
	for _, e := range m.byPeer[cfg.Peer] {
		c := e.s.Config()
		if c.Local == cfg.Local && c.Interface == cfg.Interface {
			return nil, fmt.Errorf("bfd: session %v already exists", cfg.Peer)
		}
	}
	if len(m.byDiscr) >= m.cfg.MaxSessions {
		return nil, fmt.Errorf("bfd: session %v: already %d sessions", cfg.Peer, m.cfg.MaxSessions)
	}
	tx, err := m.cfg.Conn.Dial(cfg)
	if err != nil {
		return nil, fmt.Errorf("bfd: session %v: %w", cfg.Peer, err)
	}
	var discr uint32
	for discr == 0 || m.byDiscr[discr] != nil {
		discr = m.cfg.Rand.Uint32()
	}
	now := m.cfg.Clock.Now()
	e := &entry{
		s:       NewSession(cfg, discr, now, m.cfg.Rand),
		h:       &Handle{cfg: cfg, discr: discr, state: StateDown},
		tx:      tx,
		ifindex: tx.Ifindex(),
		since:   now,
	}
	m.byDiscr[discr] = e
	m.byPeer[cfg.Peer] = append(m.byPeer[cfg.Peer], e)
	m.log.Info("bfd session added", "peer", cfg.Peer, "interface", cfg.Interface, "discriminator", discr)
	return e.h, nil
}

// Remove stops a session: it tells the peer AdminDown, and the handle's
// subscriptions are closed.
func (m *Manager) Remove(h *Handle) error {
	var err error
	if e := m.do(func() {
		e := m.byDiscr[h.discr]
		if e == nil || e.h != h {
			err = fmt.Errorf("bfd: session %v is not running", h.cfg.Peer)
			return
		}
		m.shutdown(e, m.cfg.Clock.Now())
	}); e != nil {
		return e
	}
	return err
}

// SetTimers changes the intervals of a running session (zero: the
// default); while it is Up the change goes through a Poll Sequence and the
// session stays Up.
func (m *Manager) SetTimers(h *Handle, desiredMinTx, requiredMinRx time.Duration) error {
	c := h.cfg
	c.DesiredMinTx, c.RequiredMinRx = desiredMinTx, requiredMinRx
	if err := c.Validate(); err != nil {
		return fmt.Errorf("bfd: session %v: %w", c.Peer, err)
	}
	c = c.withDefaults()
	var err error
	if e := m.do(func() {
		e := m.byDiscr[h.discr]
		if e == nil || e.h != h {
			err = fmt.Errorf("bfd: session %v is not running", h.cfg.Peer)
			return
		}
		e.s.SetTimers(m.cfg.Clock.Now(), c.DesiredMinTx, c.RequiredMinRx)
	}); e != nil {
		return e
	}
	return err
}

// shutdown sends AdminDown, closes the sender and forgets the session.
func (m *Manager) shutdown(e *entry, now time.Time) {
	c, ch := e.s.Shutdown(now)
	m.apply(e, Output{Send: []Control{c}, Change: ch})
	if err := e.tx.Close(); err != nil {
		m.log.Warn("bfd: closing sender", "peer", e.h.cfg.Peer, "error", err)
	}
	delete(m.byDiscr, e.h.discr)
	peers := m.byPeer[e.h.cfg.Peer]
	for i, x := range peers {
		if x == e {
			peers = append(peers[:i], peers[i+1:]...)
			break
		}
	}
	if len(peers) == 0 {
		delete(m.byPeer, e.h.cfg.Peer)
	} else {
		m.byPeer[e.h.cfg.Peer] = peers
	}
	e.h.close()
}

// receive checks a datagram, finds its session and runs it.
func (m *Manager) receive(p *rxPacket) {
	m.rx++
	if r := CheckTTL(p.info.TTL); r != ReasonNone {
		m.drops[r]++
		return
	}
	c, r := Unmarshal(p.b[:p.n])
	if r != ReasonNone {
		m.drops[r]++
		return
	}
	src := p.info.Src.Unmap().WithZone("")
	var e *entry
	if c.YourDiscr != 0 {
		if e = m.byDiscr[c.YourDiscr]; e == nil {
			m.drops[ReasonUnknownDiscr]++
			return
		}
		if e.h.cfg.Peer != src || !e.accepts(p.info) {
			m.drops[ReasonPeer]++
			return
		}
	} else {
		for _, x := range m.byPeer[src] {
			if x.accepts(p.info) {
				e = x
				break
			}
		}
		if e == nil {
			m.drops[ReasonNoSession]++
			return
		}
	}
	e.rx++
	m.apply(e, e.s.Receive(m.cfg.Clock.Now(), c))
}

// accepts reports whether a packet of the session's peer came in on the
// session's interface and to its local address (when both are known).
func (e *entry) accepts(info PacketInfo) bool {
	if e.ifindex != 0 && info.Ifindex != e.ifindex {
		return false
	}
	local := e.h.cfg.Local
	return !local.IsValid() || !info.Dst.IsValid() || info.Dst.Unmap().WithZone("") == local
}

// runTimers expires the sessions that are due and arms the one timer for
// the next deadline.
func (m *Manager) runTimers() {
	now := m.cfg.Clock.Now()
	var next time.Time
	for _, e := range m.byDiscr {
		d := e.s.Deadline()
		if !d.IsZero() && !d.After(now) {
			m.apply(e, e.s.Expire(now))
			d = e.s.Deadline()
		}
		if !d.IsZero() && (next.IsZero() || d.Before(next)) {
			next = d
		}
	}
	if next.Equal(m.armed) {
		return
	}
	if m.stop != nil {
		m.stop()
	}
	m.armed, m.stop = next, nil
	if !next.IsZero() {
		m.stop = m.cfg.Clock.AfterFunc(next.Sub(now), func() {
			select {
			case m.wake <- struct{}{}:
			default:
			}
		})
	}
}

// apply sends a session's packets and reports its change.
func (m *Manager) apply(e *entry, out Output) {
	for i := range out.Send {
		m.buf = out.Send[i].Marshal(m.buf[:0])
		if err := e.tx.Send(m.buf); err != nil {
			e.txErr++
			m.log.Debug("bfd: send", "peer", e.h.cfg.Peer, "error", err)
			continue
		}
		e.sent++
	}
	if ch := out.Change; ch != nil {
		e.changes++
		e.since = ch.At
		m.log.Info("bfd session state", "peer", e.h.cfg.Peer, "interface", e.h.cfg.Interface,
			"from", ch.From, "state", ch.To, "diag", ch.Diag, "remote_diag", ch.RemoteDiag)
		e.h.publish(*ch)
	}
}

// Stats is a snapshot of a Manager.
type Stats struct {
	// Received counts every datagram read, Drops those discarded, by
	// reason (every reason present, zero or not).
	Received uint64
	Drops    map[DropReason]uint64
	Sessions []SessionStats
}

// SessionStats is a snapshot of one session.
type SessionStats struct {
	Config                  SessionConfig
	LocalDiscr, RemoteDiscr uint32
	State, RemoteState      State
	// LocalDiag is why the session last went Down; RemoteDiag what the
	// peer's last packet said.
	LocalDiag, RemoteDiag Diag
	Since                 time.Time // of the last state change
	StateChanges          uint64
	Received, Sent        uint64
	SendErrors            uint64
	DetectionTime         time.Duration
	TxInterval            time.Duration
}

// Stats returns a snapshot; ErrClosed when the manager is not running.
func (m *Manager) Stats() (Stats, error) {
	var st Stats
	err := m.do(func() {
		st.Received = m.rx
		st.Drops = make(map[DropReason]uint64, numReasons-1)
		for _, r := range DropReasons() {
			st.Drops[r] = m.drops[r]
		}
		for _, e := range m.byDiscr {
			s := e.s
			st.Sessions = append(st.Sessions, SessionStats{
				Config: s.Config(), LocalDiscr: s.LocalDiscr(), RemoteDiscr: s.remoteDiscr,
				State: s.State(), RemoteState: s.RemoteState(),
				LocalDiag: s.LocalDiag(), RemoteDiag: s.RemoteDiag(),
				Since: e.since, StateChanges: e.changes,
				Received: e.rx, Sent: e.sent, SendErrors: e.txErr,
				DetectionTime: s.DetectionTime(), TxInterval: s.TxInterval(),
			})
		}
	})
	return st, err
}

// Handle is a running session as its owner sees it: its state, and
// subscriptions to its changes.
type Handle struct {
	cfg   SessionConfig
	discr uint32

	mu     sync.Mutex
	state  State
	diag   Diag
	subs   []chan Change
	closed bool
}

// Config returns the configuration the session was added with, defaults
// applied (Stats has the timers SetTimers changed since).
func (h *Handle) Config() SessionConfig { return h.cfg }

// State returns the session's state and local diagnostic.
func (h *Handle) State() (State, Diag) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.state, h.diag
}

// Subscribe returns a channel of the session's changes from now on, and
// a function that ends the subscription. The channel holds the last 8
// changes: when the reader falls behind, the oldest are dropped, never
// the newest, and the Manager never waits. It is closed when the session
// is removed or the Manager stops.
func (h *Handle) Subscribe() (<-chan Change, func()) {
	ch := make(chan Change, 8)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(ch)
		return ch, func() {}
	}
	h.subs = append(h.subs, ch)
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		for i, c := range h.subs {
			if c == ch {
				h.subs = append(h.subs[:i], h.subs[i+1:]...)
				close(ch)
				return
			}
		}
	}
}

func (h *Handle) publish(c Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.state, h.diag = c.To, c.Diag
	for _, ch := range h.subs {
		for {
			select {
			case ch <- c:
			default:
				select {
				case <-ch:
				default:
				}
				continue
			}
			break
		}
	}
}

func (h *Handle) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, ch := range h.subs {
		close(ch)
	}
	h.subs = nil
}
