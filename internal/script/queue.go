package script

import (
	"cmp"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// QueueConfig configures a Queue.
type QueueConfig struct {
	// Len is how many jobs may wait behind the running one; a Push beyond
	// it is dropped.
	Len int
	// Log receives one line per job; default slog.Default().
	Log *slog.Logger
}

// QueueStats counts a Queue's jobs, for metrics.
type QueueStats struct {
	Run     uint64 // jobs run
	Failed  uint64 // of those, the ones that did not exit 0
	Dropped uint64 // jobs never run: the queue was full or closing
}

// Queue runs jobs one at a time, in the order they were pushed, so the
// scripts of successive state changes cannot overtake each other
// (keepalived runs them concurrently and out of order). Push never
// blocks: the callers are state machines that must not wait for a script.
type Queue struct {
	log    *slog.Logger
	jobs   chan job
	done   chan struct{}
	ctx    context.Context // ends when Close gives up waiting
	cancel context.CancelFunc

	mu     sync.Mutex // orders Push against Close closing jobs
	closed bool

	run, failed, dropped atomic.Uint64
}

type job struct {
	what string
	spec Spec
}

// NewQueue starts a queue; Close stops it.
func NewQueue(cfg QueueConfig) *Queue {
	q := &Queue{log: cmp.Or(cfg.Log, slog.Default()), jobs: make(chan job, cfg.Len), done: make(chan struct{})}
	q.ctx, q.cancel = context.WithCancel(context.Background())
	go q.loop()
	return q
}

// Push queues s; what names it in logs, e.g. "notify_down web 192.0.2.15:80".
// It reports false, logs and counts the job as dropped if the queue is
// full or closed.
func (q *Queue) Push(what string, s Spec) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		select {
		case q.jobs <- job{what, s}:
			return true
		default:
		}
	}
	q.log.Error("script not run: queue full or closed", "script", what, "argv", strings.Join(s.Argv, " "),
		"dropped_total", q.dropped.Add(1))
	return false
}

func (q *Queue) loop() {
	defer close(q.done)
	for j := range q.jobs {
		if q.ctx.Err() != nil {
			q.dropped.Add(1)
			q.log.Warn("script skipped at shutdown", "script", j.what)
			continue
		}
		q.exec(j)
	}
}

func (q *Queue) exec(j job) {
	r := Run(q.ctx, j.spec)
	q.run.Add(1)
	argv := strings.Join(j.spec.Argv, " ")
	if r.OK() {
		q.log.Info("script done", "script", j.what, "argv", argv, "took", r.Duration.Round(time.Millisecond))
		return
	}
	q.failed.Add(1)
	q.log.Warn("script failed", "script", j.what, "argv", argv, "result", r.String(), "output", string(r.Output))
}

// Close stops taking jobs and runs those queued for at most wait; then it
// kills the running one, skips the rest and returns once the queue has
// stopped.
func (q *Queue) Close(wait time.Duration) {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.jobs)
	}
	q.mu.Unlock()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-q.done:
	case <-t.C:
		q.log.Warn("scripts still running at stop; killing them", "waited", wait)
		q.cancel()
		<-q.done
	}
	q.cancel()
}

// Stats returns the counters so far.
func (q *Queue) Stats() QueueStats {
	return QueueStats{Run: q.run.Load(), Failed: q.failed.Load(), Dropped: q.dropped.Load()}
}
