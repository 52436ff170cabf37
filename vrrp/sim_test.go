package vrrp

import (
	"net/netip"
	"testing"
	"time"
)

// sim runs routers on one simulated link with a fake clock: an advert one
// router sends reaches the others at once, and timers fire exactly at
// their deadlines. Nothing sleeps.
type sim struct {
	t       *testing.T
	now     time.Time
	routers []*router
	split   bool // link partitioned: adverts are lost
}

type router struct {
	inst    *Instance
	up      bool // process running; a downed router neither sends nor hears
	log     []record
	adverts []uint8 // priorities sent
	garps   int
	vips    bool // VIPs configured on the host
}

type record struct {
	at time.Time
	tr Transition
}

type delivery struct {
	to *router
	ev Event
}

func newSim(t *testing.T, cfgs ...Config) *sim {
	s := &sim{t: t, now: t0}
	for _, c := range cfgs {
		s.routers = append(s.routers, &router{inst: mustInstance(t, c)})
	}
	return s
}

func (s *sim) r(name string) *router {
	for _, r := range s.routers {
		if r.inst.Name() == name {
			return r
		}
	}
	s.t.Fatalf("no router %q", name)
	return nil
}

// do hands ev to the router and carries out the resulting actions,
// including the adverts that reach the other routers.
func (s *sim) do(r *router, ev Event) {
	queue := []delivery{{r, ev}}
	for n := 0; len(queue) > 0; n++ {
		if n > 1000 {
			s.t.Fatalf("advert storm at %v", s.now.Sub(t0))
		}
		d := queue[0]
		queue = queue[1:]
		for _, a := range d.to.inst.Handle(s.now, d.ev) {
			switch a := a.(type) {
			case SendAdvert:
				d.to.adverts = append(d.to.adverts, a.Priority)
				if s.split {
					continue
				}
				for _, o := range s.routers {
					if o != d.to && o.up {
						cfg := d.to.inst.Config()
						queue = append(queue, delivery{o, AdvertReceived{From: cfg.Primary, Priority: a.Priority, Interval: cfg.AdvertInterval}})
					}
				}
			case SendGARP:
				d.to.garps++
			case AddVIPs:
				d.to.vips = true
			case RemoveVIPs:
				d.to.vips = false
			case Transition:
				d.to.log = append(d.to.log, record{s.now, a})
			}
		}
	}
}

func (s *sim) start(name string) {
	r := s.r(name)
	r.up = true
	s.do(r, Startup{})
}

// kill stops a router without a word (crash, link down).
func (s *sim) kill(name string) { s.r(name).up = false }

// runUntil advances the clock to t, firing timers in order.
func (s *sim) runUntil(t time.Time) {
	for {
		var next *router
		for _, r := range s.routers {
			if d := r.inst.Deadline(); r.up && !d.IsZero() && !d.After(t) && (next == nil || d.Before(next.inst.Deadline())) {
				next = r
			}
		}
		if next == nil {
			break
		}
		s.now = next.inst.Deadline()
		s.do(next, TimerFired{})
	}
	s.now = t
}

func (s *sim) run(d time.Duration) { s.runUntil(s.now.Add(d)) }

// lastMaster returns the time and transition of the router's last move to
// Master.
func (r *router) lastMaster(t *testing.T) record {
	t.Helper()
	for k := len(r.log) - 1; k >= 0; k-- {
		if r.log[k].tr.To == StateMaster {
			return r.log[k]
		}
	}
	t.Fatalf("%s never became master: %+v", r.inst.Name(), r.log)
	return record{}
}

func (s *sim) wantStates(states ...State) {
	s.t.Helper()
	for k, r := range s.routers {
		if r.inst.State() != states[k] {
			s.t.Fatalf("at +%v %s is %v, want %v; log %+v", s.now.Sub(t0), r.inst.Name(), r.inst.State(), states[k], r.log)
		}
		if r.vips != (states[k] == StateMaster) {
			s.t.Fatalf("%s in %v holds VIPs: %v", r.inst.Name(), states[k], r.vips)
		}
	}
}

