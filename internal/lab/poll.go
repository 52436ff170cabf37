package lab

import (
	"testing"
	"time"
)

// Poll asks cond every interval until it holds or limit has passed, and
// returns how long that took and whether cond held. cond is asked once
// more at the limit, so a condition met while the last interval slept is
// not reported as a timeout.
func Poll(limit, interval time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for time.Since(start) < limit {
		if cond() {
			return time.Since(start), true
		}
		time.Sleep(interval)
	}
	return time.Since(start), cond()
}

// WaitFor fails tb at once unless cond holds within limit (asked every
// interval); what names the condition in the failure.
func WaitFor(tb testing.TB, limit, interval time.Duration, what string, cond func() bool) {
	tb.Helper()
	if _, ok := Poll(limit, interval, cond); !ok {
		tb.Fatalf("timed out after %v waiting for %s", limit, what)
	}
}
