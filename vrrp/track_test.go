package vrrp

import (
	"testing"
	"time"
)

func TestTrackContribution(t *testing.T) {
	up, down := TrackStatus{Up: true}, TrackStatus{}
	cases := []struct {
		name  string
		tr    Track
		s     TrackStatus
		delta int
		fault bool
	}{
		{"weight 0 up", Track{Weight: 0}, up, 0, false},
		{"weight 0 down", Track{Weight: 0}, down, 0, true},
		{"weight 0 reverse up", Track{Weight: 0, Reverse: true}, up, 0, true},
		{"weight 0 reverse down", Track{Weight: 0, Reverse: true}, down, 0, false},
		{"positive up", Track{Weight: 20}, up, 20, false},
		{"positive down", Track{Weight: 20}, down, 0, false},
		{"negative up", Track{Weight: -30}, up, 0, false},
		{"negative down", Track{Weight: -30}, down, -30, false},
		{"positive reverse up", Track{Weight: 20, Reverse: true}, up, -20, false},
		{"positive reverse down", Track{Weight: 20, Reverse: true}, down, 0, false},
		{"negative reverse down", Track{Weight: -30, Reverse: true}, down, 30, false},
		{"file weight 0 zero", Track{Kind: TrackFile}, TrackStatus{Value: 0}, 0, false},
		{"file weight 0 nonzero", Track{Kind: TrackFile}, TrackStatus{Value: 3}, 0, true},
		{"file multiplies", Track{Kind: TrackFile, Weight: 10}, TrackStatus{Value: -5}, -50, false},
		{"file reverse", Track{Kind: TrackFile, Weight: 10, Reverse: true}, TrackStatus{Value: -5}, 50, false},
		{"file capped", Track{Kind: TrackFile, Weight: 254}, TrackStatus{Value: 2}, 253, false},
		{"file -253 ok", Track{Kind: TrackFile, Weight: 253}, TrackStatus{Value: -1}, -253, false},
		{"file below -253 faults", Track{Kind: TrackFile, Weight: 254}, TrackStatus{Value: -1}, 0, true},
	}
	for _, c := range cases {
		d, f := c.tr.Contribution(c.s)
		if d != c.delta || f != c.fault {
			t.Errorf("%s: Contribution = %d, %v; want %d, %v", c.name, d, f, c.delta, c.fault)
		}
	}
	for _, c := range []struct {
		base  uint8
		delta int
		want  uint8
	}{{100, 20, 120}, {250, 20, 254}, {10, -50, 1}, {254, 0, 254}, {255, -100, 255}, {1, 253, 254}} {
		if got := EffectivePriority(c.base, c.delta); got != c.want {
			t.Errorf("EffectivePriority(%d, %d) = %d, want %d", c.base, c.delta, got, c.want)
		}
	}
}

