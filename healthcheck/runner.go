package healthcheck

import (
	"context"
	"fmt"
	"math/rand/v2"
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
	// Workers bounds how many probes run at once; 0 means DefaultWorkers.
	// Probes mostly wait on the network or a child process, so the bound
	// is about memory, not CPU: a worker is one parked goroutine.
	Workers int
	// Events receives every transition. The Runner blocks until each event
	// is taken, so the consumer must keep reading until Run returns.
	Events chan<- Event
	// Clock defaults to SystemClock.
	Clock Clock
	// Rand returns a random duration in [0, n) for warmup; defaults to
	// math/rand/v2.
	Rand func(n time.Duration) time.Duration
	// Started, if set, is called by a worker as each probe starts, with how
	// late the probe starts compared with when it was due (by the Clock).
	// It is meant for a lateness metric: it must be cheap and safe for
	// concurrent use.
	Started func(late time.Duration)
}

// DefaultWorkers is how many probes a Runner runs at once by default. By
// Little's law the pool must hold checks per second times probe duration:
// 12,000 checks a second at 20 ms each need 240 workers, and every server
// that times out holds one for connect_timeout. Workers are started as
// probes need them, so the bound costs nothing until it is used; a busy
// worker costs a few KiB of goroutine stack.
const DefaultWorkers = 1024

// quickChecker is implemented by checkers whose probe usually ends without
// waiting (TCP_CHECK against a local server). The Runner calls quickCheck
// in its own goroutine, which saves handing the probe to a worker and
// back; when the probe must wait after all, quickCheck returns wait, which
// a worker then runs with a context bounded by the probe's timeout. start
// is when the probe starts, for its latency.
type quickChecker interface {
	quickCheck(start time.Time) (res Result, wait func(context.Context) Result)
}

// Runner schedules the probes of many targets. One goroutine owns all
// target state and a heap of due times; a bounded pool of workers runs the
// probes that wait, and quick probes run in the owner goroutine itself.
// Targets can be added and removed while it runs.
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
	quick   quickChecker
	st      state
	due     time.Time
	key     int64 // due as nanoseconds since the loop's epoch, for the heap
	index   int   // in schedule, -1 when not queued
	removed bool
	// wait, when set, is the rest of a quick probe that has to wait; the
	// worker runs it until deadline.
	wait     func(context.Context) Result
	deadline time.Time
}

type done struct {
	t   *target
	res Result
}

// NewRunner returns a Runner; call Run to start it.
func NewRunner(cfg RunnerConfig) *Runner {
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
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
	// Both channels hold one item per worker, so handing a probe over or
	// back rarely needs the other side to be waiting.
	jobs := make(chan *target, r.cfg.Workers)
	results := make(chan done, r.cfg.Workers)
	var wg sync.WaitGroup
	worker := func() {
		for t := range jobs {
			var res Result
			if t.wait != nil {
				pctx, cancel := context.WithDeadline(ctx, t.deadline)
				res = t.wait(pctx)
				cancel()
			} else {
				if r.cfg.Started != nil {
					r.cfg.Started(r.cfg.Clock.Now().Sub(t.due))
				}
				// The timeout starts when the probe does, not while it
				// waits for a worker.
				pctx, cancel := context.WithTimeout(ctx, t.opts.Timeout)
				res = t.Checker.Check(pctx)
				cancel()
			}
			select {
			case results <- done{t, res}:
			case <-ctx.Done():
			}
		}
	}
	defer wg.Wait()
	defer close(jobs)

	l := loop{r: r, ctx: ctx, targets: make(map[string]*target), epoch: r.cfg.Clock.Now()}
	defer l.disarm()
	for {
		l.dequeueDue()
		more := l.runQuick()
		var send chan *target
		var next *target
		if len(l.ready) > 0 {
			send = jobs
			next = l.ready[0]
		}
		l.arm()
		// While quick probes are left over, poll the channels instead of
		// blocking on them.
		var again <-chan struct{}
		if more {
			again = closedChan
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.poke:
			l.applyOps()
		case <-l.timer:
			l.timer, l.stopTimer = nil, nil
		case send <- next:
			l.ready[0] = nil
			l.ready = l.ready[1:]
			// Start a worker when every started one is busy, so the pool
			// grows to the concurrency probes need and no further.
			l.busy++
			if l.busy > l.workers && l.workers < r.cfg.Workers {
				l.workers++
				wg.Go(worker)
			}
		case d := <-results:
			l.busy--
			l.finish(d)
		case <-again:
		}
	}
}

