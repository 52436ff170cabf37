// Package events keeps lbd's recent events — VRRP transitions, real
// servers going up or down, reloads — in a bounded ring, for `ipvsctl
// status` and the status page: what happened lately, and why, without
// reading the journal.
//
// The ring is written from the goroutines where things happen (a VRRP
// runner, the engine, the daemon loop) and read by status requests, so it
// has a mutex of its own; Add never blocks for long and never grows the
// ring. Each event is bounded too: a reload of a 10,000-service file keeps
// the first changes of its plan, not all of them.
package events

import (
	"fmt"
	"slices"
	"sync"
	"unicode/utf8"

	"github.com/lbd-project/lbd/internal/control"
)

// The bounds of one event.
const (
	// MaxText bounds the subject and the message, in bytes.
	MaxText = 512
	// MaxDetail bounds the detail lines kept (one more says how many
	// were left out), and MaxText each line.
	MaxDetail = 50
)

// Ring holds the last events; the zero value is not usable (see New).
type Ring struct {
	mu   sync.Mutex
	buf  []control.Event // circular once full
	next int             // where the next event goes once full
}

// New returns a ring that keeps the last size events.
func New(size int) *Ring {
	return &Ring{buf: make([]control.Event, 0, size)}
}

// Add records e, bounded, dropping the oldest event when the ring is full.
func (r *Ring) Add(e control.Event) {
	e.Subject, e.Message = clip(e.Subject), clip(e.Message)
	if len(e.Detail) > 0 {
		n := min(len(e.Detail), MaxDetail)
		d := make([]string, n, n+1)
		for i, l := range e.Detail[:n] {
			d[i] = clip(l)
		}
		if more := len(e.Detail) - n; more > 0 {
			d = append(d, fmt.Sprintf("(%d more)", more))
		}
		e.Detail = d
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf) < cap(r.buf) {
		r.buf = append(r.buf, e)
		return
	}
	r.buf[r.next] = e
	r.next = (r.next + 1) % len(r.buf)
}

// List returns the events, oldest first. The events' Detail slices are
// shared with the ring, which never changes them.
func (r *Ring) List() []control.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append(slices.Clone(r.buf[r.next:]), r.buf[:r.next]...)
}

// clip cuts s to MaxText bytes, on a character boundary.
func clip(s string) string {
	if len(s) <= MaxText {
		return s
	}
	i := MaxText - len("…")
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
