package healthcheck

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"
)

// Target is one thing to check: an identifier chosen by the caller (e.g.
// "vs1/192.0.2.15:80/http"), the checker and its schedule.
type Target struct {
	ID      string
	Checker Checker
	Options Options
}

// Event reports that a target changed: it went up, went down, or its
// dynamic weight changed while up. Targets start up (down with Alpha)
// without an event.
type Event struct {
	ID string
	// Up is the new state.
	Up bool
	// Weight is the dynamic weight while up, or NoWeight.
	Weight int
	// Reason and Latency come from the probe that caused the change.
	Reason  string
	Latency time.Duration
	// Time is when the probe finished, by the Runner's clock.
	Time time.Time
}

// String formats e for logs.
func (e Event) String() string {
	st := "DOWN"
	if e.Up {
		st = "UP"
	}
	return fmt.Sprintf("%s %s (%s, %v)", e.ID, st, e.Reason, e.Latency.Round(time.Microsecond))
}

// RunnerConfig configures a Runner.
type RunnerConfig struct {
	// Workers bounds how many probes run at once; 0 means 64 per CPU
	// (probes mostly wait on the network or a child process).
	Workers int
	// Events receives every transition. The Runner blocks until each event
	// is taken, so the consumer must keep reading until Run returns.
	Events chan<- Event
	// Clock defaults to SystemClock.
	Clock Clock
	// Rand returns a random duration in [0, n) for warmup; defaults to
	// math/rand/v2.
	Rand func(n time.Duration) time.Duration
}

// Runner schedules the probes of many targets. One goroutine owns all
// target state and a heap of due times; a fixed pool of workers runs the
// probes. Targets can be added and removed while it runs.
type Runner struct {
	cfg RunnerConfig

	mu   sync.Mutex
	ids  map[string]bool // targets added and not removed, for Add's check
	ops  []op            // pending Add/Remove for the owner goroutine
	poke chan struct{}   // capacity 1: "ops has something"
}

type op struct {
	add    *Target
	remove string
}

// target is the owner goroutine's record of one Target.
type target struct {
	Target
	opts    Options // normalized
	st      state
	due     time.Time
	index   int // in schedule, -1 when not queued
	removed bool
}

type done struct {
	t   *target
	res Result
}

// NewRunner returns a Runner; call Run to start it.
func NewRunner(cfg RunnerConfig) *Runner {
	if cfg.Workers <= 0 {
		cfg.Workers = 64 * runtime.NumCPU()
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Rand == nil {
		cfg.Rand = func(n time.Duration) time.Duration { return rand.N(n) }
	}
	return &Runner{cfg: cfg, ids: make(map[string]bool), poke: make(chan struct{}, 1)}
}

// Add registers a target. Its first probe runs after a random part of its
// Warmup. It is an error to add an ID twice without removing it first.
func (r *Runner) Add(t Target) error {
	if t.Checker == nil {
		return fmt.Errorf("healthcheck: target %q has no checker", t.ID)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids[t.ID] {
		return fmt.Errorf("healthcheck: target %q already added", t.ID)
	}
	r.ids[t.ID] = true
	r.ops = append(r.ops, op{add: &t})
	r.signal()
	return nil
}

// Remove unregisters a target; a probe in flight finishes but its result is
// dropped. Removing an unknown ID does nothing.
func (r *Runner) Remove(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ids[id] {
		return
	}
	delete(r.ids, id)
	r.ops = append(r.ops, op{remove: id})
	r.signal()
}

func (r *Runner) signal() {
	select {
	case r.poke <- struct{}{}:
	default:
	}
}

// Run schedules probes until ctx is cancelled, then cancels the probes in
// flight, waits for the workers and returns ctx's error.
func (r *Runner) Run(ctx context.Context) error {
	jobs := make(chan *target)
	results := make(chan done)
	var wg sync.WaitGroup
	for range r.cfg.Workers {
		wg.Go(func() {
			for t := range jobs {
				// The timeout starts when the probe does, not while it
				// waits for a worker.
				pctx, cancel := context.WithTimeout(ctx, t.opts.Timeout)
				res := t.Checker.Check(pctx)
				cancel()
				select {
				case results <- done{t, res}:
				case <-ctx.Done():
				}
			}
		})
	}
	defer wg.Wait()
	defer close(jobs)

	l := loop{r: r, ctx: ctx, targets: make(map[string]*target)}
	for {
		l.dequeueDue()
		var send chan *target
		var next *target
		if len(l.ready) > 0 {
			send = jobs
			next = l.ready[0]
		}
		timer, stop := l.arm()
		select {
		case <-ctx.Done():
			stop()
			return ctx.Err()
		case <-r.poke:
			l.applyOps()
		case <-timer:
		case send <- next:
			l.ready = l.ready[1:]
		case d := <-results:
			l.finish(d)
		}
		stop()
	}
}

// loop is the state owned by Run's goroutine.
type loop struct {
	r       *Runner
	ctx     context.Context
	targets map[string]*target
	heap    schedule
	ready   []*target // due probes waiting for a free worker
}

// arm returns a timer for the earliest due target (nil channel if none).
func (l *loop) arm() (<-chan time.Time, func() bool) {
	due, ok := l.heap.next()
	if !ok {
		return nil, func() bool { return false }
	}
	return l.r.cfg.Clock.NewTimer(due.Sub(l.r.cfg.Clock.Now()))
}

// dequeueDue moves every due target to the ready queue.
func (l *loop) dequeueDue() {
	now := l.r.cfg.Clock.Now()
	for t := l.heap.popDue(now); t != nil; t = l.heap.popDue(now) {
		l.ready = append(l.ready, t)
	}
}

func (l *loop) applyOps() {
	l.r.mu.Lock()
	ops := l.r.ops
	l.r.ops = nil
	l.r.mu.Unlock()
	now := l.r.cfg.Clock.Now()
	for _, o := range ops {
		if o.add != nil {
			opts := o.add.Options.normalized()
			t := &target{Target: *o.add, opts: opts, st: newState(opts), index: -1}
			l.targets[t.ID] = t
			var delay time.Duration
			if opts.Warmup > 0 {
				delay = l.r.cfg.Rand(opts.Warmup)
			}
			l.heap.add(t, now.Add(delay))
			continue
		}
		if t, ok := l.targets[o.remove]; ok {
			t.removed = true
			l.heap.remove(t)
			delete(l.targets, o.remove)
			l.dropReady(t)
		}
	}
}

// dropReady removes a removed target's queued probe.
func (l *loop) dropReady(t *target) {
	for i, rt := range l.ready {
		if rt == t {
			l.ready = append(l.ready[:i], l.ready[i+1:]...)
			return
		}
	}
}

// finish applies a probe result, emits an event on change and reschedules.
func (l *loop) finish(d done) {
	t := d.t
	if t.removed {
		return
	}
	wait, changed := t.st.apply(t.opts, d.res)
	now := l.r.cfg.Clock.Now()
	if changed && l.r.cfg.Events != nil {
		ev := Event{ID: t.ID, Up: t.st.up, Weight: t.st.weight, Reason: d.res.Reason, Latency: d.res.Latency, Time: now}
		if !t.st.up {
			ev.Weight = NoWeight
		}
		select {
		case l.r.cfg.Events <- ev:
		case <-l.ctx.Done():
		}
	}
	l.heap.add(t, now.Add(wait))
}
