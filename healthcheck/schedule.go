package healthcheck

import (
	"container/heap"
	"time"
)

// schedule is a min-heap of targets ordered by their next due time: one
// structure and one timer serve every target, instead of a sleeping
// goroutine each.
type schedule []*target

func (s schedule) Len() int           { return len(s) }
func (s schedule) Less(i, j int) bool { return s[i].key < s[j].key }
func (s schedule) Swap(i, j int) {
	s[i], s[j] = s[j], s[i]
	s[i].index, s[j].index = i, j
}

// Push implements heap.Interface; use add.
func (s *schedule) Push(x any) {
	t := x.(*target)
	t.index = len(*s)
	*s = append(*s, t)
}

// Pop implements heap.Interface; use popDue or remove.
func (s *schedule) Pop() any {
	old := *s
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*s = old[:len(old)-1]
	t.index = -1
	return t
}

// add queues t by its key (due time).
func (s *schedule) add(t *target) {
	heap.Push(s, t)
}

// remove takes t out of the heap if it is queued.
func (s *schedule) remove(t *target) {
	if t.index >= 0 {
		heap.Remove(s, t.index)
	}
}

// next returns the earliest due time, or false if the heap is empty.
func (s schedule) next() (time.Time, bool) {
	if len(s) == 0 {
		return time.Time{}, false
	}
	return s[0].due, true
}

// popDue removes and returns the earliest target if it is due by now (a
// key).
func (s *schedule) popDue(now int64) *target {
	if len(*s) == 0 || (*s)[0].key > now {
		return nil
	}
	return heap.Pop(s).(*target)
}