func TestTrackingPriority(t *testing.T) {
	c := cfg3("t", 100, "192.0.2.1")
	c.Tracks = []Track{
		{Name: "check_nginx", Kind: TrackScript, Weight: 20},
		{Name: "eth1", Kind: TrackInterface, Weight: -30},
		{Name: "maint", Kind: TrackFile, Weight: -1},
	}
	i := mustInstance(t, c)
	if i.Priority() != 120 {
		t.Fatalf("initial priority %d, want 120 (script up)", i.Priority())
	}
	i.Handle(t0, Startup{})
	if want := t0.Add(MasterDownInterval(Version3, 120, time.Second)); !i.Deadline().Equal(want) {
		t.Fatalf("down timer at %v, want %v", i.Deadline(), want)
	}
	// A worse priority lengthens the running down timer by the skew change.
	now := t0.Add(time.Second)
	oldDeadline := i.Deadline()
	shift := SkewTime(Version3, 70, time.Second) - SkewTime(Version3, 120, time.Second)
	wantActions(t, "two failures", append(
		i.Handle(now, TrackChanged{Name: "check_nginx", Status: TrackStatus{Up: false}}),
		i.Handle(now, TrackChanged{Name: "eth1", Status: TrackStatus{Up: false}})...),
		PriorityChanged{120, 100}, SetTimer{At: oldDeadline.Add(SkewTime(Version3, 100, time.Second) - SkewTime(Version3, 120, time.Second)), After: oldDeadline.Add(SkewTime(Version3, 100, time.Second) - SkewTime(Version3, 120, time.Second)).Sub(now)},
		PriorityChanged{100, 70}, SetTimer{At: oldDeadline.Add(shift), After: oldDeadline.Add(shift).Sub(now)})
	if i.Priority() != 70 || i.State() != StateBackup {
		t.Fatalf("priority %d state %v", i.Priority(), i.State())
	}
	// File value 50 with weight -1: 70 - 50 = 20.
	i.Handle(now, TrackChanged{Name: "maint", Status: TrackStatus{Value: 50}})
	if i.Priority() != 20 {
		t.Fatalf("priority %d after file, want 20", i.Priority())
	}
	// Unknown objects change nothing.
	wantActions(t, "unknown track", i.Handle(now, TrackChanged{Name: "nope"}))
	// Becoming Master advertises the effective priority.
	acts := fire(i, t0.Add(time.Hour))
	if len(acts) == 0 || acts[0] != (SendAdvert{20}) {
		t.Fatalf("first action as master %s", fmtActions(acts))
	}
}

func TestTrackingFault(t *testing.T) {
	c := cfg3("f", 100, "192.0.2.1")
	c.Tracks = []Track{{Name: "eth0", Kind: TrackInterface}}
	i := masterAt(t, c)
	wantActions(t, "interface down at master", i.Handle(t0, TrackChanged{Name: "eth0", Status: TrackStatus{Up: false}}),
		SendAdvert{0}, RemoveVIPs{vip}, StopTimer{}, Transition{From: StateMaster, To: StateFault, Cause: CauseFault})
	if !i.Faulted() || !i.Deadline().IsZero() {
		t.Fatalf("faulted %v deadline %v", i.Faulted(), i.Deadline())
	}
	wantActions(t, "advert in fault", i.Handle(t0, AdvertReceived{From: v4b, Priority: 1, Interval: time.Second}))
	wantActions(t, "startup in fault", i.Handle(t0, Startup{}))
	// A second fault source: recovering eth0 alone is not enough.
	i.Handle(t0, Fault{Source: "no unicast peer"})
	wantActions(t, "eth0 back, peer still missing", i.Handle(t0, TrackChanged{Name: "eth0", Status: TrackStatus{Up: true}}))
	now := t0.Add(time.Second)
	wantActions(t, "all clear", i.Handle(now, Recover{Source: "no unicast peer"}),
		timer(now, MasterDownInterval(Version3, 100, time.Second)), Transition{From: StateFault, To: StateBackup, Cause: CauseRecover})

	// Starting with a failed object goes straight to Fault, VIPs removed.
	c.Tracks[0].InitFail = true
	j := mustInstance(t, c)
	wantActions(t, "startup with init_fail", j.Handle(t0, Startup{}),
		RemoveVIPs{vip}, StopTimer{}, Transition{From: StateInit, To: StateFault, Cause: CauseFault})

	// The address owner recovers straight to Master.
	o := cfg3("o", 255, "192.0.2.1")
	o.Tracks = []Track{{Name: "eth0"}}
	k := mustInstance(t, o)
	k.Handle(t0, Startup{})
	k.Handle(t0, TrackChanged{Name: "eth0"})
	if k.State() != StateFault {
		t.Fatalf("owner state %v", k.State())
	}
	if k.Handle(t0, TrackChanged{Name: "eth0", Status: TrackStatus{Up: true}}); k.State() != StateMaster {
		t.Fatalf("owner recovered to %v", k.State())
	}
}
