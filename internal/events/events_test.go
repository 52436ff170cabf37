package events

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/lbd-project/lbd/internal/control"
)

func TestRingKeepsTheLastOldestFirst(t *testing.T) {
	r := New(3)
	if got := r.List(); len(got) != 0 {
		t.Fatalf("empty ring lists %v", got)
	}
	for i := range 5 {
		r.Add(control.Event{Kind: control.EventVRRP, Message: fmt.Sprint(i)})
		got := r.List()
		if want := min(i+1, 3); len(got) != want {
			t.Fatalf("after %d events: %d listed, want %d", i+1, len(got), want)
		}
		if last := got[len(got)-1].Message; last != fmt.Sprint(i) {
			t.Fatalf("after event %d the newest is %q", i, last)
		}
	}
	var msgs []string
	for _, e := range r.List() {
		msgs = append(msgs, e.Message)
	}
	if got := strings.Join(msgs, ","); got != "2,3,4" {
		t.Errorf("ring holds %s, want 2,3,4", got)
	}
}

func TestRingBoundsEachEvent(t *testing.T) {
	r := New(1)
	long := strings.Repeat("é", MaxText) // 2 bytes each: cut in the middle of none
	plan := make([]string, MaxDetail+7)
	for i := range plan {
		plan[i] = long
	}
	r.Add(control.Event{Subject: long, Message: long, Detail: plan})
	e := r.List()[0]
	for name, s := range map[string]string{"subject": e.Subject, "message": e.Message, "detail": e.Detail[0]} {
		if len(s) > MaxText || !utf8.ValidString(s) || !strings.HasSuffix(s, "…") {
			t.Errorf("%s: %d bytes, valid UTF-8 %v, want at most %d ending in …", name, len(s), utf8.ValidString(s), MaxText)
		}
	}
	if len(e.Detail) != MaxDetail+1 || e.Detail[MaxDetail] != "(7 more)" {
		t.Errorf("detail: %d lines ending %q, want %d ending (7 more)", len(e.Detail), e.Detail[len(e.Detail)-1], MaxDetail+1)
	}
	if plan[0] != long {
		t.Error("Add changed the caller's detail lines")
	}
}

func TestRingConcurrent(t *testing.T) {
	r := New(10)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				r.Add(control.Event{Message: "x"})
				r.List()
			}
		})
	}
	wg.Wait()
	if n := len(r.List()); n != 10 {
		t.Errorf("%d events after 400 adds into a ring of 10", n)
	}
}
