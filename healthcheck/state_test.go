package healthcheck

import (
	"testing"
	"time"
)

func TestStateRiseFallRetry(t *testing.T) {
	o := Options{DelayLoop: 10 * time.Second, DelayBeforeRetry: time.Second, Retry: 1, Rise: 2, Fall: 2}.normalized()
	ok, bad := Result{OK: true, Weight: NoWeight}, Result{Weight: NoWeight}
	type step struct {
		r       Result
		next    time.Duration
		changed bool
		up      bool
	}
	steps := []step{
		{ok, 10 * time.Second, false, true},
		{bad, time.Second, false, true},                             // retry
		{bad, 10 * time.Second, false, true},                        // round 1 failed, fall 2
		{ok, 10 * time.Second, false, true},                         // resets the fall count
		{bad, time.Second, false, true},                             // retry
		{bad, 10 * time.Second, false, true},                        // round 1
		{bad, time.Second, false, true},                             // retry
		{bad, 10 * time.Second, true, false},                        // round 2: DOWN
		{bad, 10 * time.Second, false, false},                       // no retries while down
		{ok, 10 * time.Second, false, false},                        // rise 1 of 2
		{bad, 10 * time.Second, false, false},                       // resets the rise count
		{ok, 10 * time.Second, false, false},                        // rise 1 of 2
		{ok, 10 * time.Second, true, true},                          // UP
		{Result{OK: true, Weight: 7}, 10 * time.Second, true, true}, // weight change
		{Result{OK: true, Weight: 7}, 10 * time.Second, false, true},
	}
	s := newState(o)
	for i, st := range steps {
		next, changed := s.apply(o, st.r)
		if next != st.next || changed != st.changed || s.up != st.up {
			t.Fatalf("step %d: next %v changed %v up %v, want %v %v %v", i, next, changed, s.up, st.next, st.changed, st.up)
		}
	}
}

func TestStateAlpha(t *testing.T) {
	o := Options{Alpha: true}.normalized()
	s := newState(o)
	if s.up {
		t.Fatal("alpha must start down")
	}
	if _, changed := s.apply(o, Result{Weight: NoWeight}); changed {
		t.Fatal("failure while down is no transition")
	}
	if _, changed := s.apply(o, Result{OK: true, Weight: NoWeight}); !changed || !s.up {
		t.Fatal("first success must bring it up")
	}
}
