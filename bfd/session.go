package bfd

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"
)

// Defaults of a [SessionConfig], fit for a backup watching its master on
// the same LAN: a dead peer is declared after 300 ms.
const (
	DefaultDesiredMinTx  = 100 * time.Millisecond
	DefaultRequiredMinRx = 100 * time.Millisecond
	DefaultDetectMult    = 3
)

// SlowTxInterval is the least Desired Min TX Interval a session advertises
// while it is not Up (RFC 5880 section 6.8.3).
const SlowTxInterval = time.Second

// Bounds of the configured intervals: at least a millisecond (a session
// must not flood), at most what the 32-bit microsecond field carries.
const (
	MinInterval = time.Millisecond
	MaxInterval = 0xffffffff * time.Microsecond
)

// SessionConfig configures one single-hop session.
type SessionConfig struct {
	// Peer is the remote system's address, IPv4 or IPv6 (a link-local
	// IPv6 peer needs Interface).
	Peer netip.Addr
	// Local is the source address of the packets sent; unset, the
	// kernel picks it by route.
	Local netip.Addr
	// Interface, when set, is the only interface the peer's packets are
	// accepted on and the one packets leave by.
	Interface string
	// DesiredMinTx is the fastest this system wants to send once Up, and
	// RequiredMinRx the fastest it accepts packets; zero means the
	// defaults above.
	DesiredMinTx  time.Duration
	RequiredMinRx time.Duration
	// DetectMult is how many intervals without a packet declare the
	// session down at the peer; zero means DefaultDetectMult.
	DetectMult uint8
	// Passive sessions send nothing until the peer has spoken (RFC 5880
	// section 6.1).
	Passive bool
}

// withDefaults fills the zero fields.
func (c SessionConfig) withDefaults() SessionConfig {
	if c.DesiredMinTx == 0 {
		c.DesiredMinTx = DefaultDesiredMinTx
	}
	if c.RequiredMinRx == 0 {
		c.RequiredMinRx = DefaultRequiredMinRx
	}
	if c.DetectMult == 0 {
		c.DetectMult = DefaultDetectMult
	}
	return c
}

// Validate reports what is wrong with c once the defaults are applied.
func (c SessionConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	switch {
	case !c.Peer.IsValid():
		errs = append(errs, errors.New("peer address missing"))
	case c.Peer.IsUnspecified() || c.Peer.IsMulticast():
		errs = append(errs, fmt.Errorf("peer %v is not a unicast address", c.Peer))
	case c.Peer.Unmap().Is6() && c.Peer.IsLinkLocalUnicast() && c.Interface == "":
		errs = append(errs, fmt.Errorf("link-local peer %v needs an interface", c.Peer))
	}
	if c.Local.IsValid() && c.Peer.IsValid() && c.Local.Unmap().Is4() != c.Peer.Unmap().Is4() {
		errs = append(errs, fmt.Errorf("local %v and peer %v are of different families", c.Local, c.Peer))
	}
	for _, iv := range []struct {
		name string
		d    time.Duration
	}{{"desired min tx", c.DesiredMinTx}, {"required min rx", c.RequiredMinRx}} {
		if iv.d < MinInterval || iv.d > MaxInterval {
			errs = append(errs, fmt.Errorf("%s %v out of range [%v, %v]", iv.name, iv.d, MinInterval, MaxInterval))
		}
	}
	return errors.Join(errs...)
}

// Change is a state transition of a session.
type Change struct {
	From, To State
	// Diag is the local diagnostic: why the session went Down
	// (DiagControlExpired, DiagNeighborDown, DiagAdminDown), DiagNone
	// when it came Up.
	Diag Diag
	// RemoteDiag is the peer's diagnostic in its last packet (DiagNone
	// after a detection timeout): DiagAdminDown tells a peer taken down on
	// purpose from a failure.
	RemoteDiag Diag
	At         time.Time
}

// Output is what a session asks its owner to do after an event.
type Output struct {
	// Send are packets to send now, in order.
	Send []Control
	// Change is set when the state changed.
	Change *Change
}

// Session is the state machine of one BFD session in asynchronous mode
// (RFC 5880 section 6.8). It does no I/O and reads no clock: every event
// carries the time, and [Session.Deadline] says when the owner must call
// [Session.Expire]. One goroutine owns it.
type Session struct {
	cfg SessionConfig
	rnd *rand.Rand

	state, remoteState      State
	localDiscr, remoteDiscr uint32
	localDiag, remoteDiag   Diag

	// desiredTx and requiredRx are what we advertise; txEff and rxEff
	// what we use while a Poll Sequence is changing them (section 6.8.3).
	desiredTx, requiredRx time.Duration
	txEff, rxEff          time.Duration
	polling               bool

	remoteMinRx, remoteDesiredTx time.Duration
	remoteMult                   uint8
	remoteDemand                 bool

	nextTx, detectAt time.Time // zero: not armed
}