// closedChan is always ready to receive.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// coalesce is how early a probe may be handed out: one timer wake-up
// dispatches every probe due within it, instead of one wake-up per probe.
const coalesce = time.Millisecond

// quickBatch bounds how many quick probes the owner goroutine runs before
// it looks at its channels again, so that a burst of due targets (all of
// them at start without warmup) does not hold up results and Add/Remove.
const quickBatch = 128

// loop is the state owned by Run's goroutine.
type loop struct {
	r       *Runner
	ctx     context.Context
	targets map[string]*target
	epoch   time.Time // origin of target.key
	heap    schedule
	quick   []*target // due quick probes, run by the loop itself
	ready   []*target // due probes waiting for a free worker
	workers int       // started
	busy    int       // probes handed to workers and not yet back

	// The timer for the earliest due target; it is kept while that time
	// does not change, rather than made anew on every turn of the loop.
	timer     <-chan time.Time
	stopTimer func() bool
	armedAt   time.Time
}

// arm makes the timer fire at the earliest due time (no timer if none).
func (l *loop) arm() {
	due, ok := l.heap.next()
	if l.timer != nil && ok && due.Equal(l.armedAt) {
		return
	}
	l.disarm()
	if ok {
		l.timer, l.stopTimer = l.r.cfg.Clock.NewTimer(due.Sub(l.r.cfg.Clock.Now()))
		l.armedAt = due
	}
}

func (l *loop) disarm() {
	if l.stopTimer != nil {
		l.stopTimer()
	}
	l.timer, l.stopTimer = nil, nil
}

// schedule queues t to be due at due.
func (l *loop) schedule(t *target, due time.Time) {
	t.due, t.key = due, int64(due.Sub(l.epoch))
	l.heap.add(t)
}

// dequeueDue moves every target due now, or within coalesce, to the quick
// or the ready queue.
func (l *loop) dequeueDue() {
	now := int64(l.r.cfg.Clock.Now().Add(coalesce).Sub(l.epoch))
	for t := l.heap.popDue(now); t != nil; t = l.heap.popDue(now) {
		if t.quick != nil {
			l.quick = append(l.quick, t)
		} else {
			l.ready = append(l.ready, t)
		}
	}
}

// runQuick runs up to quickBatch quick probes; a probe that has to wait
// goes to the workers. It reports whether quick probes are left.
func (l *loop) runQuick() bool {
	n := min(len(l.quick), quickBatch)
	for i, t := range l.quick[:n] {
		l.quick[i] = nil
		if l.r.cfg.Started != nil {
			l.r.cfg.Started(l.r.cfg.Clock.Now().Sub(t.due))
		}
		// Latency and the timeout are real time, as for worker probes,
		// whatever the Clock.
		start := time.Now()
		res, wait := t.quick.quickCheck(start)
		if wait == nil {
			l.finish(done{t, res})
			continue
		}
		t.wait, t.deadline = wait, start.Add(t.opts.Timeout)
		l.ready = append(l.ready, t)
	}
	l.quick = l.quick[n:]
	if len(l.quick) == 0 {
		l.quick = nil // let the backing array go after a burst
	}
	return len(l.quick) > 0
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
			t.quick, _ = t.Checker.(quickChecker)
			l.targets[t.ID] = t
			var delay time.Duration
			if opts.Warmup > 0 {
				delay = l.r.cfg.Rand(opts.Warmup)
			}
			l.schedule(t, now.Add(delay))
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
	for _, q := range []*[]*target{&l.quick, &l.ready} {
		for i, rt := range *q {
			if rt == t {
				*q = append((*q)[:i], (*q)[i+1:]...)
				return
			}
		}
	}
}

// finish applies a probe result, emits an event on change and reschedules.
func (l *loop) finish(d done) {
	t := d.t
	t.wait = nil
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
	l.schedule(t, now.Add(wait))
}
