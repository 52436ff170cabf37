package healthcheck

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
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
// waiting (TCP_CHECK against a local server). The Runner hands such probes
// to workers in batches, which saves a hand-over per probe, and starts
// them without a context; when a probe must wait after all, quickCheck
// returns wait, which a worker then runs as a job of its own with a
// context bounded by the probe's timeout. start is when the probe starts,
// for its latency; sockets is the Runner's pool of idle sockets.
type quickChecker interface {
	quickCheck(start time.Time, sockets *socketPool) (res Result, wait func(context.Context) Result)
}

// pooledChecker is implemented by checkers that can take their sockets
// from the Runner's pool of idle ones (HTTP_GET); the Runner calls
// checkPooled instead of Check. The pool is only the Runner's to give: a
// wrapper that runs a probe elsewhere (in another network namespace, say)
// hides it, and Observe, which does not, passes it on.
type pooledChecker interface {
	checkPooled(ctx context.Context, sockets *socketPool) Result
}

// Runner schedules the probes of many targets. One goroutine owns all
// target state and a heap of due times; a bounded pool of workers runs the
// probes, quick ones in batches (see startQuick).
// Targets can be added and removed while it runs.
type Runner struct {
	cfg RunnerConfig

	mu sync.Mutex
	// ids holds the targets added and not removed (Add's check), each
	// with the slot its probes leave their last result in (Last).
	ids  map[string]*lastResult
	ops  []op          // pending Add/Remove for the owner goroutine
	poke chan struct{} // capacity 1: "ops has something"
}

// lastResult is where a target's probes leave their last result, written
// by the owner goroutine without taking the Runner's lock.
type lastResult struct{ p atomic.Pointer[Checked] }

type op struct {
	add    *Target
	last   *lastResult // of add
	remove string
}

// target is the owner goroutine's record of one Target.
type target struct {
	Target
	opts    Options // normalized
	quick   quickChecker
	pooled  pooledChecker
	st      state
	due     time.Time
	late    time.Duration // how late the probe in flight started, by the Clock
	key     int64         // due as nanoseconds since the loop's epoch, for the heap
	index   int           // in schedule, -1 when not queued
	removed bool
	last    *lastResult
	// wait, when set, is the rest of a quick probe that has to wait; the
	// worker runs it until deadline.
	wait     func(context.Context) Result
	deadline time.Time
}

// job is what a worker does: one probe (or the rest of one, t.wait), or a
// batch of quick probes.
type job struct {
	t     *target
	quick []*target
}

// done is a job's outcome: t's result, or one per quick probe.
type done struct {
	t     *target
	res   Result
	quick []quickDone
}

// quickDone is the outcome of starting a quick probe: its result, or the
// wait that finishes it.
type quickDone struct {
	t     *target
	res   Result
	wait  func(context.Context) Result
	start time.Time
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
	return &Runner{cfg: cfg, ids: make(map[string]*lastResult), poke: make(chan struct{}, 1)}
}

