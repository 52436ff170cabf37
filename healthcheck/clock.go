package healthcheck

import "time"

// Clock is the time source of a Runner; tests inject a fake one so that
// rise/fall and retry schedules are checked without sleeping.
type Clock interface {
	Now() time.Time
	// NewTimer returns a channel that receives once d has elapsed, and a
	// function that stops the timer.
	NewTimer(d time.Duration) (<-chan time.Time, func() bool)
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now implements Clock.
func (SystemClock) Now() time.Time { return time.Now() }

// NewTimer implements Clock.
func (SystemClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}
