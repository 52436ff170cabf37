package bfd_test

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/lbd-project/lbd/bfd"
	"github.com/lbd-project/lbd/bfd/bfdtest"
)

var (
	addrA = netip.MustParseAddr("192.0.2.1")
	addrB = netip.MustParseAddr("192.0.2.2")
	addrC = netip.MustParseAddr("192.0.2.3")
	quiet = slog.New(slog.DiscardHandler)
)

// fakeNet is managers on one bfdtest link and clock.
type fakeNet struct {
	t    *testing.T
	link *bfdtest.Link
	clk  *bfdtest.Clock
}

func newFakeNet(t *testing.T) *fakeNet {
	return &fakeNet{t: t, link: bfdtest.NewLink(), clk: bfdtest.NewClock()}
}

func (f *fakeNet) manager(addr netip.Addr, seed uint64) (*bfd.Manager, *bfdtest.Conn, context.CancelFunc) {
	conn := f.link.Conn(addr)
	m := bfd.NewManager(bfd.ManagerConfig{Conn: conn, Clock: f.clk, Logger: quiet, Rand: rand.New(rand.NewPCG(seed, seed))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	f.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			f.t.Errorf("Run: %v", err)
		}
	})
	return m, conn, cancel
}

// settle gives the managers' goroutines a moment to react.
func settle() { time.Sleep(time.Millisecond) }

// advance moves the fake time in 5 ms steps until cond holds or limit has
// passed, and returns the fake time it took.
func (f *fakeNet) advance(limit time.Duration, what string, cond func() bool) time.Duration {
	f.t.Helper()
	start := f.clk.Now()
	for !cond() {
		if f.clk.Now().Sub(start) >= limit {
			f.t.Fatalf("not %s after %v", what, limit)
		}
		f.clk.Advance(5*time.Millisecond, settle)
		settle()
	}
	return f.clk.Now().Sub(start)
}

func isState(h *bfd.Handle, want bfd.State) func() bool {
	return func() bool { s, _ := h.State(); return s == want }
}

// wait lets d of fake time pass.
func (f *fakeNet) wait(d time.Duration) {
	for end := f.clk.Now().Add(d); f.clk.Now().Before(end); {
		f.clk.Advance(5*time.Millisecond, settle)
		settle()
	}
}

func sessionStats(t *testing.T, m *bfd.Manager) bfd.SessionStats {
	t.Helper()
	st, err := m.Stats()
	if err != nil || len(st.Sessions) != 1 {
		t.Fatalf("stats %+v, %v", st, err)
	}
	return st.Sessions[0]
}