func TestSimElection(t *testing.T) {
	s := newSim(t, cfg3("low", 100, "192.0.2.1"), cfg3("high", 200, "192.0.2.2"))
	s.start("low")
	s.start("high")
	// high's Master_Down_Interval is shorter: it wins without a fight.
	s.run(10 * time.Second)
	s.wantStates(StateBackup, StateMaster)
	h := s.r("high").lastMaster(t)
	if want := t0.Add(MasterDownInterval(Version3, 200, time.Second)); !h.at.Equal(want) || h.tr.Cause != CauseMasterDown {
		t.Errorf("high became master at +%v (%v), want +%v", h.at.Sub(t0), h.tr.Cause, want.Sub(t0))
	}
	if n := len(s.r("low").log); n != 1 {
		t.Errorf("low moved %d times: %+v", n, s.r("low").log)
	}
}

func TestSimTieBreak(t *testing.T) {
	for _, order := range [][]string{{"a", "b"}, {"b", "a"}} {
		t.Run(order[0]+" first", func(t *testing.T) {
			// Equal priorities, both Master during a partition. Whoever
			// advertises first after it heals, the higher address keeps
			// Master (RFC 5798 section 6.4.3).
			s := newSim(t, cfg3("a", 100, "192.0.2.1"), cfg3("b", 100, "192.0.2.2"))
			s.split = true
			s.start(order[0])
			s.run(300 * time.Millisecond)
			s.start(order[1])
			s.run(10 * time.Second)
			s.wantStates(StateMaster, StateMaster)
			s.split = false
			s.run(2 * time.Second)
			s.wantStates(StateBackup, StateMaster)
			a := s.r("a")
			last := a.log[len(a.log)-1].tr
			if last.To != StateBackup || last.Cause != CauseTieBreak || last.Peer != netip.MustParseAddr("192.0.2.2") {
				t.Errorf("a's last transition %v", last)
			}
			s.run(time.Minute)
			s.wantStates(StateBackup, StateMaster)
			if n := len(s.r("b").log); n != 2 {
				t.Errorf("b moved %d times: %+v", n, s.r("b").log)
			}
		})
	}
	// Without a partition the first to time out wins and the other, a
	// Backup, accepts the equal priority: no tie-break, no flap.
	s := newSim(t, cfg3("a", 100, "192.0.2.1"), cfg3("b", 100, "192.0.2.2"))
	s.start("a")
	s.start("b")
	s.run(time.Minute)
	s.wantStates(StateMaster, StateBackup)
}

func TestSimPreempt(t *testing.T) {
	for _, nopreempt := range []bool{false, true} {
		t.Run(map[bool]string{false: "preempt", true: "nopreempt"}[nopreempt], func(t *testing.T) {
			high := cfg3("high", 200, "192.0.2.2")
			high.NoPreempt = nopreempt
			s := newSim(t, cfg3("low", 100, "192.0.2.1"), high)
			s.start("low")
			s.run(10 * time.Second)
			s.wantStates(StateMaster, StateInit)
			s.start("high")
			if nopreempt {
				s.run(time.Minute)
				s.wantStates(StateMaster, StateBackup)
				return
			}
			s.run(time.Minute)
			s.wantStates(StateBackup, StateMaster)
			h := s.r("high").lastMaster(t)
			if want := t0.Add(10*time.Second + MasterDownInterval(Version3, 200, time.Second)); !h.at.Equal(want) {
				t.Errorf("high preempted at +%v, want +%v", h.at.Sub(t0), want.Sub(t0))
			}
			if h.tr.Cause != CausePreempt || h.tr.Peer != netip.MustParseAddr("192.0.2.1") || h.tr.PeerPriority != 100 {
				t.Errorf("high's transition %v", h.tr)
			}
			low := s.r("low").log
			if tr := low[len(low)-1].tr; tr.Cause != CauseHigherPriority || tr.PeerPriority != 200 {
				t.Errorf("low's transition %v", tr)
			}
		})
	}
}

