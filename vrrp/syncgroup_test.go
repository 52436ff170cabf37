package vrrp

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func groupPair(t *testing.T, trackingWeight bool) (*SyncGroup, *Instance, *Instance) {
	t.Helper()
	ca := cfg3("web", 100, "192.0.2.1")
	ca.Tracks = []Track{{Name: "eth0"}, {Name: "chk", Kind: TrackScript, Weight: 20}}
	cb := cfg3("db", 150, "198.51.100.1")
	cb.VRID, cb.VIPs = 2, addrs("198.51.100.100")
	a, b := mustInstance(t, ca), mustInstance(t, cb)
	g, err := NewSyncGroup("G", trackingWeight, a, b)
	if err != nil {
		t.Fatal(err)
	}
	return g, a, b
}

func states(ms ...*Instance) []State {
	var s []State
	for _, m := range ms {
		s = append(s, m.State())
	}
	return s
}

func wantStates(t *testing.T, got []State, want ...State) {
	t.Helper()
	for k := range want {
		if got[k] != want[k] {
			t.Fatalf("states %v, want %v", got, want)
		}
	}
}

// transitions returns "member:STATE:cause" for every transition.
func transitions(acts []MemberAction) []string {
	var out []string
	for _, a := range acts {
		if tr, ok := a.Action.(Transition); ok {
			out = append(out, a.Instance+":"+tr.To.String()+":"+tr.Cause.String())
		}
	}
	return out
}

func TestSyncGroupMasterTogether(t *testing.T) {
	g, web, db := groupPair(t, false)
	g.Handle(t0, "web", Startup{})
	g.Handle(t0, "db", Startup{})
	wantStates(t, states(web, db), StateBackup, StateBackup)

	// db (priority 150) times out first but web does not want Master yet:
	// db is held in Backup.
	dbDown := db.Deadline()
	if acts := g.Handle(dbDown, "db", TimerFired{}); len(transitions(acts)) != 0 {
		t.Fatalf("db moved alone: %v", transitions(acts))
	}
	wantStates(t, states(web, db), StateBackup, StateBackup)
	if !db.Deadline().After(dbDown) {
		t.Fatalf("db's timer was not re-armed")
	}
	// web times out: everybody wants Master, both go together.
	acts := g.Handle(web.Deadline(), "web", TimerFired{})
	got := strings.Join(transitions(acts), " ")
	if got != "web:MASTER:master down timer expired db:MASTER:sync group" {
		t.Fatalf("transitions %q", got)
	}
	wantStates(t, states(web, db), StateMaster, StateMaster)
	if g.State() != StateMaster {
		t.Errorf("group state %v", g.State())
	}

	// A higher priority for db on the wire: db yields, web follows.
	now := web.Deadline().Add(-time.Millisecond)
	acts = g.Handle(now, "db", AdvertReceived{From: netip.MustParseAddr("198.51.100.2"), Priority: 200, Interval: time.Second})
	if got := strings.Join(transitions(acts), " "); got != "db:BACKUP:higher priority advert web:BACKUP:sync group" {
		t.Fatalf("transitions %q", got)
	}
	wantStates(t, states(web, db), StateBackup, StateBackup)
	var removed []string
	for _, a := range acts {
		if _, ok := a.Action.(RemoveVIPs); ok {
			removed = append(removed, a.Instance)
		}
	}
	if strings.Join(removed, ",") != "db,web" {
		t.Errorf("VIPs removed for %v", removed)
	}
}

