// Package announce decides which virtual addresses a balancer announces
// over BGP, from the health of the virtual servers on them.
//
// Every balancer of an active/active set announces the same addresses;
// the routers spread clients over those that do (ECMP). A balancer must
// stop announcing an address as soon as it cannot serve it (the virtual
// servers on it lost quorum, or its own IPVS table cannot be applied), so
// the routers send those clients to the others. It must not start again
// the moment it can: a flapping set of real servers would flap every
// router's ECMP group, and each flap moves flows between balancers. So an
// address that was withdrawn is announced again only after it has been
// serving for the hold-down (PyBal, Wikimedia's balancer, uses 10 s).
//
// The Announcer is a pure state machine: Update takes the wanted state
// and the time, and returns the announcements and withdrawals to make
// and when to call it again. The daemon runs it on one goroutine and
// hands the actions to the BGP speaker.
package announce

import (
	"net/netip"
	"slices"
	"sort"
	"time"
)

// Route is what an address is announced with.
type Route struct {
	Communities      []uint32    // ASN<<16 | value
	LargeCommunities [][3]uint32 // ASN, data 1, data 2
	MED              *uint32
	LocalPref        *uint32
}

func (r Route) equal(o Route) bool {
	eq := func(a, b *uint32) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }
	return slices.Equal(r.Communities, o.Communities) && slices.Equal(r.LargeCommunities, o.LargeCommunities) &&
		eq(r.MED, o.MED) && eq(r.LocalPref, o.LocalPref)
}

// VIP is one address and whether this balancer can serve it now.
type VIP struct {
	Addr    netip.Addr
	Route   Route
	Serving bool
	// Why it is not serving, for the log ("virtual server web lost
	// quorum"); empty when serving.
	Why string
}

// Action is one change to make on the speaker.
type Action struct {
	Addr     netip.Addr
	Announce bool  // false: withdraw
	Route    Route // when announcing
	Why      string
}

// Announcer tracks what is announced. Not safe for concurrent use.
type Announcer struct {
	holdDown time.Duration
	vips     map[netip.Addr]*vipState
	draining bool
}

type vipState struct {
	route     Route
	announced bool
	// withdrawn: announced once and withdrawn since, so the hold-down
	// applies before the next announcement.
	withdrawn bool
	// servingSince is when it last became able to serve; zero while not.
	servingSince time.Time
}

// New returns an Announcer with the given hold-down.
func New(holdDown time.Duration) *Announcer {
	return &Announcer{holdDown: holdDown, vips: map[netip.Addr]*vipState{}}
}

// SetHoldDown changes the hold-down (a reload); it applies to the
// addresses waiting now too.
func (a *Announcer) SetHoldDown(d time.Duration) { a.holdDown = d }

// Drain withdraws everything at the next Update and announces nothing
// from then on: a planned stop of this balancer.
func (a *Announcer) Drain() { a.draining = true }

// Draining reports whether Drain is in force.
func (a *Announcer) Draining() bool { return a.draining }

// Resume ends a drain: each address is announced again once it has
// served for the hold-down.
func (a *Announcer) Resume() { a.draining = false }

// Announced lists the addresses announced now, sorted.
func (a *Announcer) Announced() []netip.Addr {
	var out []netip.Addr
	for addr, s := range a.vips {
		if s.announced {
			out = append(out, addr)
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// Update takes the wanted state of every address at now and returns the
// actions that bring the announcements to it, in address order, and the
// time of the next hold-down expiry (zero if none is pending). Addresses
// missing from want (removed by a reload) are withdrawn and forgotten.
func (a *Announcer) Update(now time.Time, want []VIP) (actions []Action, next time.Time) {
	seen := map[netip.Addr]bool{}
	for _, w := range want {
		seen[w.Addr] = true
		s := a.vips[w.Addr]
		if s == nil {
			s = &vipState{}
			a.vips[w.Addr] = s
		}
		serving := w.Serving && !a.draining
		switch {
		case !serving:
			s.servingSince = time.Time{}
			if s.announced {
				s.announced, s.withdrawn = false, true
				why := w.Why
				if a.draining {
					why = "draining this balancer"
				}
				actions = append(actions, Action{Addr: w.Addr, Why: why})
			}
		case s.announced:
			s.servingSince = orNow(s.servingSince, now)
			if !s.route.equal(w.Route) {
				s.route = w.Route
				actions = append(actions, Action{Addr: w.Addr, Announce: true, Route: w.Route, Why: "route attributes changed"})
			}
		default:
			s.servingSince = orNow(s.servingSince, now)
			due := s.servingSince
			if s.withdrawn {
				due = due.Add(a.holdDown)
			}
			if now.Before(due) {
				if next.IsZero() || due.Before(next) {
					next = due
				}
				continue
			}
			s.announced, s.route = true, w.Route
			why := "serving"
			if s.withdrawn {
				why = "serving again for the hold-down " + a.holdDown.String()
			}
			actions = append(actions, Action{Addr: w.Addr, Announce: true, Route: w.Route, Why: why})
		}
	}
	for addr, s := range a.vips {
		if seen[addr] {
			continue
		}
		if s.announced {
			actions = append(actions, Action{Addr: addr, Why: "no longer configured"})
		}
		delete(a.vips, addr)
	}
	sort.SliceStable(actions, func(i, j int) bool { return actions[i].Addr.Less(actions[j].Addr) })
	return actions, next
}

func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}
