package vrrp_test

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/lab"
	. "github.com/lbd-project/lbd/vrrp"
	"github.com/lbd-project/lbd/vrrp/vrrptest"
)

var runVIP = netip.MustParseAddr("192.0.2.100")

// testNode is one runner of one instance on a vrrptest host.
type testNode struct {
	r      *Runner
	host   *vrrptest.Host
	cancel context.CancelFunc

	mu    sync.Mutex
	notes []Notification
}

// nodeOpts are the settings tests vary.
type nodeOpts struct {
	src      string
	prio     uint8
	interval time.Duration
	garp     GARPConfig
	clock    Clock
	fast     FastTakeover
	peers    []netip.Addr
	bfd      func() (BFDSessions, error)
	routes   []Route
	rules    []Rule
	group    netip.Addr
}

func startNode(t *testing.T, hub *vrrptest.Hub, o nodeOpts) *testNode {
	t.Helper()
	primary := netip.MustParseAddr(o.src)
	n := &testNode{host: vrrptest.NewHost(hub, primary)}
	var err error
	n.r, err = NewRunner(RunnerConfig{
		Members: []MemberConfig{{
			Interface: "eth0",
			Config: Config{Name: "VI_" + o.src, Version: Version3, VRID: 51, Priority: o.prio,
				AdvertInterval: o.interval, VIPs: []netip.Addr{runVIP}},
			VIPs:         []VIP{{Prefix: netip.PrefixFrom(runVIP, 32), Dev: "eth0"}},
			GARP:         o.garp,
			FastTakeover: o.fast,
			Peers:        o.peers,
			Routes:       o.routes,
			Rules:        o.rules,
			Group:        o.group,
		}},
		BFD:    o.bfd,
		Host:   n.host,
		Clock:  o.clock,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo})).With("node", o.src),
		OnTransition: func(x Notification) {
			n.mu.Lock()
			n.notes = append(n.notes, x)
			n.mu.Unlock()
		},
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

func (n *testNode) state() State { return n.r.Stats()[0].State }

func (n *testNode) stats() InstanceStats { return n.r.Stats()[0] }

func (n *testNode) states() []State {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []State
	for _, x := range n.notes {
		out = append(out, x.Transition.To)
	}
	return out
}

