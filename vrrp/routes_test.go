package vrrp_test

import (
	"net/netip"
	"testing"
	"time"

	. "github.com/lbd-project/lbd/vrrp"
	"github.com/lbd-project/lbd/vrrp/vrrptest"
)

// Virtual routes and rules follow the addresses: on the Master only, back
// after the refresh when removed behind its back, and over to the new
// Master at a handover.
func TestRunnerVirtualRoutes(t *testing.T) {
	hub := vrrptest.NewHub()
	iv := 20 * time.Millisecond
	routes := []Route{
		{Dst: netip.MustParsePrefix("10.40.0.0/24"), Via: netip.MustParseAddr("192.0.2.254"), Src: runVIP},
		{Dst: netip.MustParsePrefix("10.41.0.0/24"), Type: "blackhole"},
	}
	rules := []Rule{{Priority: 300, From: netip.MustParsePrefix("10.50.0.0/24"), Table: 101}}
	garp := GARPConfig{Delay: -1, Refresh: 50 * time.Millisecond}
	a := startNode(t, hub, nodeOpts{src: "192.0.2.1", prio: 200, interval: iv, garp: garp, routes: routes, rules: rules})
	b := startNode(t, hub, nodeOpts{src: "192.0.2.2", prio: 100, interval: iv, garp: garp, routes: routes, rules: rules})
	count := func(n *testNode) [2]int {
		ro, ru := n.host.Routes.Count()
		return [2]int{ro, ru}
	}
	waitFor(t, 2*time.Second, "a Master with the routes, b Backup without", func() bool {
		return a.state() == StateMaster && b.state() == StateBackup && count(a) == [2]int{2, 1} && count(b) == [2]int{}
	})
	a.host.Routes.RemoveRoute(routes[1])
	a.host.Routes.RemoveRule(rules[0])
	waitFor(t, 2*time.Second, "the refresh to put them back", func() bool { return count(a) == [2]int{2, 1} })
	a.cancel()
	waitFor(t, 2*time.Second, "b Master with the routes", func() bool {
		return b.state() == StateMaster && count(b) == [2]int{2, 1}
	})
	<-a.r.Done()
	if got := count(a); got != [2]int{} {
		t.Errorf("stopped master keeps %v routes and rules", got)
	}
}