// NewSession returns a session in state Down with local discriminator
// discr (non-zero, unique on this system). rnd jitters the transmit
// interval. A session that is not passive sends its first packet at once
// (its Deadline is now).
func NewSession(cfg SessionConfig, discr uint32, now time.Time, rnd *rand.Rand) *Session {
	cfg = cfg.withDefaults()
	s := &Session{
		cfg:         cfg,
		rnd:         rnd,
		state:       StateDown,
		remoteState: StateDown,
		localDiscr:  discr,
		requiredRx:  cfg.RequiredMinRx,
		rxEff:       cfg.RequiredMinRx,
		desiredTx:   max(cfg.DesiredMinTx, SlowTxInterval),
	}
	s.txEff = s.desiredTx
	s.resetRemote()
	s.reschedule(now)
	return s
}

// resetRemote forgets what the peer told (section 6.8.1 initial values).
func (s *Session) resetRemote() {
	s.remoteDiscr = 0
	s.remoteState = StateDown
	s.remoteMinRx = time.Microsecond
	s.remoteDesiredTx = 0
	s.remoteMult = 0
	s.remoteDemand = false
	s.remoteDiag = DiagNone
}

// Config returns the session's configuration, defaults applied.
func (s *Session) Config() SessionConfig { return s.cfg }

// State returns the local state.
func (s *Session) State() State { return s.state }

// LocalDiscr returns the local discriminator.
func (s *Session) LocalDiscr() uint32 { return s.localDiscr }

// LocalDiag returns the local diagnostic.
func (s *Session) LocalDiag() Diag { return s.localDiag }

// RemoteDiag returns the diagnostic of the last packet received.
func (s *Session) RemoteDiag() Diag { return s.remoteDiag }

// RemoteState returns the state of the last packet received.
func (s *Session) RemoteState() State { return s.remoteState }

// Polling reports whether a Poll Sequence is in progress.
func (s *Session) Polling() bool { return s.polling }

// DetectionTime returns the time without a packet after which the session
// goes Down: the peer's Detect Mult times the larger of our Required Min
// RX and its Desired Min TX (section 6.8.4). It is zero before the peer
// has spoken.
func (s *Session) DetectionTime() time.Duration {
	if s.remoteMult == 0 {
		return 0
	}
	return time.Duration(s.remoteMult) * max(s.rxEff, s.remoteDesiredTx)
}

// TxInterval returns the interval between periodic packets before jitter:
// the larger of our Desired Min TX and the peer's Required Min RX.
func (s *Session) TxInterval() time.Duration { return max(s.txEff, s.remoteMinRx) }

// Deadline returns when Expire must be called next; zero when no timer
// is armed.
func (s *Session) Deadline() time.Time {
	switch {
	case s.nextTx.IsZero():
		return s.detectAt
	case s.detectAt.IsZero() || s.nextTx.Before(s.detectAt):
		return s.nextTx
	}
	return s.detectAt
}

// Expire runs the timers due at now: the detection timer (section
// 6.8.4), then the periodic transmission (section 6.8.7).
func (s *Session) Expire(now time.Time) Output {
	var out Output
	if !s.detectAt.IsZero() && !now.Before(s.detectAt) {
		s.detectAt = time.Time{}
		s.resetRemote()
		if s.state == StateInit || s.state == StateUp {
			out.Change = s.setState(now, StateDown, DiagControlExpired)
		}
	}
	if out.Change != nil {
		// tell the peer at once, as on any state change
		s.nextTx = now
	}
	if !s.nextTx.IsZero() && !now.Before(s.nextTx) {
		s.nextTx = time.Time{}
		if s.maySend() {
			out.Send = append(out.Send, s.packet(false))
			s.nextTx = now.Add(s.jitter(s.TxInterval()))
		}
	}
	s.reschedule(now)
	return out
}

// Receive runs the reception procedure of section 6.8.6 on a packet that
// passed [Unmarshal] and was demultiplexed to this session.
func (s *Session) Receive(now time.Time, c Control) Output {
	var out Output
	if s.state == StateAdminDown {
		return out
	}
	s.remoteDiscr = c.MyDiscr
	s.remoteState = c.State
	s.remoteDemand = c.Demand
	s.remoteMinRx = c.RequiredMinRx
	s.remoteDesiredTx = c.DesiredMinTx
	s.remoteMult = c.DetectMult
	s.remoteDiag = c.Diag
	if c.Final && s.polling {
		s.polling = false
		s.txEff, s.rxEff = s.desiredTx, s.requiredRx
	}
	s.detectAt = now.Add(s.DetectionTime())

	switch {
	case c.State == StateAdminDown:
		if s.state != StateDown {
			out.Change = s.setState(now, StateDown, DiagNeighborDown)
		}
	case s.state == StateDown && c.State == StateDown:
		out.Change = s.setState(now, StateInit, s.localDiag)
	case s.state == StateDown && c.State == StateInit,
		s.state == StateInit && (c.State == StateInit || c.State == StateUp):
		out.Change = s.setState(now, StateUp, DiagNone)
	case s.state == StateUp && c.State == StateDown:
		out.Change = s.setState(now, StateDown, DiagNeighborDown)
	}
	if c.Poll {
		out.Send = append(out.Send, s.packet(true))
	}
	if out.Change != nil && s.maySend() {
		out.Send = append(out.Send, s.packet(false))
		s.nextTx = now.Add(s.jitter(s.TxInterval()))
	}
	s.reschedule(now)
	return out
}

