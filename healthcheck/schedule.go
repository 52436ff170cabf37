package healthcheck

import "time"

// schedule is a min-heap of targets ordered by their next due time: one
// structure and one timer serve every target, instead of a sleeping
// goroutine each.
//
// Each entry carries its key next to the target pointer, so that the
// comparisons of a push or pop (about 2·log2(n), 28 for 12,000 targets)
// read one array instead of chasing a pointer to every target compared;
// with thousands of targets those were cache misses, a few percent of all
// the Runner's CPU.
type schedule []entry

type entry struct {
	key int64 // target.key
	t   *target
}

// add queues t by its key (due time).
func (s *schedule) add(t *target) {
	*s = append(*s, entry{t.key, t})
	s.up(len(*s) - 1)
}

// remove takes t out of the heap if it is queued.
func (s *schedule) remove(t *target) {
	i := t.index
	if i < 0 {
		return
	}
	last := len(*s) - 1
	if i != last {
		s.swap(i, last)
	}
	(*s)[last] = entry{}
	*s = (*s)[:last]
	t.index = -1
	if i != last {
		if !s.down(i) {
			s.up(i)
		}
	}
}

// next returns the earliest due time, or false if the heap is empty.
func (s schedule) next() (time.Time, bool) {
	if len(s) == 0 {
		return time.Time{}, false
	}
	return s[0].t.due, true
}

// popDue removes and returns the earliest target if it is due by now (a
// key).
func (s *schedule) popDue(now int64) *target {
	if len(*s) == 0 || (*s)[0].key > now {
		return nil
	}
	t := (*s)[0].t
	s.remove(t)
	return t
}

func (s schedule) swap(i, j int) {
	s[i], s[j] = s[j], s[i]
	s[i].t.index, s[j].t.index = i, j
}

func (s schedule) up(i int) {
	s[i].t.index = i
	for i > 0 {
		p := (i - 1) / 2
		if s[p].key <= s[i].key {
			return
		}
		s.swap(i, p)
		i = p
	}
}

// down sifts entry i towards the leaves; it reports whether it moved.
func (s schedule) down(i int) bool {
	start := i
	for {
		l := 2*i + 1
		if l >= len(s) {
			break
		}
		m := l
		if r := l + 1; r < len(s) && s[r].key < s[l].key {
			m = r
		}
		if s[i].key <= s[m].key {
			break
		}
		s.swap(i, m)
		i = m
	}
	return i > start
}
