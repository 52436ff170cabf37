package vrrp

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/lab"
)

// hub is an in-memory link: what one fakeConn sends to the multicast
// group reaches every other conn, what it sends to an address reaches the
// conn with that source.
type hub struct {
	mu    sync.Mutex
	conns []*fakeConn
}

type fakeConn struct {
	h    *hub
	src  netip.Addr
	in   chan Packet
	once sync.Once
	done chan struct{}
}

func (h *hub) conn(src string) *fakeConn {
	c := &fakeConn{h: h, src: netip.MustParseAddr(src), in: make(chan Packet, 256), done: make(chan struct{})}
	h.mu.Lock()
	h.conns = append(h.conns, c)
	h.mu.Unlock()
	return c
}

// inject delivers a packet as if it came from the wire.
func (h *hub) inject(p Packet) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.conns {
		if p.Dst.IsMulticast() || p.Dst == c.src {
			c.deliver(p)
		}
	}
}

func (c *fakeConn) deliver(p Packet) {
	select {
	case <-c.done:
	case c.in <- p:
	default: // full: dropped like a socket buffer would
	}
}

func (c *fakeConn) Send(msg []byte, dst netip.Addr) error {
	select {
	case <-c.done:
		return net.ErrClosed
	default:
	}
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	for _, o := range c.h.conns {
		if o != c && (dst.IsMulticast() || dst == o.src) {
			o.deliver(Packet{Src: c.src, Dst: dst, TTL: TTL, Payload: append([]byte(nil), msg...)})
		}
	}
	return nil
}

func (c *fakeConn) Receive() (Packet, error) {
	select {
	case <-c.done:
		return Packet{}, net.ErrClosed
	case p := <-c.in:
		return p, nil
	}
}

func (c *fakeConn) Close() error {
	c.once.Do(func() { close(c.done) })
	return nil
}

// fakeVIPs records the installed addresses.
type fakeVIPs struct {
	mu   sync.Mutex
	have map[netip.Addr]VIP
}

func newFakeVIPs() *fakeVIPs { return &fakeVIPs{have: map[netip.Addr]VIP{}} }

func (f *fakeVIPs) AddVIP(v VIP) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.have[v.Addr()] = v
	return nil
}

func (f *fakeVIPs) RemoveVIP(v VIP) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.have[v.Addr()]
	delete(f.have, v.Addr())
	return ok, nil
}

func (f *fakeVIPs) HasVIP(v VIP) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.have[v.Addr()]
	return ok, nil
}

func (f *fakeVIPs) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.have)
}

// fakeAnnouncer counts announcement rounds with their time.
type fakeAnnouncer struct {
	mu    sync.Mutex
	times []time.Time
}

func (f *fakeAnnouncer) Announce([]netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.times = append(f.times, time.Now())
	return nil
}

func (f *fakeAnnouncer) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.times)
}

type testNode struct {
	r      *Runner
	vips   *fakeVIPs
	ann    *fakeAnnouncer
	notes  chan Notification
	cancel context.CancelFunc
}

var runVIP = netip.MustParseAddr("192.0.2.100")

func startNode(t *testing.T, h *hub, src string, prio uint8, iv time.Duration, garp GARPConfig) *testNode {
	t.Helper()
	inst, err := NewInstance(Config{Name: "VI_" + src, Version: Version3, VRID: 51, Priority: prio,
		AdvertInterval: iv, Primary: netip.MustParseAddr(src), VIPs: []netip.Addr{runVIP}})
	if err != nil {
		t.Fatal(err)
	}
	n := &testNode{vips: newFakeVIPs(), ann: &fakeAnnouncer{}, notes: make(chan Notification, 64)}
	n.r, err = NewRunner(inst, RunnerConfig{
		Conn: h.conn(src), VIPManager: n.vips, Announcer: n.ann, GARP: garp,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo})),
		Notifier: NotifyFunc(func(x Notification) {
			select {
			case n.notes <- x:
			default:
			}
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go n.r.Run(ctx)
	t.Cleanup(func() { n.stop(t) })
	return n
}

func (n *testNode) stop(t *testing.T) {
	n.cancel()
	select {
	case <-n.r.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("runner did not stop within 5s")
	}
}

// waitFor polls cond every 2ms for at most d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	lab.WaitFor(t, d, 2*time.Millisecond, what, cond)
}

func TestRunnerElectionAndShutdown(t *testing.T) {
	h := &hub{}
	iv := 20 * time.Millisecond
	a := startNode(t, h, "192.0.2.1", 200, iv, GARPConfig{Delay: -1, Refresh: -1})
	b := startNode(t, h, "192.0.2.2", 100, iv, GARPConfig{Delay: -1, Refresh: -1})
	waitFor(t, 2*time.Second, "a Master, b Backup", func() bool {
		return a.r.State() == StateMaster && b.r.State() == StateBackup
	})
	if a.vips.count() != 1 || b.vips.count() != 0 {
		t.Fatalf("VIPs: master holds %d, backup %d; want 1, 0", a.vips.count(), b.vips.count())
	}
	if got := a.ann.count(); got != DefaultGARPRepeat {
		t.Errorf("master announced %d times, want one burst of %d", got, DefaultGARPRepeat)
	}
	// Priority 0 on shutdown: b takes over after Skew_Time, well before
	// Master_Down_Interval.
	start := time.Now()
	a.stop(t)
	waitFor(t, 2*time.Second, "b Master", func() bool { return b.r.State() == StateMaster })
	if d := time.Since(start); d >= MasterDownInterval(Version3, 100, iv) {
		t.Errorf("takeover after priority 0 took %v, want less than the down interval", d)
	}
	if a.vips.count() != 0 || b.vips.count() != 1 {
		t.Fatalf("after shutdown VIPs: old master %d, new master %d", a.vips.count(), b.vips.count())
	}
	if s := a.r.Stats(); s.AdvertsSent == 0 || s.Transitions < 3 {
		t.Errorf("stats of a: %+v", s)
	}
}

