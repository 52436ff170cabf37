package announce

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var (
	vip1 = netip.MustParseAddr("203.0.113.10")
	vip2 = netip.MustParseAddr("203.0.113.11")
	t0   = time.Unix(1700000000, 0)
)

func show(actions []Action) string {
	var b []string
	for _, a := range actions {
		op := "withdraw"
		if a.Announce {
			op = "announce"
		}
		b = append(b, fmt.Sprintf("%s %s", op, a.Addr))
	}
	return strings.Join(b, ", ")
}

func step(t *testing.T, a *Announcer, at time.Duration, want string, vips ...VIP) time.Time {
	t.Helper()
	actions, next := a.Update(t0.Add(at), vips)
	if got := show(actions); got != want {
		t.Errorf("at %v: %q, want %q", at, got, want)
	}
	return next
}

func TestHoldDown(t *testing.T) {
	a := New(10 * time.Second)
	up := VIP{Addr: vip1, Serving: true}
	down := VIP{Addr: vip1, Why: "lost quorum"}
	// The first time it serves it is announced at once.
	step(t, a, 0, "announce 203.0.113.10", up)
	step(t, a, time.Second, "", up)
	// Lost quorum: withdrawn at once.
	step(t, a, 2*time.Second, "withdraw 203.0.113.10", down)
	// Serving again: not before the hold-down.
	if next := step(t, a, 3*time.Second, "", up); !next.Equal(t0.Add(13 * time.Second)) {
		t.Errorf("next wake-up %v, want +13s", next.Sub(t0))
	}
	// A flap restarts the hold-down.
	step(t, a, 5*time.Second, "", down)
	if next := step(t, a, 6*time.Second, "", up); !next.Equal(t0.Add(16 * time.Second)) {
		t.Errorf("next wake-up after a flap %v, want +16s", next.Sub(t0))
	}
	step(t, a, 15*time.Second, "", up)
	step(t, a, 16*time.Second, "announce 203.0.113.10", up)
	if got := a.Announced(); len(got) != 1 || got[0] != vip1 {
		t.Errorf("Announced = %v", got)
	}
}

func TestRouteChangeAndRemoval(t *testing.T) {
	a := New(time.Second)
	med := uint32(5)
	step(t, a, 0, "announce 203.0.113.10, announce 203.0.113.11", VIP{Addr: vip2, Serving: true}, VIP{Addr: vip1, Serving: true})
	actions, _ := a.Update(t0.Add(time.Second), []VIP{{Addr: vip1, Serving: true, Route: Route{MED: &med}}, {Addr: vip2, Serving: true}})
	if show(actions) != "announce 203.0.113.10" || actions[0].Route.MED == nil || *actions[0].Route.MED != 5 {
		t.Errorf("a changed MED: %+v", actions)
	}
	// A reload that drops vip2 withdraws it; one that brings it back
	// announces it without hold-down (it was not withdrawn for health).
	step(t, a, 2*time.Second, "withdraw 203.0.113.11", VIP{Addr: vip1, Serving: true, Route: Route{MED: &med}})
	step(t, a, 3*time.Second, "announce 203.0.113.11", VIP{Addr: vip1, Serving: true, Route: Route{MED: &med}}, VIP{Addr: vip2, Serving: true})
}

func TestDrain(t *testing.T) {
	a := New(time.Second)
	both := []VIP{{Addr: vip1, Serving: true}, {Addr: vip2, Serving: true}}
	step(t, a, 0, "announce 203.0.113.10, announce 203.0.113.11", both...)
	a.Drain()
	actions, _ := a.Update(t0.Add(time.Second), both)
	if show(actions) != "withdraw 203.0.113.10, withdraw 203.0.113.11" || actions[0].Why != "draining this balancer" {
		t.Errorf("drain: %+v", actions)
	}
	// Never again, however long it serves.
	step(t, a, time.Hour, "", both...)
	if got := a.Announced(); len(got) != 0 {
		t.Errorf("Announced after drain = %v", got)
	}
}

func TestNeverServingIsNeverAnnounced(t *testing.T) {
	a := New(time.Second)
	step(t, a, 0, "", VIP{Addr: vip1, Why: "starts without quorum"})
	// Its first announcement, once it serves, has no hold-down.
	step(t, a, time.Minute, "announce 203.0.113.10", VIP{Addr: vip1, Serving: true})
}

func TestResumeAfterDrain(t *testing.T) {
	a := New(10 * time.Second)
	up := VIP{Addr: vip1, Serving: true}
	step(t, a, 0, "announce 203.0.113.10", up)
	a.Drain()
	step(t, a, time.Second, "withdraw 203.0.113.10", up)
	a.Resume()
	// Withdrawn by the drain, so back only after the hold-down.
	step(t, a, 2*time.Second, "", up)
	step(t, a, 12*time.Second, "announce 203.0.113.10", up)
}
