package vrrp_test

import (
	"net/netip"
	"testing"
	"time"

	. "github.com/lbd-project/lbd/vrrp"
	"github.com/lbd-project/lbd/vrrp/vrrptest"
)

// Adverts go to the configured multicast group, and an instance takes
// only adverts sent to its own group: two routers on different groups do
// not hear each other, on the same group they elect one Master.
func TestRunnerMulticastGroup(t *testing.T) {
	g19, g20 := netip.MustParseAddr("224.0.0.19"), netip.MustParseAddr("224.0.0.20")
	iv := 20 * time.Millisecond
	off := GARPConfig{Delay: -1, Refresh: -1}

	hub := vrrptest.NewHub()
	tap := hub.Tap(64)
	a := startNode(t, hub, nodeOpts{src: "192.0.2.1", prio: 200, interval: iv, garp: off, group: g19})
	b := startNode(t, hub, nodeOpts{src: "192.0.2.2", prio: 100, interval: iv, garp: off, group: g20})
	waitFor(t, 2*time.Second, "both Master, deaf to each other", func() bool {
		return a.state() == StateMaster && b.state() == StateMaster
	})
	if d := b.stats().Drops[ReasonDestination]; d == 0 {
		t.Error("b did not drop a's adverts to another group")
	}
	seen := map[netip.Addr]netip.Addr{}
	for len(seen) < 2 {
		select {
		case p := <-tap:
			seen[p.Src] = p.Dst
		case <-time.After(time.Second):
			t.Fatalf("adverts seen: %v", seen)
		}
	}
	if seen[netip.MustParseAddr("192.0.2.1")] != g19 || seen[netip.MustParseAddr("192.0.2.2")] != g20 {
		t.Errorf("adverts went to %v", seen)
	}

	hub2 := vrrptest.NewHub()
	c := startNode(t, hub2, nodeOpts{src: "192.0.2.1", prio: 200, interval: iv, garp: off, group: g19})
	d := startNode(t, hub2, nodeOpts{src: "192.0.2.2", prio: 100, interval: iv, garp: off, group: g19})
	waitFor(t, 2*time.Second, "one Master on the shared group", func() bool {
		return c.state() == StateMaster && d.state() == StateBackup
	})
}

func TestRunnerRejectsBadGroup(t *testing.T) {
	_, err := NewRunner(RunnerConfig{Host: vrrptest.NewHost(vrrptest.NewHub(), netip.MustParseAddr("192.0.2.1")),
		Members: []MemberConfig{{Interface: "eth0", Group: netip.MustParseAddr("ff02::12"),
			Config: Config{Name: "VI", Version: Version3, VRID: 1, Priority: 100, AdvertInterval: time.Second}}}})
	if err == nil {
		t.Fatal("an IPv6 group on an IPv4 instance was accepted")
	}
}
