package vrrp

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var vip = addrs("192.0.2.100")

func cfg3(name string, prio uint8, primary string) Config {
	return Config{
		Name: name, Version: Version3, VRID: 1, Priority: prio, AdvertInterval: time.Second,
		Primary: netip.MustParseAddr(primary), VIPs: vip,
	}
}

func mustInstance(t *testing.T, c Config) *Instance {
	t.Helper()
	i, err := NewInstance(c)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func timer(now time.Time, d time.Duration) SetTimer { return SetTimer{At: now.Add(d), After: d} }

func wantActions(t *testing.T, what string, got []Action, want ...Action) {
	t.Helper()
	if len(want) == 0 {
		want = nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %s\n want %s", what, fmtActions(got), fmtActions(want))
	}
}

func fmtActions(as []Action) string {
	var s []string
	for _, a := range as {
		s = append(s, fmt.Sprintf("%T%+v", a, a))
	}
	return "[" + strings.Join(s, " ") + "]"
}

// fire delivers TimerFired at every deadline up to until, returning the
// actions.
func fire(i *Instance, until time.Time) []Action {
	var acts []Action
	for d := i.Deadline(); !d.IsZero() && !d.After(until); d = i.Deadline() {
		acts = append(acts, i.Handle(d, TimerFired{})...)
	}
	return acts
}

func TestTimingMath(t *testing.T) {
	cases := []struct {
		v        Version
		prio     uint8
		interval time.Duration
		skew     time.Duration
	}{
		{Version3, 100, time.Second, 609375 * time.Microsecond},
		{Version3, 200, 100 * time.Millisecond, 21875 * time.Microsecond},
		{Version3, 255, time.Second, 3906250 * time.Nanosecond},
		{Version3, 1, 10 * time.Millisecond, 9960937 * time.Nanosecond},
		{Version2, 100, 3 * time.Second, 609375 * time.Microsecond}, // v2 skew ignores the interval
		{Version2, 254, time.Second, 7812500 * time.Nanosecond},
	}
	for _, c := range cases {
		if got := SkewTime(c.v, c.prio, c.interval); got != c.skew {
			t.Errorf("SkewTime(v%d, %d, %v) = %v, want %v", c.v, c.prio, c.interval, got, c.skew)
		}
		if got, want := MasterDownInterval(c.v, c.prio, c.interval), 3*c.interval+c.skew; got != want {
			t.Errorf("MasterDownInterval(v%d, %d, %v) = %v, want %v", c.v, c.prio, c.interval, got, want)
		}
		// keepalived's integer formula for v3: (256-prio) * centis * 625/16 µs.
		if c.v == Version3 {
			ka := time.Duration((256-int(c.prio))*int(c.interval/(10*time.Millisecond))*625/16) * time.Microsecond
			if d := SkewTime(c.v, c.prio, c.interval) - ka; d < 0 || d >= time.Microsecond {
				t.Errorf("v3 prio %d: skew %v differs from keepalived's %v", c.prio, SkewTime(c.v, c.prio, c.interval), ka)
			}
		}
	}
}

func TestStartupBackupThenMaster(t *testing.T) {
	i := mustInstance(t, cfg3("vi", 100, "192.0.2.1"))
	mdi := 3*time.Second + 609375*time.Microsecond
	wantActions(t, "startup", i.Handle(t0, Startup{}),
		RemoveVIPs{vip}, timer(t0, mdi), Transition{From: StateInit, To: StateBackup, Cause: CauseStartup})
	if i.State() != StateBackup {
		t.Fatalf("state %v", i.State())
	}
	// Early timer: only re-armed.
	wantActions(t, "early timer", i.Handle(t0.Add(mdi-time.Nanosecond), TimerFired{}), SetTimer{At: t0.Add(mdi), After: time.Nanosecond})
	if i.State() != StateBackup {
		t.Fatalf("state %v after early timer", i.State())
	}
	at := t0.Add(mdi)
	wantActions(t, "master down", i.Handle(at, TimerFired{}),
		SendAdvert{100}, AddVIPs{vip}, SendGARP{vip}, timer(at, time.Second),
		Transition{From: StateBackup, To: StateMaster, Cause: CauseMasterDown})
	// As Master: one advert per interval, nothing else.
	for k := 1; k <= 3; k++ {
		now := at.Add(time.Duration(k) * time.Second)
		wantActions(t, "advert timer", i.Handle(now, TimerFired{}), SendAdvert{100}, timer(now, time.Second))
	}
	if a, p := i.Master(); a != netip.MustParseAddr("192.0.2.1") || p != 100 {
		t.Errorf("Master() = %v, %d", a, p)
	}
}

func TestOwnerStartsMaster(t *testing.T) {
	i := mustInstance(t, cfg3("owner", 255, "192.0.2.1"))
	wantActions(t, "startup", i.Handle(t0, Startup{}),
		SendAdvert{255}, AddVIPs{vip}, SendGARP{vip}, timer(t0, time.Second),
		Transition{From: StateInit, To: StateMaster, Cause: CauseOwner})
}

func TestVRRPv2Timers(t *testing.T) {
	c := cfg3("v2", 100, "192.0.2.1")
	c.Version, c.AdvertInterval = Version2, 3*time.Second
	i := mustInstance(t, c)
	i.Handle(t0, Startup{})
	if got, want := i.Deadline(), t0.Add(9*time.Second+609375*time.Microsecond); !got.Equal(want) {
		t.Fatalf("v2 down timer at %v, want %v", got, want)
	}
	// A v2 Master's advertised interval never changes ours.
	i.Handle(t0.Add(time.Second), AdvertReceived{From: v4b, Priority: 200, Interval: time.Second})
	if i.MasterAdverInterval() != 3*time.Second {
		t.Errorf("v2 adopted interval %v", i.MasterAdverInterval())
	}
}

// masterAt returns an instance that is Master at time t0.
func masterAt(t *testing.T, c Config) *Instance {
	t.Helper()
	i := mustInstance(t, c)
	i.Handle(t0.Add(-time.Hour), Startup{})
	fire(i, t0)
	if i.State() != StateMaster {
		t.Fatalf("not master: %v", i.State())
	}
	return i
}

func TestMasterReceives(t *testing.T) {
	self := "192.0.2.5"
	higher, lower := netip.MustParseAddr("192.0.2.9"), netip.MustParseAddr("192.0.2.3")
	now := t0.Add(100 * time.Millisecond)
	cases := []struct {
		name    string
		tweak   func(*Config)
		ev      AdvertReceived
		want    []Action
		state   State
		backupT time.Duration // expected down timer when Backup
	}{
		{"higher priority", nil, AdvertReceived{From: lower, Priority: 150, Interval: time.Second},
			[]Action{SendAdvert{100}, RemoveVIPs{vip}, timer(now, 3*time.Second+609375*time.Microsecond),
				Transition{StateMaster, StateBackup, CauseHigherPriority, lower, 150}}, StateBackup, 0},
		{"higher priority, v3 interval learnt", nil, AdvertReceived{From: lower, Priority: 150, Interval: 200 * time.Millisecond},
			[]Action{SendAdvert{100}, RemoveVIPs{vip}, timer(now, 600*time.Millisecond+121875*time.Microsecond),
				Transition{StateMaster, StateBackup, CauseHigherPriority, lower, 150}}, StateBackup, 0},
		{"higher priority, no advert first", func(c *Config) { c.HigherPrioNoAdvert = true }, AdvertReceived{From: lower, Priority: 150, Interval: time.Second},
			[]Action{RemoveVIPs{vip}, timer(now, 3*time.Second+609375*time.Microsecond),
				Transition{StateMaster, StateBackup, CauseHigherPriority, lower, 150}}, StateBackup, 0},
		{"equal priority, higher address", nil, AdvertReceived{From: higher, Priority: 100, Interval: time.Second},
			[]Action{SendAdvert{100}, RemoveVIPs{vip}, timer(now, 3*time.Second+609375*time.Microsecond),
				Transition{StateMaster, StateBackup, CauseTieBreak, higher, 100}}, StateBackup, 0},
		{"equal priority, lower address", nil, AdvertReceived{From: lower, Priority: 100, Interval: time.Second},
			[]Action{LowerPriorityMaster{lower, 100}, SendAdvert{100}, SendGARP{vip}}, StateMaster, 0},
		{"lower priority", nil, AdvertReceived{From: higher, Priority: 99, Interval: time.Second},
			[]Action{LowerPriorityMaster{higher, 99}, SendAdvert{100}, SendGARP{vip}}, StateMaster, 0},
		{"lower priority, RFC strict", func(c *Config) { c.LowerPrioNoAdvert, c.LowerPrioNoGARP = true, true },
			AdvertReceived{From: higher, Priority: 99, Interval: time.Second},
			[]Action{LowerPriorityMaster{higher, 99}}, StateMaster, 0},
		{"priority 0", nil, AdvertReceived{From: higher, Priority: 0, Interval: time.Second},
			[]Action{SendAdvert{100}, timer(now, time.Second)}, StateMaster, 0},
		{"own advert looped", nil, AdvertReceived{From: netip.MustParseAddr(self), Priority: 100, Interval: time.Second},
			nil, StateMaster, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := cfg3("m", 100, self)
			if c.tweak != nil {
				c.tweak(&cfg)
			}
			i := masterAt(t, cfg)
			wantActions(t, "advert at master", i.Handle(now, c.ev), c.want...)
			if i.State() != c.state {
				t.Errorf("state %v, want %v", i.State(), c.state)
			}
			if c.state == StateBackup {
				if a, p := i.Master(); a != c.ev.From || p != c.ev.Priority {
					t.Errorf("Master() = %v %d", a, p)
				}
			}
		})
	}
}

