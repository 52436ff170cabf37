package vrrp_test

import (
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
