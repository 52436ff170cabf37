package healthcheck

import "time"

// state is the health of one target: up/down with rise/fall counters and
// the retry budget of the current round. It is pure logic, no time source.
type state struct {
	up        bool
	weight    int
	oks       int // consecutive passed rounds
	fails     int // consecutive failed rounds
	retryLeft int
}

func newState(o Options) state {
	return state{up: !o.Alpha, weight: NoWeight, retryLeft: o.Retry}
}

// apply folds one probe result into the state. It returns how long to wait
// before the next probe and whether the target changed (up/down, or weight
// while up).
func (s *state) apply(o Options, r Result) (next time.Duration, changed bool) {
	if !r.OK && s.up && s.retryLeft > 0 {
		s.retryLeft--
		return o.DelayBeforeRetry, false
	}
	s.retryLeft = o.Retry
	if r.OK {
		s.oks++
		s.fails = 0
		if !s.up && s.oks >= o.Rise {
			s.up, s.weight = true, r.Weight
			return o.DelayLoop, true
		}
		if s.up && r.Weight != s.weight {
			s.weight = r.Weight
			return o.DelayLoop, true
		}
		return o.DelayLoop, false
	}
	s.fails++
	s.oks = 0
	if s.up && s.fails >= o.Fall {
		s.up = false
		return o.DelayLoop, true
	}
	return o.DelayLoop, false
}