func TestBackupReceives(t *testing.T) {
	peer := netip.MustParseAddr("192.0.2.9")
	now := t0.Add(time.Second)
	mdi100 := 3*time.Second + 609375*time.Microsecond
	cases := []struct {
		name  string
		tweak func(*Config)
		ev    AdvertReceived
		want  []Action // nil: advert ignored, the startup timer keeps running
	}{
		{"higher priority resets timer", nil, AdvertReceived{peer, 200, time.Second}, []Action{timer(now, mdi100)}},
		{"equal priority resets timer", nil, AdvertReceived{peer, 100, time.Second}, []Action{timer(now, mdi100)}},
		{"v3 adopts master interval", nil, AdvertReceived{peer, 200, 100 * time.Millisecond}, []Action{timer(now, 300*time.Millisecond+60937500)}},
		{"lower priority ignored (preempt)", nil, AdvertReceived{peer, 99, time.Second}, nil},
		{"lower priority accepted (nopreempt)", func(c *Config) { c.NoPreempt = true }, AdvertReceived{peer, 99, time.Second}, []Action{timer(now, mdi100)}},
		{"lower priority accepted (preempt delay starts)", func(c *Config) { c.PreemptDelay = time.Minute }, AdvertReceived{peer, 99, time.Second}, []Action{timer(now, mdi100)}},
		{"priority 0: skew time", nil, AdvertReceived{peer, 0, time.Second}, []Action{timer(now, 609375*time.Microsecond)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := cfg3("b", 100, "192.0.2.1")
			if c.tweak != nil {
				c.tweak(&cfg)
			}
			i := mustInstance(t, cfg)
			i.Handle(t0, Startup{})
			start := i.Deadline()
			wantActions(t, "advert at backup", i.Handle(now, c.ev), c.want...)
			if c.want == nil && !i.Deadline().Equal(start) {
				t.Errorf("ignored advert moved the timer to %v", i.Deadline())
			}
			if i.State() != StateBackup {
				t.Errorf("state %v", i.State())
			}
		})
	}
}