func TestManagerPair(t *testing.T) {
	f := newFakeNet(t)
	ma, _, _ := f.manager(addrA, 1)
	mb, _, stopB := f.manager(addrB, 2)
	ha, err := ma.Add(bfd.SessionConfig{Local: addrA, Peer: addrB})
	if err != nil {
		t.Fatal(err)
	}
	hb, err := mb.Add(bfd.SessionConfig{Local: addrB, Peer: addrA, Passive: true})
	if err != nil {
		t.Fatal(err)
	}
	changes, _ := ha.Subscribe()
	if _, err := ma.Add(bfd.SessionConfig{Local: addrA, Peer: addrB}); err == nil {
		t.Error("a second session on the same path was accepted")
	}
	f.advance(time.Second, "Up", func() bool { return isState(ha, bfd.StateUp)() && isState(hb, bfd.StateUp)() })
	f.wait(2 * time.Second)
	st := sessionStats(t, ma)
	if st.State != bfd.StateUp || st.DetectionTime != 300*time.Millisecond ||
		st.TxInterval != 100*time.Millisecond || st.Received < 18 || st.Sent < 18 {
		t.Errorf("a's session after 2 s Up: %+v", st)
	}

	// the link dies: both go Down within the detection time, diag 1
	f.link.Cut(true)
	took := f.advance(time.Second, "Down", func() bool { return isState(ha, bfd.StateDown)() && isState(hb, bfd.StateDown)() })
	if took > 300*time.Millisecond+5*time.Millisecond {
		t.Errorf("Down after %v, detection time 300ms", took)
	}
	for _, h := range []*bfd.Handle{ha, hb} {
		if _, d := h.State(); d != bfd.DiagControlExpired {
			t.Errorf("diag %v, want %v", d, bfd.DiagControlExpired)
		}
	}
	for _, want := range []bfd.Change{{From: bfd.StateDown, To: bfd.StateUp}, {From: bfd.StateUp, To: bfd.StateDown, Diag: bfd.DiagControlExpired}} {
		select {
		case c := <-changes:
			if c.From != want.From || c.To != want.To || c.Diag != want.Diag {
				t.Errorf("change %+v, want %+v", c, want)
			}
		default:
			t.Errorf("no change %+v", want)
		}
	}

	// healed, then b's manager stops: it says AdminDown, a goes Down at
	// once with diag 3
	f.link.Cut(false)
	f.advance(3*time.Second, "Up again", func() bool { return isState(ha, bfd.StateUp)() && isState(hb, bfd.StateUp)() })
	bch, _ := hb.Subscribe()
	stopB()
	f.advance(20*time.Millisecond, "Down on AdminDown", isState(ha, bfd.StateDown))
	if _, d := ha.State(); d != bfd.DiagNeighborDown {
		t.Errorf("diag %v, want %v", d, bfd.DiagNeighborDown)
	}
	var last bfd.Change
	for c := range bch {
		last = c
	}
	if last.To != bfd.StateAdminDown || last.Diag != bfd.DiagAdminDown {
		t.Errorf("b's last change %+v, want AdminDown", last)
	}
	if _, err := mb.Add(bfd.SessionConfig{Peer: addrA}); err != bfd.ErrClosed {
		t.Errorf("Add on a stopped manager: %v", err)
	}
}