func TestRunnerGARPBurstsAndRefresh(t *testing.T) {
	h := &hub{}
	n := startNode(t, h, "192.0.2.1", 255, 10*time.Millisecond,
		GARPConfig{Delay: 60 * time.Millisecond, Repeat: 3, Refresh: 150 * time.Millisecond, RefreshRepeat: 2})
	waitFor(t, time.Second, "master", func() bool { return n.r.State() == StateMaster })
	waitFor(t, time.Second, "first burst", func() bool { return n.ann.count() >= 3 })
	waitFor(t, time.Second, "second burst", func() bool { return n.ann.count() >= 6 })
	n.ann.mu.Lock()
	gap := n.ann.times[3].Sub(n.ann.times[0])
	n.ann.mu.Unlock()
	if gap < 50*time.Millisecond {
		t.Errorf("second burst %v after the first, want about 60ms", gap)
	}
	// An address removed behind our back comes back at the refresh.
	n.vips.RemoveVIP(VIP{Prefix: netip.PrefixFrom(runVIP, 32)})
	waitFor(t, time.Second, "refresh burst", func() bool { return n.ann.count() >= 8 })
	if n.vips.count() != 1 {
		t.Error("refresh did not re-add the removed VIP")
	}
}

func TestRunnerFaultAndRecover(t *testing.T) {
	h := &hub{}
	n := startNode(t, h, "192.0.2.1", 255, 10*time.Millisecond, GARPConfig{})
	waitFor(t, time.Second, "master", func() bool { return n.r.State() == StateMaster })
	ctx := context.Background()
	if err := n.r.Deliver(ctx, Fault{Source: "link down"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, "fault", func() bool { return n.r.State() == StateFault })
	if n.vips.count() != 0 {
		t.Error("VIP kept in Fault")
	}
	n.r.Deliver(ctx, Recover{Source: "link down"})
	waitFor(t, time.Second, "master again", func() bool { return n.r.State() == StateMaster })
	var seen []State
	for len(n.notes) > 0 {
		seen = append(seen, (<-n.notes).Transition.To)
	}
	want := []State{StateMaster, StateFault, StateMaster}
	if len(seen) != len(want) || seen[0] != want[0] || seen[1] != want[1] || seen[2] != want[2] {
		t.Errorf("notifications %v, want %v", seen, want)
	}
	n.stop(t)
	if err := n.r.Deliver(ctx, Fault{Source: "x"}); !errors.Is(err, ErrStopped) {
		t.Errorf("Deliver after stop: %v, want ErrStopped", err)
	}
}

// Hostile packets that would demote the Master if accepted (they claim
// priority 254) are dropped, counted by reason, and change nothing.
func TestRunnerHostilePackets(t *testing.T) {
	h := &hub{}
	n := startNode(t, h, "192.0.2.1", 200, 10*time.Millisecond, GARPConfig{Delay: -1, Refresh: -1})
	waitFor(t, time.Second, "master", func() bool { return n.r.State() == StateMaster })
	evil, group := netip.MustParseAddr("192.0.2.66"), MulticastIPv4
	good := Advert{Version: Version3, VRID: 51, Priority: 254, Interval: 10 * time.Millisecond, Addrs: []netip.Addr{runVIP}}
	mk := func(a Advert) []byte {
		b, err := a.Marshal(evil, group)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	wrongVRID := good
	wrongVRID.VRID = 52
	badSum := mk(good)
	badSum[6] ^= 0xff
	huge := mk(good)
	huge[3] = 255 // 255 addresses claimed, 1 present
	v2 := good
	v2.Version, v2.Interval = Version2, time.Second
	cases := []struct {
		p    Packet
		want DropReason
	}{
		{Packet{TTL: 64, Payload: mk(good)}, ReasonTTL},
		{Packet{TTL: 255, Payload: badSum}, ReasonChecksum},
		{Packet{TTL: 255, Payload: mk(wrongVRID)}, ReasonVRID},
		{Packet{TTL: 255, Payload: mk(good)[:5]}, ReasonTruncated},
		{Packet{TTL: 255, Payload: huge}, ReasonTruncated},
		{Packet{TTL: 255, Payload: append(mk(good), 0, 0, 0, 0)}, ReasonAddrCount},
		{Packet{TTL: 255, Payload: mk(v2)}, ReasonVersion},
		{Packet{TTL: 255, Payload: nil}, ReasonTruncated},
	}
	want := map[DropReason]uint64{}
	for _, c := range cases {
		c.p.Src, c.p.Dst = evil, group
		for range 10 {
			h.inject(c.p)
		}
		want[c.want] += 10
	}
	// Random garbage must not crash or stall the runner.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, rng.IntN(64))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		h.inject(Packet{Src: evil, Dst: group, TTL: 255, Payload: b})
		time.Sleep(0) // let the runner drain
	}
	waitFor(t, 5*time.Second, "drops counted", func() bool {
		d := n.r.Drops()
		for r, w := range want {
			if d[r] < w {
				return false
			}
		}
		return true
	})
	if n.r.State() != StateMaster || n.r.Stats().Transitions != 2 {
		t.Fatalf("state %v after %d transitions; hostile packets changed state", n.r.State(), n.r.Stats().Transitions)
	}
	if n.r.Stats().AdvertsReceived != 0 {
		t.Errorf("accepted %d hostile adverts", n.r.Stats().AdvertsReceived)
	}
	t.Logf("drops: %v", n.r.Drops())
}
