package vrrp_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/lbd-project/lbd/bfd"
	"github.com/lbd-project/lbd/bfd/bfdtest"
	. "github.com/lbd-project/lbd/vrrp"
	"github.com/lbd-project/lbd/vrrp/vrrptest"
)

// bfdPair is a Master (a, priority 200) and a Backup (b, 100) that are
// each other's unicast peer and watch each other with BFD at 100 ms × 3,
// each with its own bfd.Manager on one bfdtest link, all on one clock.
type bfdPair struct {
	clk   *vrrptest.Clock
	link  *bfdtest.Link
	a, b  *testNode
	stopA context.CancelFunc // a's BFD manager
}

func startBFDPair(t *testing.T) *bfdPair {
	t.Helper()
	hub, clk, link := vrrptest.NewHub(), vrrptest.NewClock(), bfdtest.NewLink()
	addrA, addrB := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	manager := func(addr netip.Addr) (func() (BFDSessions, error), context.CancelFunc) {
		m := bfd.NewManager(bfd.ManagerConfig{Conn: link.Conn(addr), Clock: clk})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { m.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		return func() (BFDSessions, error) { return m, nil }, cancel
	}
	bfdA, stopA := manager(addrA)
	bfdB, _ := manager(addrB)
	off := GARPConfig{Delay: -1, Refresh: -1}
	ft := FastTakeover{BFD: BFDTimers{Interval: 100 * time.Millisecond, Multiplier: 3}}
	p := &bfdPair{clk: clk, link: link, stopA: stopA}
	p.a = startNode(t, hub, nodeOpts{src: "192.0.2.1", prio: 200, interval: time.Second, clock: clk, garp: off,
		fast: ft, peers: []netip.Addr{addrB}, bfd: bfdA})
	p.b = startNode(t, hub, nodeOpts{src: "192.0.2.2", prio: 100, interval: time.Second, clock: clk, garp: off,
		fast: ft, peers: []netip.Addr{addrA}, bfd: bfdB})
	waitFor(t, time.Second, "both started", func() bool { return p.a.state() == StateBackup && p.b.state() == StateBackup })
	for range 5 {
		clk.Advance(time.Second, settle)
		if p.a.state() == StateMaster && p.b.state() == StateBackup {
			break
		}
	}
	waitFor(t, time.Second, "a Master, b Backup", func() bool { return p.a.state() == StateMaster && p.b.state() == StateBackup })
	// b follows a; the sessions come up (slow packets at 1 s until Up).
	for range 30 {
		clk.Advance(100*time.Millisecond, settle)
	}
	return p
}

// tookOver advances the clock in 10 ms steps for at most d and returns
// how long it took b to become Master and why, or false.
func (p *bfdPair) tookOver(d time.Duration) (time.Duration, Cause, bool) {
	start := p.clk.Now()
	for p.clk.Now().Sub(start) < d {
		p.clk.Advance(10*time.Millisecond, settle)
		for _, x := range p.b.transitions() {
			if x.Transition.To == StateMaster {
				return x.Time.Sub(start), x.Transition.Cause, true
			}
		}
	}
	return 0, 0, false
}

// The Master's host dies (no more BFD packets): the Backup takes over at
// the BFD detection time, without Skew_Time and long before the master
// down interval.
func TestRunnerBFDTakeover(t *testing.T) {
	p := startBFDPair(t)
	p.link.Cut(true)
	took, cause, ok := p.tookOver(3 * time.Second)
	if !ok {
		t.Fatal("backup did not take over")
	}
	if took > 400*time.Millisecond {
		t.Errorf("took over after %v, want the detection time (300 ms)", took)
	}
	if cause != CauseMasterUnreachable {
		t.Errorf("took over because %v", cause)
	}
}

// The Master's BFD stops on purpose (AdminDown) while its adverts go on:
// the Backup stays Backup.
func TestRunnerBFDAdminDownNoTakeover(t *testing.T) {
	p := startBFDPair(t)
	p.stopA()
	if took, _, ok := p.tookOver(3 * time.Second); ok {
		t.Fatalf("backup took over after %v on AdminDown", took)
	}
	if p.a.state() != StateMaster {
		t.Errorf("a is %v", p.a.state())
	}
}

func (n *testNode) transitions() []Notification {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Notification(nil), n.notes...)
}