func (n *testNode) stop(t *testing.T) {
	n.cancel()
	n.r.Abort() // a test that wants the handover waits for it itself
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

// settle gives the runner goroutines a moment to act on a fake timer.
func settle() { time.Sleep(time.Millisecond) }

// advanceInTicks moves clk by d in steps of the handover wait's tick, so
// that the wait looks at its deadlines as it would in real time.
func advanceInTicks(clk *vrrptest.Clock, d time.Duration) {
	for step := 5 * time.Millisecond; d > 0; d -= step {
		clk.Advance(min(step, d), settle)
	}
}

// handOver asks r to hand over and returns where its answer will come.
func handOver(r *Runner) <-chan error {
	errc := make(chan error, 1)
	go func() {
		_, err := r.Handover(context.Background(), false)
		errc <- err
	}()
	return errc
}

// waitPriorityZero waits until tap has carried an advert with priority 0.
func waitPriorityZero(t *testing.T, tap <-chan Packet) {
	t.Helper()
	waitFor(t, time.Second, "priority-0 advert", func() bool {
		for {
			select {
			case p := <-tap:
				if len(p.Payload) > 2 && p.Payload[2] == PriorityStop {
					return true
				}
			default:
				return false
			}
		}
	})
}

func TestRunnerElectionAndShutdown(t *testing.T) {
	hub := vrrptest.NewHub()
	iv := 20 * time.Millisecond
	off := GARPConfig{Delay: -1, Refresh: -1}
	a := startNode(t, hub, nodeOpts{src: "192.0.2.1", prio: 200, interval: iv, garp: off})
	b := startNode(t, hub, nodeOpts{src: "192.0.2.2", prio: 100, interval: iv, garp: off})
	waitFor(t, 2*time.Second, "a Master, b Backup", func() bool {
		return a.state() == StateMaster && b.state() == StateBackup
	})
	if a.host.VIPs.Count() != 1 || b.host.VIPs.Count() != 0 {
		t.Fatalf("VIPs: master holds %d, backup %d; want 1, 0", a.host.VIPs.Count(), b.host.VIPs.Count())
	}
	// Status shows whom the Backup follows; the Master follows no one.
	waitFor(t, time.Second, "b following a", func() bool { return b.stats().Master.String() == "192.0.2.1" })
	if m := a.stats().Master; m.IsValid() {
		t.Errorf("the Master reports master %v", m)
	}
	if got := a.host.Announcer.Rounds(); got != DefaultGARPRepeat {
		t.Errorf("master announced %d times, want one burst of %d", got, DefaultGARPRepeat)
	}
	// Priority 0 on shutdown: b takes over after Skew_Time, well before
	// Master_Down_Interval, and a keeps the address until it hears b.
	start := time.Now()
	a.cancel()
	waitFor(t, 2*time.Second, "b Master", func() bool { return b.state() == StateMaster })
	if d := time.Since(start); d >= MasterDownInterval(Version3, 100, iv) {
		t.Errorf("takeover after priority 0 took %v, want less than the down interval", d)
	}
	<-a.r.Done()
	if a.host.VIPs.Count() != 0 || b.host.VIPs.Count() != 1 {
		t.Fatalf("after shutdown VIPs: old master %d, new master %d", a.host.VIPs.Count(), b.host.VIPs.Count())
	}
	if s := a.stats(); s.AdvertsSent == 0 || s.Transitions < 3 || s.State != StateInit {
		t.Errorf("stats of a: %+v", s)
	}
}

// On a fake clock, a Backup takes over exactly when Master_Down_Interval
// has passed since the Master's last advert, not before.
func TestRunnerMasterDownInterval(t *testing.T) {
	hub, clk := vrrptest.NewHub(), vrrptest.NewClock()
	iv := time.Second
	n := startNode(t, hub, nodeOpts{src: "192.0.2.2", prio: 100, interval: iv, clock: clk, garp: GARPConfig{Delay: -1, Refresh: -1}})
	master := netip.MustParseAddr("192.0.2.9")
	advert := func() {
		b, err := (&Advert{Version: Version3, VRID: 51, Priority: 200, Interval: iv, Addrs: []netip.Addr{runVIP}}).Marshal(master, MulticastIPv4)
		if err != nil {
			t.Fatal(err)
		}
		received := n.stats().AdvertsReceived
		hub.Inject(Packet{Src: master, Dst: MulticastIPv4, TTL: 255, Payload: b})
		waitFor(t, time.Second, "advert taken", func() bool { return n.stats().AdvertsReceived > received })
	}
	waitFor(t, time.Second, "backup", func() bool { return n.state() == StateBackup })
	for range 5 {
		advert()
		clk.Advance(iv, settle)
	}
	advert()
	down := MasterDownInterval(Version3, 100, iv)
	clk.Advance(down-10*time.Millisecond, settle)
	time.Sleep(10 * time.Millisecond)
	if s := n.state(); s != StateBackup {
		t.Fatalf("state %v before the master-down interval", s)
	}
	clk.Advance(20*time.Millisecond, settle)
	waitFor(t, time.Second, "master", func() bool { return n.state() == StateMaster })
	if n.host.VIPs.Count() != 1 {
		t.Error("no address after the takeover")
	}
}

// A handover with no other router: after the handover timeout the
// instance stays Master, keeps its addresses and gets its priority back.
func TestRunnerHandoverWithoutBackup(t *testing.T) {
	hub, clk := vrrptest.NewHub(), vrrptest.NewClock()
	iv := time.Second
	n := startNode(t, hub, nodeOpts{src: "192.0.2.1", prio: 200, interval: iv, clock: clk, garp: GARPConfig{Delay: -1, Refresh: -1}})
	waitFor(t, time.Second, "backup", func() bool { return n.state() == StateBackup })
	clk.Advance(MasterDownInterval(Version3, 200, iv), settle)
	waitFor(t, time.Second, "master", func() bool { return n.state() == StateMaster })
	tap := hub.Tap(1024)
	errc := handOver(n.r)
	waitPriorityZero(t, tap)
	clk.Advance(4*iv, settle)
	select {
	case err := <-errc:
		t.Fatalf("handover ended before its timeout: %v", err)
	default:
	}
	if n.host.VIPs.Count() != 1 {
		t.Fatal("addresses released while no new master was heard")
	}
	clk.Advance(200*time.Millisecond, settle)
	select {
	case err := <-errc:
		if !errors.Is(err, ErrNoTakeover) {
			t.Fatalf("handover: %v, want ErrNoTakeover", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("handover did not time out")
	}
	if s := n.stats(); s.State != StateMaster || s.Priority != 200 || n.host.VIPs.Count() != 1 {
		t.Errorf("after a handover nobody took: %+v, %d VIPs", s, n.host.VIPs.Count())
	}
}

// A Master handing over keeps its addresses after hearing the new
// Master's advert until it sees the new Master's gratuitous ARP (then
// HandoverLinger more), or HandoverAnnounceWait when none comes: the new
// Master adds its addresses between the two, and a neighbour that has not
// heard the announcement still sends to the old Master.
func TestRunnerHandoverWaitsForAnnouncement(t *testing.T) {
	iv := time.Second
	off := GARPConfig{Delay: -1, Refresh: -1}
	// takenOver elects a, mutes b's announcements, asks a to hand over
	// and lets b take over; it returns when a has heard b's first advert.
	takenOver := func(t *testing.T) (a, b *testNode, clk *vrrptest.Clock, errc <-chan error) {
		hub := vrrptest.NewHub()
		clk = vrrptest.NewClock()
		a = startNode(t, hub, nodeOpts{src: "192.0.2.1", prio: 200, interval: iv, clock: clk, garp: off})
		b = startNode(t, hub, nodeOpts{src: "192.0.2.2", prio: 100, interval: iv, clock: clk, garp: off})
		waitFor(t, time.Second, "both started", func() bool { return a.state() == StateBackup && b.state() == StateBackup })
		for range 5 {
			if a.state() == StateMaster && b.state() == StateBackup {
				break
			}
			clk.Advance(iv, settle)
		}
		waitFor(t, time.Second, "a Master, b Backup", func() bool { return a.state() == StateMaster && b.state() == StateBackup })
		b.host.Announcer.Mute(true)
		errc = handOver(a.r)
		waitFor(t, time.Second, "a handing over", func() bool { return a.stats().Priority == 1 })
		settle()
		clk.Advance(SkewTime(Version3, 100, iv)+time.Millisecond, settle)
		waitFor(t, time.Second, "b Master, a Backup", func() bool { return b.state() == StateMaster && a.state() == StateBackup })
		return a, b, clk, errc
	}
	released := func(t *testing.T, a *testNode, errc <-chan error) {
		t.Helper()
		waitFor(t, time.Second, "a released its addresses", func() bool { return a.host.VIPs.Count() == 0 })
		if err := <-errc; err != nil {
			t.Errorf("handover: %v", err)
		}
	}

	t.Run("announced late", func(t *testing.T) {
		a, b, clk, errc := takenOver(t)
		advanceInTicks(clk, 4*HandoverLinger)
		if a.host.VIPs.Count() != 1 {
			t.Fatalf("a let its addresses go %v after the new master's advert, before its gratuitous ARP", 4*HandoverLinger)
		}
		b.host.Announcer.Mute(false)
		b.host.Announcer.Announce([]netip.Addr{runVIP})
		time.Sleep(10 * time.Millisecond) // a's loop takes the announcement
		advanceInTicks(clk, HandoverLinger-10*time.Millisecond)
		if a.host.VIPs.Count() != 1 {
			t.Fatal("a let its addresses go before HandoverLinger after the gratuitous ARP")
		}
		advanceInTicks(clk, 20*time.Millisecond)
		released(t, a, errc)
		if b.host.VIPs.Count() != 1 {
			t.Error("the new master holds no address")
		}
	})

	// The new master is heard just before the handover's deadline (it was
	// still starting when the handover began): the deadline does not cut
	// the wait for its announcement short.
	t.Run("heard near the deadline", func(t *testing.T) {
		const iv = 500 * time.Millisecond
		hub, clk := vrrptest.NewHub(), vrrptest.NewClock()
		a := startNode(t, hub, nodeOpts{src: "192.0.2.1", prio: 200, interval: iv, clock: clk, garp: off})
		waitFor(t, time.Second, "a Backup", func() bool { return a.state() == StateBackup })
		clk.Advance(MasterDownInterval(Version3, 200, iv), settle)
		waitFor(t, time.Second, "a Master", func() bool { return a.state() == StateMaster })
		errc := handOver(a.r)
		waitFor(t, time.Second, "a handing over", func() bool { return a.stats().Priority == 1 })
		// a's deadline is 4 intervals + 100 ms away; b starts after a's
		// second repeated priority-0 advert, hears the third (at 3
		// intervals) and takes over Skew_Time later.
		advanceInTicks(clk, 2*iv+iv/2)
		b := startNode(t, hub, nodeOpts{src: "192.0.2.2", prio: 100, interval: iv, clock: clk, garp: off})
		b.host.Announcer.Mute(true)
		waitFor(t, time.Second, "b Backup", func() bool { return b.state() == StateBackup })
		advanceInTicks(clk, iv/2+SkewTime(Version3, 100, iv)+5*time.Millisecond)
		waitFor(t, time.Second, "b Master, a Backup", func() bool { return b.state() == StateMaster && a.state() == StateBackup })
		heard := clk.Now()
		deadline := heard.Add(4*iv + 100*time.Millisecond - 3*iv - SkewTime(Version3, 100, iv) - 5*time.Millisecond)
		advanceInTicks(clk, deadline.Sub(clk.Now())+50*time.Millisecond)
		if a.host.VIPs.Count() != 1 {
			t.Fatalf("a let its addresses go at the handover deadline, %v after hearing b, before HandoverAnnounceWait", clk.Now().Sub(heard))
		}
		advanceInTicks(clk, heard.Add(HandoverAnnounceWait+20*time.Millisecond).Sub(clk.Now()))
		released(t, a, errc)
	})

	t.Run("never announced", func(t *testing.T) {
		a, _, clk, errc := takenOver(t)
		advanceInTicks(clk, HandoverAnnounceWait-10*time.Millisecond)
		if a.host.VIPs.Count() != 1 {
			t.Fatal("a let its addresses go before HandoverAnnounceWait without a gratuitous ARP")
		}
		advanceInTicks(clk, 20*time.Millisecond)
		released(t, a, errc)
	})
}

// Fast takeover: a Backup whose Master stops answering pings takes over
// after Skew_Time, long before Master_Down_Interval.
func TestRunnerFastTakeover(t *testing.T) {
	hub, clk := vrrptest.NewHub(), vrrptest.NewClock()
	iv := time.Second
	off := GARPConfig{Delay: -1, Refresh: -1}
	ft := FastTakeover{Interval: 100 * time.Millisecond, Misses: 3}
	a := startNode(t, hub, nodeOpts{src: "192.0.2.1", prio: 200, interval: iv, clock: clk, garp: off})
	b := startNode(t, hub, nodeOpts{src: "192.0.2.2", prio: 100, interval: iv, clock: clk, garp: off, fast: ft})
	waitFor(t, time.Second, "both started", func() bool { return a.state() == StateBackup && b.state() == StateBackup })
	for range 5 {
		clk.Advance(iv, settle)
		if a.state() == StateMaster && b.state() == StateBackup {
			break
		}
	}
	waitFor(t, time.Second, "a Master, b Backup", func() bool { return a.state() == StateMaster && b.state() == StateBackup })
	clk.Advance(iv, settle) // b hears an advert, follows a and arms its prober
	// a's host dies: no more adverts, no more echo replies.
	a.cancel()
	a.r.Abort()
	<-a.r.Done()
	b.host.SetReachable(netip.MustParseAddr("192.0.2.1"), false)
	start := clk.Now()
	for b.state() != StateMaster && clk.Now().Sub(start) < 3*iv {
		clk.Advance(10*time.Millisecond, settle)
	}
	took := clk.Now().Sub(start)
	if b.state() != StateMaster {
		t.Fatal("backup did not take over")
	}
	// The priority-0 advert of a's shutdown also makes b take over after
	// Skew_Time; what must not happen is waiting for the down interval.
	if took >= MasterDownInterval(Version3, 100, iv)-iv {
		t.Errorf("took over after %v", took)
	}
}

func TestRunnerGARPBurstsAndRefresh(t *testing.T) {
	hub, clk := vrrptest.NewHub(), vrrptest.NewClock()
	n := startNode(t, hub, nodeOpts{src: "192.0.2.1", prio: 255, interval: time.Second, clock: clk,
		garp: GARPConfig{Delay: 5 * time.Second, Repeat: 3, Refresh: 60 * time.Second, RefreshRepeat: 2}})
	waitFor(t, time.Second, "master", func() bool { return n.state() == StateMaster })
	rounds := n.host.Announcer.Rounds
	if got := rounds(); got != 3 {
		t.Fatalf("%d announcements on becoming master, want 3", got)
	}
	clk.Advance(4900*time.Millisecond, settle)
	if got := rounds(); got != 3 {
		t.Errorf("%d announcements before garp_master_delay, want 3", got)
	}
	clk.Advance(200*time.Millisecond, settle)
	waitFor(t, time.Second, "second burst", func() bool { return rounds() == 6 })
	// An address removed behind our back comes back at the refresh.
	n.host.VIPs.RemoveVIP(VIP{Prefix: netip.PrefixFrom(runVIP, 32)})
	clk.Advance(55*time.Second, settle)
	waitFor(t, time.Second, "refresh burst", func() bool { return rounds() == 8 })
	if n.host.VIPs.Count() != 1 {
		t.Error("refresh did not re-add the removed VIP")
	}
}

// The interface going down puts the instance in Fault (addresses gone),
// coming up brings it back.
func TestRunnerLinkFault(t *testing.T) {
	hub := vrrptest.NewHub()
	n := startNode(t, hub, nodeOpts{src: "192.0.2.1", prio: 255, interval: 10 * time.Millisecond})
	waitFor(t, time.Second, "master", func() bool { return n.state() == StateMaster })
	n.host.SetLink("eth0", false)
	waitFor(t, time.Second, "fault", func() bool { return n.state() == StateFault })
	if n.host.VIPs.Count() != 0 {
		t.Error("VIP kept in Fault")
	}
	n.host.SetLink("eth0", true)
	waitFor(t, time.Second, "master again", func() bool { return n.state() == StateMaster })
	want := []State{StateMaster, StateFault, StateMaster} // the owner is Master at once
	if got := n.states(); !equalStates(got, want) {
		t.Errorf("transitions %v, want %v", got, want)
	}
	n.stop(t)
	if err := n.r.Deliver(context.Background(), "VI_192.0.2.1", Fault{Source: "x"}); !errors.Is(err, ErrStopped) {
		t.Errorf("Deliver after stop: %v, want ErrStopped", err)
	}
}

func equalStates(a, b []State) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Hostile packets that would demote the Master if accepted (they claim
// priority 254) are dropped, counted by reason, and change nothing.
func TestRunnerHostilePackets(t *testing.T) {
	hub := vrrptest.NewHub()
	n := startNode(t, hub, nodeOpts{src: "192.0.2.1", prio: 200, interval: 10 * time.Millisecond, garp: GARPConfig{Delay: -1, Refresh: -1}})
	waitFor(t, time.Second, "master", func() bool { return n.state() == StateMaster })
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
			hub.Inject(c.p)
			time.Sleep(0) // let the runner drain
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
		hub.Inject(Packet{Src: evil, Dst: group, TTL: 255, Payload: b})
		time.Sleep(0)
	}
	waitFor(t, 5*time.Second, "drops counted", func() bool {
		d := n.stats().Drops
		for r, w := range want {
			if d[r] < w {
				return false
			}
		}
		return true
	})
	if s := n.stats(); s.State != StateMaster || s.Transitions != 2 || s.AdvertsReceived != 0 {
		t.Fatalf("hostile packets changed the instance: %+v", s)
	}
	t.Logf("drops: %v", n.stats().Drops)
}

// An instance whose track file is a FIFO starts anyway: the file is never
// read on the start path, and a FIFO reads as unreadable (0).
func TestRunnerTrackFileFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "weight")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	hub := vrrptest.NewHub()
	host := vrrptest.NewHost(hub, netip.MustParseAddr("192.0.2.1"))
	r, err := NewRunner(RunnerConfig{
		Members: []MemberConfig{{
			Interface: "eth0",
			Config: Config{Name: "VI_1", Version: Version3, VRID: 51, Priority: 100, AdvertInterval: 10 * time.Millisecond,
				VIPs: []netip.Addr{runVIP}, Tracks: []Track{{Name: "file weight", Kind: TrackFile, Weight: -10}}},
			Files: []TrackedFile{{Track: "file weight", Path: fifo}},
		}},
		Host:   host,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go r.Run(ctx)
	defer func() { cancel(); r.Abort(); <-r.Done() }()
	waitFor(t, 2*time.Second, "master despite the FIFO", func() bool { return r.Stats()[0].State == StateMaster })
}

// A handover on request of a sync group where one instance hears a new
// master just before the deadline and the other hears none: the one that
// heard still waits for the new master's gratuitous ARP before letting
// its address go, and the answer is ErrNoTakeover.
func TestRunnerHandoverPartlyTaken(t *testing.T) {
	const iv = time.Second
	hub, clk := vrrptest.NewHub(), vrrptest.NewClock()
	host := vrrptest.NewHost(hub, netip.MustParseAddr("192.0.2.1"))
	vipA, vipB := netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("192.0.2.101")
	member := func(name string, vrid uint8, vip netip.Addr) MemberConfig {
		return MemberConfig{Interface: "eth0",
			Config: Config{Name: name, Version: Version3, VRID: vrid, Priority: 200, AdvertInterval: iv, VIPs: []netip.Addr{vip}},
			VIPs:   []VIP{{Prefix: netip.PrefixFrom(vip, 32), Dev: "eth0"}}, GARP: GARPConfig{Delay: -1, Refresh: -1}}
	}
	r, err := NewRunner(RunnerConfig{
		Group:   "G",
		Members: []MemberConfig{member("A", 1, vipA), member("B", 2, vipB)},
		Host:    host, Clock: clk,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go r.Run(ctx)
	t.Cleanup(func() { cancel(); r.Abort(); <-r.Done() })
	holds := func(a netip.Addr) bool {
		ok, _ := host.VIPs.HasVIP(VIP{Prefix: netip.PrefixFrom(a, 32), Dev: "eth0"})
		return ok
	}
	settle()
	clk.Advance(MasterDownInterval(Version3, 200, iv), settle)
	waitFor(t, time.Second, "both Master", func() bool { return holds(vipA) && holds(vipB) })
	tap := hub.Tap(1024)
	errc := handOver(r)
	// In a sync group the members wait in Fault (tracked weights are 0).
	waitPriorityZero(t, tap)
	advance := func(d time.Duration) { advanceInTicks(clk, d) }
	advance(3900 * time.Millisecond) // the deadline is at 4.1 s
	peer := netip.MustParseAddr("192.0.2.2")
	b, err := (&Advert{Version: Version3, VRID: 1, Priority: 100, Interval: iv, Addrs: []netip.Addr{vipA}}).Marshal(peer, MulticastIPv4)
	if err != nil {
		t.Fatal(err)
	}
	received := r.Stats()[0].AdvertsReceived
	hub.Inject(Packet{Src: peer, Dst: MulticastIPv4, TTL: 255, Payload: b})
	waitFor(t, time.Second, "A hearing the new master", func() bool { return r.Stats()[0].AdvertsReceived > received })
	advance(250 * time.Millisecond)
	if !holds(vipA) {
		t.Fatal("A let its address go at the deadline, before the new master's gratuitous ARP")
	}
	vrrptest.NewHost(hub, peer).Announcer.Announce([]netip.Addr{vipA})
	time.Sleep(10 * time.Millisecond) // the runner takes the announcement
	advance(HandoverLinger + 10*time.Millisecond)
	waitFor(t, time.Second, "A released", func() bool { return !holds(vipA) })
	select {
	case err := <-errc:
		if !errors.Is(err, ErrNoTakeover) {
			t.Errorf("handover: %v, want ErrNoTakeover", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("handover did not answer")
	}
}