func TestSimPreemptDelay(t *testing.T) {
	high := cfg3("high", 200, "192.0.2.2")
	high.PreemptDelay = 10 * time.Second
	s := newSim(t, cfg3("low", 100, "192.0.2.1"), high)
	s.start("low")
	lowMaster := t0.Add(MasterDownInterval(Version3, 100, time.Second)) // low adverts at lowMaster + k s
	s.runUntil(t0.Add(10 * time.Second))
	s.start("high")
	firstSeen := lowMaster.Add(7 * time.Second) // first advert after +10s
	// Adverts before firstSeen+10s are accepted; the one at firstSeen+10s
	// is not, so the down timer runs from the advert at firstSeen+9s.
	want := firstSeen.Add(9*time.Second + MasterDownInterval(Version3, 200, time.Second))
	s.runUntil(want.Add(-time.Millisecond))
	s.wantStates(StateMaster, StateBackup)
	s.runUntil(want.Add(time.Millisecond))
	s.wantStates(StateBackup, StateMaster)
	if h := s.r("high").lastMaster(t); !h.at.Equal(want) || h.tr.Cause != CausePreempt {
		t.Errorf("high preempted at +%v (%v), want +%v", h.at.Sub(t0), h.tr.Cause, want.Sub(t0))
	}
	// A planned stop hands back to low within Skew_Time.
	s.do(s.r("high"), Shutdown{})
	s.r("high").up = false
	s.run(time.Second)
	s.wantStates(StateMaster, StateInit)
}

func TestSimPriorityZeroHandover(t *testing.T) {
	newPair := func() *sim {
		s := newSim(t, cfg3("low", 100, "192.0.2.1"), cfg3("high", 200, "192.0.2.2"))
		s.start("low")
		s.start("high")
		s.runUntil(t0.Add(10*time.Second + 500*time.Millisecond))
		s.wantStates(StateBackup, StateMaster)
		return s
	}
	skew := SkewTime(Version3, 100, time.Second)

	// Planned stop: priority 0, the Backup takes over after Skew_Time.
	s := newPair()
	stop := s.now
	s.do(s.r("high"), Shutdown{})
	s.r("high").up = false
	if got := s.r("high").adverts; got[len(got)-1] != 0 {
		t.Fatalf("high's last advert had priority %d", got[len(got)-1])
	}
	s.runUntil(stop.Add(skew - time.Nanosecond))
	s.wantStates(StateBackup, StateInit)
	s.runUntil(stop.Add(skew))
	s.wantStates(StateMaster, StateInit)
	if l := s.r("low").lastMaster(t); l.tr.Cause != CausePriorityZero || !l.at.Equal(stop.Add(skew)) {
		t.Errorf("low took over at +%v because %v", l.at.Sub(stop), l.tr.Cause)
	}

	// Crash: no priority 0, the Backup waits Master_Down_Interval from the
	// last advert it heard (high adverts on whole seconds + its start).
	s = newPair()
	s.kill("high")
	lastAdvert := t0.Add(MasterDownInterval(Version3, 200, time.Second) + 7*time.Second)
	s.run(10 * time.Second)
	if st := s.r("low").inst.State(); st != StateMaster {
		t.Fatalf("low is %v after high crashed", st)
	}
	if l := s.r("low").lastMaster(t); l.tr.Cause != CauseMasterDown || !l.at.Equal(lastAdvert.Add(MasterDownInterval(Version3, 100, time.Second))) {
		t.Errorf("low took over at +%v because %v", l.at.Sub(lastAdvert), l.tr.Cause)
	}
}

func TestSimSplitBrainHeals(t *testing.T) {
	s := newSim(t, cfg3("low", 100, "192.0.2.1"), cfg3("high", 200, "192.0.2.2"))
	s.start("low")
	s.start("high")
	s.run(10 * time.Second)
	s.split = true
	s.run(10 * time.Second)
	s.wantStates(StateMaster, StateMaster) // both Master: split brain
	garps := s.r("high").garps
	s.split = false
	s.run(3 * time.Second)
	s.wantStates(StateBackup, StateMaster)
	// The rightful Master re-announced its addresses when it heard the
	// lower priority, so hosts that followed low's GARP come back.
	if s.r("high").garps <= garps {
		t.Errorf("high sent no gratuitous ARP after the split healed")
	}
}

func TestSimVRRPv2(t *testing.T) {
	low, high := cfg3("low", 100, "192.0.2.1"), cfg3("high", 150, "192.0.2.2")
	low.Version, high.Version = Version2, Version2
	s := newSim(t, low, high)
	s.start("low")
	s.start("high")
	s.run(5 * time.Second)
	s.wantStates(StateBackup, StateMaster)
	if h := s.r("high").lastMaster(t); !h.at.Equal(t0.Add(3*time.Second + 414062500)) {
		t.Errorf("v2 high became master at +%v", h.at.Sub(t0))
	}
}
