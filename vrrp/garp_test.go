package vrrp_test

import (
	"net/netip"
	"testing"
	"time"

	. "github.com/lbd-project/lbd/vrrp"
	"github.com/lbd-project/lbd/vrrp/vrrptest"
)

// With garp_interval a burst goes out one announcement per interval, on
// the runner's clock; the second burst and the refresh queue behind it.
func TestRunnerGARPInterval(t *testing.T) {
	hub, clk := vrrptest.NewHub(), vrrptest.NewClock()
	n := startNode(t, hub, nodeOpts{src: "192.0.2.1", prio: 255, interval: time.Second, clock: clk,
		garp: GARPConfig{Delay: 250 * time.Millisecond, Repeat: 3, Refresh: time.Hour, RefreshRepeat: 1, Interval: 100 * time.Millisecond}})
	waitFor(t, time.Second, "master", func() bool { return n.state() == StateMaster })
	rounds := n.host.Announcer.Rounds
	want := func(at string, r int) {
		t.Helper()
		waitFor(t, time.Second, at, func() bool { return rounds() == r })
		settle()
		if got := rounds(); got != r {
			t.Fatalf("%s: %d announcements, want %d", at, got, r)
		}
	}
	want("on becoming master", 1)
	clk.Advance(99*time.Millisecond, settle)
	want("99ms", 1)
	clk.Advance(time.Millisecond, settle)
	want("100ms", 2)
	clk.Advance(100*time.Millisecond, settle)
	want("200ms", 3)
	clk.Advance(50*time.Millisecond, settle) // garp_master_delay: the second burst starts
	want("250ms", 4)
	clk.Advance(100*time.Millisecond, settle)
	want("350ms", 5)
	clk.Advance(100*time.Millisecond, settle)
	want("450ms", 6)
	clk.Advance(time.Second, settle)
	want("the bursts are over", 6)
}

// A burst asked for while a whole one still waits is folded into it, so a
// flood of lower-priority adverts cannot grow the queue.
func TestRunnerGARPIntervalFoldsBursts(t *testing.T) {
	hub, clk := vrrptest.NewHub(), vrrptest.NewClock()
	n := startNode(t, hub, nodeOpts{src: "192.0.2.1", prio: 255, interval: time.Second, clock: clk,
		garp: GARPConfig{Delay: -1, Repeat: 3, Refresh: -1, Interval: time.Second}})
	waitFor(t, time.Second, "master", func() bool { return n.state() == StateMaster })
	// A lower-priority master advertises 50 times within the first gap.
	liar := hub.Conn(netip.MustParseAddr("192.0.2.9"))
	a := Advert{Version: Version3, VRID: 51, Priority: 10, Interval: time.Second, Addrs: []netip.Addr{runVIP}}
	for range 50 {
		msg, err := a.Append(nil, netip.MustParseAddr("192.0.2.9"), MulticastIPv4)
		if err != nil {
			t.Fatal(err)
		}
		liar.Send(msg, MulticastIPv4)
	}
	waitFor(t, time.Second, "the adverts heard", func() bool { return n.stats().AdvertsReceived >= 50 })
	clk.Advance(20*time.Second, settle)
	waitFor(t, time.Second, "the queue drained", func() bool { return n.host.Announcer.Rounds() >= 3 })
	settle()
	if got := n.host.Announcer.Rounds(); got > 2*3 {
		t.Errorf("%d announcements for one burst and 50 more asked for while it waited, want at most 6", got)
	}
}

// A lower-priority Master's advert is answered with garp_lower_prio_repeat
// announcements, and as many again garp_lower_prio_delay later.
func TestRunnerGARPLowerPriority(t *testing.T) {
	hub, clk := vrrptest.NewHub(), vrrptest.NewClock()
	n := startNode(t, hub, nodeOpts{src: "192.0.2.1", prio: 255, interval: time.Second, clock: clk,
		garp: GARPConfig{Delay: -1, Repeat: 3, Refresh: -1, LowerPrioRepeat: 2, LowerPrioDelay: 2 * time.Second}})
	waitFor(t, time.Second, "master", func() bool { return n.state() == StateMaster })
	rounds := n.host.Announcer.Rounds
	if got := rounds(); got != 3 {
		t.Fatalf("%d announcements on becoming master, want 3", got)
	}
	a := Advert{Version: Version3, VRID: 51, Priority: 10, Interval: time.Second, Addrs: []netip.Addr{runVIP}}
	msg, err := a.Append(nil, netip.MustParseAddr("192.0.2.9"), MulticastIPv4)
	if err != nil {
		t.Fatal(err)
	}
	hub.Conn(netip.MustParseAddr("192.0.2.9")).Send(msg, MulticastIPv4)
	waitFor(t, time.Second, "the answer to the lower-priority master", func() bool { return rounds() == 5 })
	clk.Advance(1900*time.Millisecond, settle)
	if got := rounds(); got != 5 {
		t.Errorf("%d announcements before garp_lower_prio_delay, want 5", got)
	}
	clk.Advance(200*time.Millisecond, settle)
	waitFor(t, time.Second, "the second burst", func() bool { return rounds() == 7 })
}
