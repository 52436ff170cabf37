package healthcheck

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestScheduleHeap: random adds and removes keep the heap ordered and
// every target's index pointing at its entry; pops come out in key order.
func TestScheduleHeap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var s schedule
	queued := map[*target]bool{}
	check := func() {
		for i, e := range s {
			if e.t.index != i || e.key != e.t.key {
				t.Fatalf("entry %d: index %d key %d/%d", i, e.t.index, e.key, e.t.key)
			}
			if i > 0 && s[(i-1)/2].key > e.key {
				t.Fatalf("entry %d smaller than its parent", i)
			}
		}
	}
	for range 5000 {
		switch rng.IntN(3) {
		case 0, 1:
			tg := &target{key: rng.Int64N(1000), index: -1}
			s.add(tg)
			queued[tg] = true
		case 2:
			for tg := range queued { // any one
				s.remove(tg)
				s.remove(tg) // twice: a no-op
				delete(queued, tg)
				if tg.index != -1 {
					t.Fatal("removed target keeps an index")
				}
				break
			}
		}
		check()
	}
	var keys []int64
	for tg := s.popDue(1 << 62); tg != nil; tg = s.popDue(1 << 62) {
		keys = append(keys, tg.key)
	}
	if len(keys) != len(queued) || !slices.IsSorted(keys) {
		t.Fatalf("popped %d keys (want %d), sorted %v", len(keys), len(queued), slices.IsSorted(keys))
	}
	tg := &target{key: 10, index: -1}
	s.add(tg)
	if s.popDue(9) != nil || s.popDue(10) != tg {
		t.Fatal("popDue ignores the due time")
	}
}
