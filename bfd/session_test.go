package bfd

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"
)

var (
	addrA = netip.MustParseAddr("192.0.2.1")
	addrB = netip.MustParseAddr("192.0.2.2")
	t0    = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

// pair is two sessions wired back to back on a simulated clock: every
// packet one sends reaches the other at once unless the wire is cut.
type pair struct {
	t       *testing.T
	now     time.Time
	a, b    *Session
	cut     bool
	changes map[*Session][]Change
	sent    map[*Session][]Control
}

func newPair(t *testing.T, ca, cb SessionConfig) *pair {
	rnd := rand.New(rand.NewPCG(1, 2))
	ca.Local, ca.Peer = addrA, addrB
	cb.Local, cb.Peer = addrB, addrA
	p := &pair{t: t, now: t0, changes: map[*Session][]Change{}, sent: map[*Session][]Control{}}
	p.a = NewSession(ca, 0xa, t0, rnd)
	p.b = NewSession(cb, 0xb, t0, rnd)
	return p
}

func (p *pair) other(s *Session) *Session {
	if s == p.a {
		return p.b
	}
	return p.a
}

// handle records out and delivers its packets, with what they cause.
func (p *pair) handle(s *Session, out Output) {
	if out.Change != nil {
		p.changes[s] = append(p.changes[s], *out.Change)
	}
	for _, c := range out.Send {
		p.sent[s] = append(p.sent[s], c)
		if p.cut {
			continue
		}
		b := c.Marshal(nil)
		back, r := Unmarshal(b)
		if r != ReasonNone {
			p.t.Fatalf("own packet %+v dropped: %v", c, r)
		}
		o := p.other(s)
		p.handle(o, o.Receive(p.now, back))
	}
}

// run moves time from deadline to deadline until cond holds or limit has
// passed; it returns whether cond held.
func (p *pair) run(limit time.Duration, cond func() bool) bool {
	end := p.now.Add(limit)
	for !cond() {
		next := time.Time{}
		for _, s := range []*Session{p.a, p.b} {
			if d := s.Deadline(); !d.IsZero() && (next.IsZero() || d.Before(next)) {
				next = d
			}
		}
		if next.IsZero() || next.After(end) {
			p.now = end
			return cond()
		}
		p.now = next
		for _, s := range []*Session{p.a, p.b} {
			if d := s.Deadline(); !d.IsZero() && !d.After(p.now) {
				p.handle(s, s.Expire(p.now))
			}
		}
	}
	return true
}

func (p *pair) up(limit time.Duration) {
	p.t.Helper()
	if !p.run(limit, func() bool { return p.a.State() == StateUp && p.b.State() == StateUp }) {
		p.t.Fatalf("not both Up after %v: a %v, b %v", limit, p.a.State(), p.b.State())
	}
}

func TestHandshake(t *testing.T) {
	p := newPair(t, SessionConfig{}, SessionConfig{})
	p.up(10 * time.Millisecond)
	// a spoke first (Down), b went Init and answered, a went Up (Down
	// receiving Init), then b (Init receiving Up): the three-way handshake
	for s, want := range map[*Session][]State{p.a: {StateUp}, p.b: {StateInit, StateUp}} {
		var got []State
		for _, c := range p.changes[s] {
			got = append(got, c.To)
		}
		if !slices.Equal(got, want) {
			t.Errorf("discriminator %x went %v, want %v", s.LocalDiscr(), got, want)
		}
	}
	// going Up lowers Desired Min TX from 1 s: a Poll Sequence each
	// (answered at once here, the wire having no delay)
	hasFlag := func(s *Session, f func(Control) bool) bool { return slices.ContainsFunc(p.sent[s], f) }
	if !hasFlag(p.a, func(c Control) bool { return c.Poll && c.State == StateUp }) || !hasFlag(p.b, func(c Control) bool { return c.Final }) {
		t.Error("a did not poll on going Up, or b did not answer")
	}
	if !p.run(time.Second, func() bool { return !p.a.Polling() && !p.b.Polling() }) {
		t.Fatal("poll sequences did not end")
	}
	for _, s := range []*Session{p.a, p.b} {
		if s.TxInterval() != 100*time.Millisecond || s.DetectionTime() != 300*time.Millisecond {
			t.Errorf("tx %v detect %v, want 100ms 300ms", s.TxInterval(), s.DetectionTime())
		}
	}
	// the packets of a session that is not Up advertised at least 1 s
	for _, c := range p.sent[p.a] {
		if c.State != StateUp && c.DesiredMinTx < SlowTxInterval {
			t.Errorf("packet in %v advertises %v", c.State, c.DesiredMinTx)
		}
	}
	// Up stays Up
	if p.run(10*time.Second, func() bool { return p.a.State() != StateUp || p.b.State() != StateUp }) {
		t.Fatalf("flapped: a %v b %v", p.a.State(), p.b.State())
	}
	n := len(p.sent[p.a])
	p.run(time.Second, func() bool { return false })
	if got := len(p.sent[p.a]) - n; got < 10 || got > 14 {
		t.Errorf("sent %d packets in a second at 100 ms with 75-100%% jitter", got)
	}
}

func TestDetectionTimeExpired(t *testing.T) {
	p := newPair(t, SessionConfig{}, SessionConfig{})
	p.up(10 * time.Millisecond)
	p.run(2*time.Second, func() bool { return false })
	p.cut = true
	cut := p.now
	if !p.run(time.Second, func() bool { return p.a.State() != StateUp }) {
		t.Fatal("a still Up a second after the wire was cut")
	}
	took := p.now.Sub(cut)
	// the last packet came at most one interval (100 ms) before the cut
	if took > 300*time.Millisecond || took < 200*time.Millisecond {
		t.Errorf("down after %v, want 200-300 ms", took)
	}
	c := p.changes[p.a][len(p.changes[p.a])-1]
	if c.To != StateDown || c.Diag != DiagControlExpired || p.a.LocalDiag() != DiagControlExpired {
		t.Errorf("change %+v, want Down with diag 1", c)
	}
	// Down, the peer forgotten: packets go out slowly, Your Discriminator 0
	n := len(p.sent[p.a])
	p.run(3*time.Second, func() bool { return false })
	for _, c := range p.sent[p.a][n:] {
		if c.YourDiscr != 0 || c.State != StateDown || c.DesiredMinTx != SlowTxInterval || c.Diag != DiagControlExpired {
			t.Fatalf("after expiry sent %+v", c)
		}
	}
	if got := len(p.sent[p.a]) - n; got < 3 || got > 4 {
		t.Errorf("sent %d packets in 3 s while Down", got)
	}
	// healed: back Up, diag cleared
	p.cut = false
	p.up(3 * time.Second)
	if p.a.LocalDiag() != DiagNone {
		t.Errorf("diag %v after coming back Up", p.a.LocalDiag())
	}
}

func TestNeighborSignalsDown(t *testing.T) {
	p := newPair(t, SessionConfig{}, SessionConfig{})
	p.up(10 * time.Millisecond)
	c, ch := p.b.Shutdown(p.now)
	if ch.To != StateAdminDown || ch.Diag != DiagAdminDown || c.State != StateAdminDown {
		t.Fatalf("shutdown %+v %+v", c, ch)
	}
	p.handle(p.b, Output{Send: []Control{c}})
	got := p.changes[p.a][len(p.changes[p.a])-1]
	if got.To != StateDown || got.Diag != DiagNeighborDown || got.RemoteDiag != DiagAdminDown {
		t.Fatalf("a's change %+v, want Down, diag 3, remote diag 7", got)
	}
	// a session AdminDown is inert
	if !p.b.Deadline().IsZero() || len(p.b.Receive(p.now, Control{State: StateDown, MyDiscr: 0xa, DetectMult: 3}).Send) != 0 {
		t.Error("AdminDown session still runs")
	}

	// a peer that restarts (sends Down) takes an Up session Down too
	p = newPair(t, SessionConfig{}, SessionConfig{})
	p.up(10 * time.Millisecond)
	out := p.a.Receive(p.now, Control{State: StateDown, MyDiscr: 0xb, DetectMult: 3, RequiredMinRx: time.Second, DesiredMinTx: time.Second})
	if out.Change == nil || out.Change.To != StateDown || out.Change.Diag != DiagNeighborDown {
		t.Fatalf("Up receiving Down: %+v", out.Change)
	}
}

func TestPollOnTimerChange(t *testing.T) {
	p := newPair(t, SessionConfig{}, SessionConfig{})
	p.up(10 * time.Millisecond)
	p.run(time.Second, func() bool { return false })
	p.cut = true // hold the answer back to look at the sequence
	p.a.SetTimers(p.now, 200*time.Millisecond, 300*time.Millisecond)
	if !p.a.Polling() {
		t.Fatal("no Poll Sequence after a timer change while Up")
	}
	// slower transmit waits for the Final; slower receive applies at once
	if p.a.TxInterval() != 100*time.Millisecond {
		t.Errorf("tx interval %v before the Final, want 100ms", p.a.TxInterval())
	}
	n := len(p.sent[p.a])
	p.run(150*time.Millisecond, func() bool { return len(p.sent[p.a]) > n })
	if c := p.sent[p.a][n]; !c.Poll || c.DesiredMinTx != 200*time.Millisecond || c.RequiredMinRx != 300*time.Millisecond {
		t.Fatalf("poll packet %+v", c)
	}
	p.cut = false
	if !p.run(300*time.Millisecond, func() bool { return !p.a.Polling() }) {
		t.Fatal("poll not answered")
	}
	var final bool
	for _, c := range p.sent[p.b] {
		if c.Final {
			final = true
			if c.Poll {
				t.Error("F and P both set")
			}
		}
	}
	if !final {
		t.Error("b sent no Final")
	}
	if got := p.a.TxInterval(); got != 200*time.Millisecond {
		t.Errorf("a's tx interval %v after the Final, want 200ms", got)
	}
	p.run(time.Second, func() bool { return false })
	if got := p.b.TxInterval(); got != 300*time.Millisecond {
		t.Errorf("b sends every %v, want a's new Required Min RX 300ms", got)
	}
	if got := p.b.DetectionTime(); got != 600*time.Millisecond {
		t.Errorf("b's detection time %v, want 3 x 200ms", got)
	}
	if got := p.a.DetectionTime(); got != 900*time.Millisecond {
		t.Errorf("a's detection time %v, want 3 x 300ms", got)
	}
	if p.a.State() != StateUp || p.b.State() != StateUp || len(p.changes[p.a]) > 2 {
		t.Errorf("timer change moved the state: %v", p.changes[p.a])
	}
}

func TestPassive(t *testing.T) {
	p := newPair(t, SessionConfig{}, SessionConfig{Passive: true})
	if !p.b.Deadline().IsZero() {
		t.Fatal("passive session armed a transmission before hearing the peer")
	}
	p.up(10 * time.Millisecond)

	p = newPair(t, SessionConfig{Passive: true}, SessionConfig{Passive: true})
	if p.run(10*time.Second, func() bool { return len(p.sent[p.a])+len(p.sent[p.b]) > 0 }) {
		t.Fatal("two passive sessions talked")
	}
}

func TestJitter(t *testing.T) {
	for _, tc := range []struct {
		mult   uint8
		lo, hi time.Duration
	}{{3, 75 * time.Millisecond, 100 * time.Millisecond}, {1, 75 * time.Millisecond, 90 * time.Millisecond}} {
		s := NewSession(SessionConfig{Peer: addrB, DetectMult: tc.mult}, 1, t0, rand.New(rand.NewPCG(3, 4)))
		var lo, hi time.Duration = time.Hour, 0
		for range 10000 {
			d := s.jitter(100 * time.Millisecond)
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo < tc.lo || hi > tc.hi || hi-lo < (tc.hi-tc.lo)*9/10 {
			t.Errorf("mult %d: jitter %v-%v, want %v-%v", tc.mult, lo, hi, tc.lo, tc.hi)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg SessionConfig
		ok  bool
	}{
		{SessionConfig{Peer: addrB}, true},
		{SessionConfig{Peer: netip.MustParseAddr("2001:db8::1"), Local: netip.MustParseAddr("2001:db8::2")}, true},
		{SessionConfig{}, false},
		{SessionConfig{Peer: netip.MustParseAddr("224.0.0.1")}, false},
		{SessionConfig{Peer: netip.MustParseAddr("fe80::1")}, false},
		{SessionConfig{Peer: netip.MustParseAddr("fe80::1"), Interface: "eth0"}, true},
		{SessionConfig{Peer: addrB, Local: netip.MustParseAddr("2001:db8::2")}, false},
		{SessionConfig{Peer: addrB, DesiredMinTx: time.Microsecond}, false},
		{SessionConfig{Peer: addrB, RequiredMinRx: 2 * MaxInterval}, false},
	} {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: %v", tc.cfg, err)
		}
	}
}
