package vrrp

import (
	"context"
	"sync"
	"time"

	"github.com/lbd-project/lbd/internal/clock"
)

// Clock is the time source of a [Runner]: protocol timers, GARP delays,
// tracker polls, the handover wait. Tests inject a fake one so that
// master-down intervals and handover timeouts are checked without
// sleeping (package vrrp/vrrptest).
type Clock = clock.Clock

// SystemClock is the real clock.
type SystemClock = clock.System

// sleep waits d on c; it reports false if ctx ended first.
func sleep(ctx context.Context, c Clock, d time.Duration) bool {
	ch := make(chan struct{})
	stop := c.AfterFunc(d, func() { close(ch) })
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		stop()
		return false
	}
}

// ticker sends the time on C every d by its clock until stop; a tick that
// finds C full is dropped, as with time.Ticker.
type ticker struct {
	C     chan time.Time
	clock Clock
	d     time.Duration

	mu     sync.Mutex
	cancel func() bool
	done   bool
}

func newTicker(c Clock, d time.Duration) *ticker {
	t := &ticker{C: make(chan time.Time, 1), clock: c, d: d}
	t.mu.Lock()
	t.cancel = c.AfterFunc(d, t.tick)
	t.mu.Unlock()
	return t
}

func (t *ticker) tick() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return
	}
	select {
	case t.C <- t.clock.Now():
	default:
	}
	t.cancel = t.clock.AfterFunc(t.d, t.tick)
}

func (t *ticker) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done = true
	t.cancel()
}