func TestSyncGroupFaultTogether(t *testing.T) {
	g, web, db := groupPair(t, false)
	g.Handle(t0, "web", Startup{})
	g.Handle(t0, "db", Startup{})
	// Bring both to Master.
	g.Handle(db.Deadline(), "db", TimerFired{})
	g.Handle(web.Deadline(), "web", TimerFired{})
	wantStates(t, states(web, db), StateMaster, StateMaster)

	now := t0.Add(time.Minute)
	acts := g.Handle(now, "web", TrackChanged{Name: "eth0", Status: TrackStatus{Up: false}})
	if got := strings.Join(transitions(acts), " "); got != "web:FAULT:fault db:FAULT:sync group" {
		t.Fatalf("transitions %q", got)
	}
	// db was Master: it must tell its Backup with priority 0.
	var db0 bool
	for _, a := range acts {
		if a.Instance == "db" && a.Action == (SendAdvert{0}) {
			db0 = true
		}
	}
	if !db0 {
		t.Errorf("db sent no priority 0 advert: %v", acts)
	}
	// db has no fault of its own, yet stays down while web is down.
	if acts := g.Handle(now, "db", Recover{Source: "anything"}); len(transitions(acts)) != 0 {
		t.Fatalf("db left fault alone: %v", transitions(acts))
	}
	acts = g.Handle(now.Add(time.Second), "web", TrackChanged{Name: "eth0", Status: TrackStatus{Up: true}})
	if got := strings.Join(transitions(acts), " "); got != "web:BACKUP:fault cleared db:BACKUP:fault cleared" {
		t.Fatalf("transitions %q", got)
	}
}

func TestSyncGroupTrackingWeights(t *testing.T) {
	// Without sync_group_tracking_weight a weighted script failing is a Fault.
	g, web, db := groupPair(t, false)
	g.Handle(t0, "web", Startup{})
	g.Handle(t0, "db", Startup{})
	if web.Priority() != 100 {
		t.Errorf("weight not zeroed: priority %d", web.Priority())
	}
	g.Handle(t0, "web", TrackChanged{Name: "chk", Status: TrackStatus{Up: false}})
	wantStates(t, states(web, db), StateFault, StateFault)

	// With it, the weight moves the priority and nobody faults.
	g, web, db = groupPair(t, true)
	g.Handle(t0, "web", Startup{})
	g.Handle(t0, "db", Startup{})
	if web.Priority() != 120 {
		t.Errorf("priority %d, want 120", web.Priority())
	}
	g.Handle(t0, "web", TrackChanged{Name: "chk", Status: TrackStatus{Up: false}})
	wantStates(t, states(web, db), StateBackup, StateBackup)
	if web.Priority() != 100 {
		t.Errorf("priority %d, want 100", web.Priority())
	}
}

func TestSyncGroupLowerPriorityGARP(t *testing.T) {
	g, web, db := groupPair(t, false)
	g.Handle(t0, "web", Startup{})
	g.Handle(t0, "db", Startup{})
	g.Handle(db.Deadline(), "db", TimerFired{})
	g.Handle(web.Deadline(), "web", TimerFired{})
	acts := g.Handle(t0.Add(time.Minute), "web", AdvertReceived{From: netip.MustParseAddr("192.0.2.2"), Priority: 50, Interval: time.Second})
	var garp []string
	for _, a := range acts {
		if _, ok := a.Action.(SendGARP); ok {
			garp = append(garp, a.Instance)
		}
	}
	if strings.Join(garp, ",") != "web,db" {
		t.Errorf("GARP for %v, want web,db", garp)
	}
}

func TestNewSyncGroupErrors(t *testing.T) {
	if _, err := NewSyncGroup("empty", false); err == nil {
		t.Error("empty group accepted")
	}
	a := mustInstance(t, cfg3("a", 100, "192.0.2.1"))
	a2 := mustInstance(t, cfg3("a", 100, "192.0.2.1"))
	if _, err := NewSyncGroup("dup", false, a, a2); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate names: %v", err)
	}
	if _, err := NewSyncGroup("one", false, a); err != nil {
		t.Fatal(err)
	}
	if _, err := NewSyncGroup("two", false, a); err == nil || !strings.Contains(err.Error(), "already") {
		t.Errorf("member of two groups: %v", err)
	}
	g, _ := NewSyncGroup("x", false, a2)
	if acts := g.Handle(t0, "nobody", Startup{}); acts != nil {
		t.Errorf("unknown member: %v", acts)
	}
}