// SetTimers changes the intervals of a running session (a reload). While
// Up it starts a Poll Sequence, and a slower transmit rate or a faster
// receive rate takes effect only when the peer answers it (section
// 6.8.3).
func (s *Session) SetTimers(now time.Time, desiredMinTx, requiredMinRx time.Duration) {
	s.cfg.DesiredMinTx, s.cfg.RequiredMinRx = desiredMinTx, requiredMinRx
	tx := desiredMinTx
	if s.state != StateUp {
		tx = max(tx, SlowTxInterval)
	}
	s.setTimers(tx, requiredMinRx)
	s.reschedule(now)
}

func (s *Session) setTimers(tx, rx time.Duration) {
	if tx == s.desiredTx && rx == s.requiredRx {
		return
	}
	s.desiredTx, s.requiredRx = tx, rx
	if s.state != StateUp {
		s.txEff, s.rxEff = tx, rx
		return
	}
	s.polling = true
	s.txEff = min(s.txEff, tx)
	s.rxEff = max(s.rxEff, rx)
}

// Shutdown takes the session AdminDown (section 6.8.16) and returns the
// packet that tells the peer, which then goes Down with
// DiagNeighborDown instead of waiting for its detection time. The
// session is inert afterwards.
func (s *Session) Shutdown(now time.Time) (Control, *Change) {
	ch := s.setState(now, StateAdminDown, DiagAdminDown)
	s.nextTx, s.detectAt = time.Time{}, time.Time{}
	return s.packet(false), ch
}

// setState moves to st with diag and adjusts the advertised transmit
// interval: the configured one while Up, at least SlowTxInterval
// otherwise.
func (s *Session) setState(now time.Time, st State, diag Diag) *Change {
	ch := &Change{From: s.state, To: st, Diag: diag, RemoteDiag: s.remoteDiag, At: now}
	s.state, s.localDiag = st, diag
	if st == StateUp {
		s.setTimers(s.cfg.DesiredMinTx, s.cfg.RequiredMinRx)
	} else {
		s.polling = false
		s.desiredTx = max(s.cfg.DesiredMinTx, SlowTxInterval)
		s.txEff, s.rxEff = s.desiredTx, s.requiredRx
	}
	return ch
}

// maySend reports whether periodic packets may go out (section 6.8.7):
// not AdminDown, a passive session only once the peer has spoken, never
// to a peer asking for none, and not to a peer in Demand mode while both
// are Up unless polling.
func (s *Session) maySend() bool {
	switch {
	case s.state == StateAdminDown,
		s.cfg.Passive && s.remoteDiscr == 0,
		s.remoteMinRx == 0:
		return false
	case s.remoteDemand && s.state == StateUp && s.remoteState == StateUp:
		return s.polling
	}
	return true
}

// reschedule arms or disarms the periodic transmission after a change:
// it starts at once when sending becomes allowed and is pulled in when the
// interval shrank below the time left.
func (s *Session) reschedule(now time.Time) {
	if !s.maySend() {
		s.nextTx = time.Time{}
		return
	}
	iv := s.TxInterval()
	switch {
	case s.nextTx.IsZero():
		s.nextTx = now
	case s.nextTx.Sub(now) > iv:
		s.nextTx = now.Add(s.jitter(iv))
	}
}

// jitter returns iv reduced by 0–25 % at random, by 10–25 % when Detect
// Mult is 1 (section 6.8.7).
func (s *Session) jitter(iv time.Duration) time.Duration {
	spread := iv / 4
	if s.cfg.DetectMult == 1 {
		spread = iv * 15 / 100
	}
	return iv*3/4 + time.Duration(s.rnd.Int64N(int64(spread)+1))
}

// packet builds the Control packet to send now; final answers a Poll.
func (s *Session) packet(final bool) Control {
	return Control{
		Diag:          s.localDiag,
		State:         s.state,
		Poll:          s.polling && !final,
		Final:         final,
		DetectMult:    s.cfg.DetectMult,
		Length:        HeaderLen,
		MyDiscr:       s.localDiscr,
		YourDiscr:     s.remoteDiscr,
		DesiredMinTx:  s.desiredTx,
		RequiredMinRx: s.requiredRx,
	}
}