// Add registers a target. Its first probe runs after a random part of its
// Warmup. It is an error to add an ID twice without removing it first.
func (r *Runner) Add(t Target) error {
	if t.Checker == nil {
		return fmt.Errorf("healthcheck: target %q has no checker", t.ID)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids[t.ID] != nil {
		return fmt.Errorf("healthcheck: target %q already added", t.ID)
	}
	last := new(lastResult)
	r.ids[t.ID] = last
	r.ops = append(r.ops, op{add: &t, last: last})
	r.signal()
	return nil
}

// Checked is a probe's result and when it finished.
type Checked struct {
	Result
	At time.Time
}

// Last returns the result of id's last probe, for status: false before
// the first one, or for a target not added.
func (r *Runner) Last(id string) (Checked, bool) {
	r.mu.Lock()
	last := r.ids[id]
	r.mu.Unlock()
	if last == nil {
		return Checked{}, false
	}
	if c := last.p.Load(); c != nil {
		return *c, true
	}
	return Checked{}, false
}

// Remove unregisters a target; a probe in flight finishes but its result is
// dropped. Removing an unknown ID does nothing.
func (r *Runner) Remove(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids[id] == nil {
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
	// Both channels hold one item per worker, so handing a job over or
	// back rarely needs the other side to be waiting.
	jobs := make(chan job, r.cfg.Workers)
	results := make(chan done, r.cfg.Workers)
	// Idle probe sockets live as long as this Run: closed once the
	// workers are gone. TCP_CHECK's and HTTP_GET's are kept apart because
	// HTTP_GET's are registered with the runtime's network poller, where
	// TCP_CHECK's would wake it for nothing on every check.
	var sockets, fetchSockets socketPool
	defer sockets.drain()
	defer fetchSockets.drain()
	var wg sync.WaitGroup
	worker := func() {
		for j := range jobs {
			var d done
			if j.t != nil {
				d = done{t: j.t, res: r.probe(ctx, j.t, &fetchSockets)}
			} else {
				d = done{quick: r.startQuick(j.quick, &sockets)}
			}
			select {
			case results <- d:
			case <-ctx.Done():
				// The loop is gone: end the handshakes still in flight
				// (ctx is done, so at once) rather than leak their
				// sockets.
				for _, q := range d.quick {
					if q.wait != nil {
						q.wait(ctx)
					}
				}
			}
		}
	}
	defer wg.Wait()
	defer close(jobs)

	l := loop{r: r, ctx: ctx, targets: make(map[string]*target), epoch: r.cfg.Clock.Now()}
	defer l.disarm()
	defer l.endWaits()
	for {
		l.dequeueDue()
		var send chan job
		next, ok := l.nextJob()
		if ok {
			send = jobs
		}
		l.arm()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.poke:
			l.applyOps()
		case <-l.timer:
			l.timer, l.stopTimer = nil, nil
		case send <- next:
			l.sent(next)
			// Start a worker when every started one is busy, so the pool
			// grows to the concurrency probes need and no further.
			l.busy++
			if l.busy > l.workers && l.workers < r.cfg.Workers {
				l.workers++
				wg.Go(worker)
			}
		case d := <-results:
			l.busy--
			if d.t != nil {
				l.finish(d.t, d.res)
			}
			for _, q := range d.quick {
				if q.wait == nil {
					l.finish(q.t, q.res)
					continue
				}
				q.t.wait, q.t.deadline = q.wait, q.start.Add(q.t.opts.Timeout)
				l.ready = append(l.ready, q.t)
			}
		}
	}
}

// probe runs one probe, or the rest of a quick one, in a worker; sockets
// is the pool of pooled checkers.
func (r *Runner) probe(ctx context.Context, t *target, sockets *socketPool) Result {
	if t.wait != nil {
		pctx, cancel := context.WithDeadline(ctx, t.deadline)
		defer cancel()
		return t.wait(pctx)
	}
	r.started(t)
	// The timeout starts when the probe does, not while it waits for a
	// worker.
	pctx, cancel := context.WithTimeout(ctx, t.opts.Timeout)
	defer cancel()
	if t.pooled != nil {
		return t.pooled.checkPooled(pctx, sockets)
	}
	return t.Checker.Check(pctx)
}

// started records in t (for the loop, which reads it after the result)
// and reports how late t's probe starts.
func (r *Runner) started(t *target) {
	t.late = r.cfg.Clock.Now().Sub(t.due)
	if r.cfg.Started != nil {
		r.cfg.Started(t.late)
	}
}

// startQuick starts a batch of quick probes in a worker.
func (r *Runner) startQuick(ts []*target, sockets *socketPool) []quickDone {
	out := make([]quickDone, len(ts))
	for i, t := range ts {
		r.started(t)
		// Latency and the timeout are real time, as for other probes,
		// whatever the Clock.
		start := time.Now()
		res, wait := t.quick.quickCheck(start, sockets)
		out[i] = quickDone{t: t, res: res, wait: wait, start: start}
	}
	return out
}

// coalesce is how early a probe may be handed out: one timer wake-up
// dispatches every probe due within it, instead of one wake-up per probe.
const coalesce = time.Millisecond

// quickBatch is how many quick probes one job holds at most: enough to
// make the hand-over to a worker cheap per probe, few enough to spread a
// burst of due targets over the workers (and CPUs).
const quickBatch = 32

// loop is the state owned by Run's goroutine.
type loop struct {
	r       *Runner
	ctx     context.Context
	targets map[string]*target
	epoch   time.Time // origin of target.key
	heap    schedule
	quick   []*target // due quick probes, for workers in batches
	ready   []*target // due probes (or their rest) waiting for a worker
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

// nextJob returns the job to hand to a worker next, if any: waiting
// probes first, as they are few and already late by nature.
func (l *loop) nextJob() (job, bool) {
	if len(l.ready) > 0 {
		return job{t: l.ready[0]}, true
	}
	if len(l.quick) > 0 {
		// The worker reads the batch in l.quick's array, which the loop
		// never writes below l.quick's start again (see sent).
		n := min(len(l.quick), quickBatch)
		return job{quick: l.quick[:n:n]}, true
	}
	return job{}, false
}

// sent removes the job just handed to a worker from the queues.
func (l *loop) sent(j job) {
	if j.t != nil {
		l.ready[0] = nil
		l.ready = l.ready[1:]
		return
	}
	l.quick = l.quick[len(j.quick):]
	if len(l.quick) == 0 {
		l.quick = nil // let the backing array go after a burst
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
			t := &target{Target: *o.add, opts: opts, st: newState(opts), index: -1, last: o.last}
			t.quick, _ = t.Checker.(quickChecker)
			t.pooled, _ = t.Checker.(pooledChecker)
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

// endWaits ends the handshakes still queued for a worker when Run
// returns (ctx is done, so at once), so that their sockets are closed.
func (l *loop) endWaits() {
	for _, t := range l.ready {
		if t.wait != nil {
			t.wait(l.ctx)
		}
	}
}

// dropReady removes a removed target's queued probe. The rest of a probe
// in flight (t.wait) stays queued: it holds a socket that only it closes,
// and finish drops its result.
func (l *loop) dropReady(t *target) {
	if t.wait != nil {
		return
	}
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
func (l *loop) finish(t *target, res Result) {
	t.wait = nil
	if t.removed {
		return
	}
	wait, changed := t.st.apply(t.opts, res)
	now := l.r.cfg.Clock.Now()
	// A target removed meanwhile writes to a slot nobody reads any more.
	t.last.p.Store(&Checked{Result: res, At: now})
	if changed && l.r.cfg.Events != nil {
		ev := Event{ID: t.ID, Up: t.st.up, Weight: t.st.weight, Reason: res.Reason, Latency: res.Latency, Time: now}
		if !t.st.up {
			ev.Weight = NoWeight
		}
		select {
		case l.r.cfg.Events <- ev:
		case <-l.ctx.Done():
		}
	}
	// The next probe is due wait after this one ended, as in keepalived,
	// but counted as if this one had started on time: the Runner's own
	// delay is not passed on. Otherwise every stall (a busy machine, a
	// burst of due targets) would bunch the targets it delayed together
	// for good, and each round would hit the same burst again. Never less
	// than half of wait, whatever happened.
	wait -= min(max(t.late, 0), wait/2)
	l.schedule(t, now.Add(wait))
}