func TestShutdown(t *testing.T) {
	m := masterAt(t, cfg3("m", 100, "192.0.2.1"))
	wantActions(t, "master shutdown", m.Handle(t0, Shutdown{}),
		SendAdvert{0}, RemoveVIPs{vip}, StopTimer{}, Transition{From: StateMaster, To: StateInit, Cause: CauseShutdown})
	wantActions(t, "shutdown twice", m.Handle(t0, Shutdown{}))
	wantActions(t, "timer after shutdown", m.Handle(t0.Add(time.Hour), TimerFired{}))
	wantActions(t, "advert after shutdown", m.Handle(t0, AdvertReceived{v4b, 200, time.Second}))

	b := mustInstance(t, cfg3("b", 100, "192.0.2.1"))
	b.Handle(t0, Startup{})
	wantActions(t, "backup shutdown", b.Handle(t0, Shutdown{}),
		StopTimer{}, Transition{From: StateBackup, To: StateInit, Cause: CauseShutdown})
	if b.Handle(t0.Add(time.Second), Startup{}); b.State() != StateBackup {
		t.Errorf("restart: %v", b.State())
	}
}

func TestValidate(t *testing.T) {
	ok := cfg3("ok", 100, "192.0.2.1")
	cases := []struct {
		name string
		f    func(*Config)
		want string // substring of the error; "" = valid
	}{
		{"valid", func(*Config) {}, ""},
		{"v3 ipv6", func(c *Config) { c.Primary = v6a; c.VIPs = addrs("2001:db8::1") }, ""},
		{"version", func(c *Config) { c.Version = 1 }, "version"},
		{"vrid 0", func(c *Config) { c.VRID = 0 }, "VRID"},
		{"priority 0", func(c *Config) { c.Priority = 0 }, "priority"},
		{"v2 fractional", func(c *Config) { c.Version = Version2; c.AdvertInterval = 500 * time.Millisecond }, "whole seconds"},
		{"v3 too short", func(c *Config) { c.AdvertInterval = time.Millisecond }, "centiseconds"},
		{"v3 too long", func(c *Config) { c.AdvertInterval = time.Minute }, "centiseconds"},
		{"no primary", func(c *Config) { c.Primary = netip.Addr{} }, "primary"},
		{"v2 ipv6", func(c *Config) { c.Version = Version2; c.Primary = v6a; c.VIPs = nil }, "IPv4 only"},
		{"vip family", func(c *Config) { c.VIPs = addrs("2001:db8::1") }, "family"},
		{"preempt delay", func(c *Config) { c.PreemptDelay = 1001 * time.Second }, "preempt delay"},
		{"weight", func(c *Config) { c.Tracks = []Track{{Name: "eth1", Weight: 254}} }, "weight 254"},
		{"file weight 254", func(c *Config) { c.Tracks = []Track{{Name: "f", Kind: TrackFile, Weight: 254}} }, ""},
		{"unnamed track", func(c *Config) { c.Tracks = []Track{{Weight: 1}} }, "without a name"},
		{"duplicate track", func(c *Config) { c.Tracks = []Track{{Name: "a"}, {Name: "a"}} }, "twice"},
		{"owner weight", func(c *Config) { c.Priority = 255; c.Tracks = []Track{{Name: "a", Weight: 10}} }, "owner"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := ok
			c.f(&cfg)
			err := cfg.Validate()
			switch {
			case c.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
			if _, nerr := NewInstance(cfg); (nerr == nil) != (err == nil) {
				t.Errorf("NewInstance error %v disagrees with Validate %v", nerr, err)
			}
		})
	}
}

