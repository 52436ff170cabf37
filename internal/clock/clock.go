// Package clock is the time source of lbd's protocol loops (the VRRP
// runner, the BFD manager): real time in production, a clock that moves
// only when told in tests (package fakeclock), so protocol timers are
// checked without sleeping.
package clock

import "time"

// Clock is a time source.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has elapsed, unless
	// stop is called first (stop reports whether it prevented the call).
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// System is the real clock.
type System struct{}

// Now implements Clock.
func (System) Now() time.Time { return time.Now() }

// AfterFunc implements Clock.
func (System) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}