func TestManagerAddRemove(t *testing.T) {
	f := newFakeNet(t)
	ma, _, _ := f.manager(addrA, 1)
	mb, _, _ := f.manager(addrB, 2)
	mc, _, _ := f.manager(addrC, 3)
	hab, _ := ma.Add(bfd.SessionConfig{Local: addrA, Peer: addrB})
	hac, _ := ma.Add(bfd.SessionConfig{Local: addrA, Peer: addrC})
	hb, _ := mb.Add(bfd.SessionConfig{Local: addrB, Peer: addrA})
	hc, _ := mc.Add(bfd.SessionConfig{Local: addrC, Peer: addrA})
	f.advance(time.Second, "Up", func() bool {
		return isState(hab, bfd.StateUp)() && isState(hac, bfd.StateUp)() && isState(hb, bfd.StateUp)() && isState(hc, bfd.StateUp)()
	})
	abChanges, _ := hab.Subscribe()
	// a reload drops peer c: c hears AdminDown, b's session is untouched
	if err := ma.Remove(hac); err != nil {
		t.Fatal(err)
	}
	if err := ma.Remove(hac); err == nil {
		t.Error("removed twice")
	}
	f.advance(20*time.Millisecond, "c Down", isState(hc, bfd.StateDown))
	f.wait(time.Second)
	select {
	case c := <-abChanges:
		t.Errorf("untouched session changed: %+v", c)
	default:
	}
	// a timer change keeps the session Up (Poll Sequence)
	before := sessionStats(t, ma)
	if err := ma.SetTimers(hab, 50*time.Millisecond, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	f.wait(time.Second)
	st := sessionStats(t, ma)
	if st.State != bfd.StateUp || st.StateChanges != before.StateChanges || st.DetectionTime != 600*time.Millisecond || st.TxInterval != 100*time.Millisecond {
		t.Errorf("after SetTimers: %+v", st)
	}
	if err := ma.SetTimers(hab, time.Microsecond, time.Second); err == nil {
		t.Error("SetTimers accepted 1µs")
	}
}

func TestManagerMaxSessions(t *testing.T) {
	f := newFakeNet(t)
	conn := f.link.Conn(addrA)
	m := bfd.NewManager(bfd.ManagerConfig{Conn: conn, Clock: f.clk, Logger: quiet, MaxSessions: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx)
	if _, err := m.Add(bfd.SessionConfig{Peer: addrB}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Add(bfd.SessionConfig{Peer: addrC}); err == nil {
		t.Error("a session over MaxSessions was accepted")
	}
	if _, err := m.Add(bfd.SessionConfig{}); err == nil {
		t.Error("a session without peer was accepted")
	}
}

// TestManagerHostile feeds a running Manager every kind of bad packet:
// each is counted under its reason and the Up session stays Up.
func TestManagerHostile(t *testing.T) {
	f := newFakeNet(t)
	ma, conn, _ := f.manager(addrA, 1)
	mb, _, _ := f.manager(addrB, 2)
	ha, _ := ma.Add(bfd.SessionConfig{Local: addrA, Peer: addrB})
	hb, _ := mb.Add(bfd.SessionConfig{Local: addrB, Peer: addrA})
	f.advance(time.Second, "Up", func() bool { return isState(ha, bfd.StateUp)() && isState(hb, bfd.StateUp)() })
	changes, _ := ha.Subscribe()
	st := sessionStats(t, ma)

	down := func(b []byte) { b[1] = byte(bfd.StateDown) << 6 }
	pkt := func(edit func(b []byte)) []byte {
		c := bfd.Control{State: bfd.StateDown, DetectMult: 3, MyDiscr: st.RemoteDiscr, YourDiscr: st.LocalDiscr,
			DesiredMinTx: time.Second, RequiredMinRx: time.Second}
		b := c.Marshal(nil)
		edit(b)
		return b
	}
	from := func(src netip.Addr, ttl int) bfd.PacketInfo { return bfd.PacketInfo{Src: src, Dst: addrA, TTL: ttl} }
	peer := from(addrB, 255)
	for _, tc := range []struct {
		b      []byte
		info   bfd.PacketInfo
		reason bfd.DropReason
	}{
		{pkt(down), from(addrB, 254), bfd.ReasonTTL},
		{pkt(down), from(addrB, -1), bfd.ReasonTTL},
		{pkt(func(b []byte) { b[0] = 0x40 }), peer, bfd.ReasonVersion},
		{pkt(func(b []byte) { b[3] = 20 }), peer, bfd.ReasonLength},
		{pkt(func(b []byte) { b[3] = 40 }), peer, bfd.ReasonLength},
		{append(pkt(func(b []byte) { b[1] |= 0x04; b[3] = 28 }), 1, 4, 1, 'x'), peer, bfd.ReasonAuth},
		{pkt(func(b []byte) { b[2] = 0 }), peer, bfd.ReasonDetectMult},
		{pkt(func(b []byte) { b[1] |= 0x01 }), peer, bfd.ReasonMultipoint},
		{pkt(func(b []byte) { copy(b[4:8], make([]byte, 4)) }), peer, bfd.ReasonMyDiscr},
		{pkt(func(b []byte) { copy(b[8:12], make([]byte, 4)); b[1] = byte(bfd.StateUp) << 6 }), peer, bfd.ReasonYourDiscr},
		{pkt(func(b []byte) { b[8]++ }), peer, bfd.ReasonUnknownDiscr},
		{pkt(func(b []byte) { copy(b[8:12], make([]byte, 4)) }), from(addrC, 255), bfd.ReasonNoSession},
		{pkt(func([]byte) {}), from(addrC, 255), bfd.ReasonPeer},
	} {
		before, _ := ma.Stats()
		conn.Inject(tc.b, tc.info)
		f.advance(50*time.Millisecond, "counted as "+tc.reason.String(), func() bool {
			after, _ := ma.Stats()
			return after.Drops[tc.reason] == before.Drops[tc.reason]+1
		})
	}
	after, _ := ma.Stats()
	var total uint64
	for _, n := range after.Drops {
		total += n
	}
	if total != 13 {
		t.Errorf("drops %v, want 13 in all", after.Drops)
	}
	f.wait(time.Second)
	select {
	case c := <-changes:
		t.Errorf("session changed under hostile input: %+v", c)
	default:
	}
}