func TestMasterUnreachableTakesOverAfterSkew(t *testing.T) {
	i := mustInstance(t, cfg3("vi", 100, "192.0.2.1"))
	master, other := netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.3")
	i.Handle(t0, Startup{})
	mdi := 3*time.Second + 609375*time.Microsecond
	skew := 609375 * time.Microsecond

	// Before any Master is heard there is nobody to declare unreachable.
	if acts := i.Handle(t0, MasterUnreachable{From: master}); acts != nil {
		t.Fatalf("no master known: %v", acts)
	}
	t1 := t0.Add(time.Second)
	i.Handle(t1, AdvertReceived{From: master, Priority: 200, Interval: time.Second})
	// Another address than the Master's is ignored.
	if acts := i.Handle(t1, MasterUnreachable{From: other}); acts != nil {
		t.Fatalf("other address: %v", acts)
	}
	// The Master's: the deadline moves from the down interval to the skew.
	t2 := t1.Add(200 * time.Millisecond)
	wantActions(t, "unreachable", i.Handle(t2, MasterUnreachable{From: master}), timer(t2, skew))
	// An advert of the Master in the meantime cancels it.
	t3 := t2.Add(100 * time.Millisecond)
	wantActions(t, "advert after all", i.Handle(t3, AdvertReceived{From: master, Priority: 200, Interval: time.Second}), timer(t3, mdi))
	wantActions(t, "timer before the down interval", i.Handle(t2.Add(skew), TimerFired{}), SetTimer{At: t3.Add(mdi), After: t3.Add(mdi).Sub(t2.Add(skew))})
	// Unreachable again, and no advert: Master after the skew.
	t4 := t3.Add(500 * time.Millisecond)
	i.Handle(t4, MasterUnreachable{From: master})
	at := t4.Add(skew)
	wantActions(t, "take over", i.Handle(at, TimerFired{}),
		SendAdvert{100}, AddVIPs{vip}, SendGARP{vip}, timer(at, time.Second),
		Transition{From: StateBackup, To: StateMaster, Cause: CauseMasterUnreachable, Peer: master, PeerPriority: 200})
	// A Master ignores it.
	if acts := i.Handle(at, MasterUnreachable{From: master}); acts != nil {
		t.Fatalf("as master: %v", acts)
	}
}
