package healthcheck

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a manual Clock for tests.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	c       chan time.Time
	stopped bool
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ft := &fakeTimer{at: c.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		ft.c <- c.now
		ft.stopped = true
	} else {
		c.timers = append(c.timers, ft)
	}
	return ft.c, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !ft.stopped
		ft.stopped = true
		return was
	}
}

// pending waits (bounded) until a live timer exists and returns how far
// ahead it is.
func (c *fakeClock) pending(t *testing.T) time.Duration {
	t.Helper()
	for range 500 {
		c.mu.Lock()
		var best time.Duration = -1
		for _, ft := range c.timers {
			if !ft.stopped && (best < 0 || ft.at.Sub(c.now) < best) {
				best = ft.at.Sub(c.now)
			}
		}
		c.mu.Unlock()
		if best >= 0 {
			return best
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatal("no timer armed")
	return 0
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	live := c.timers[:0]
	for _, ft := range c.timers {
		switch {
		case ft.stopped:
		case !ft.at.After(c.now):
			ft.stopped = true
			ft.c <- c.now
		default:
			live = append(live, ft)
		}
	}
	c.timers = live
}

// scripted returns the queued results in order, then repeats the last.
type scripted struct {
	mu      sync.Mutex
	results []Result
	calls   int
}

func (s *scripted) Check(context.Context) Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.results[min(s.calls, len(s.results)-1)]
	s.calls++
	return r
}

func (s *scripted) String() string { return "scripted" }

func TestRunnerSchedulesAndEmitsTransitionsOnly(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1000, 0)}
	events := make(chan Event, 10)
	r := NewRunner(RunnerConfig{Workers: 2, Events: events, Clock: clk,
		Rand: func(n time.Duration) time.Duration { return n / 2 }})
	ok := Result{OK: true, Reason: "fine", Weight: NoWeight}
	bad := Result{Reason: "connect: connection refused", Weight: NoWeight}
	chk := &scripted{results: []Result{bad, bad, bad, bad, bad, ok, ok, ok}}
	opts := Options{DelayLoop: 10 * time.Second, DelayBeforeRetry: time.Second, Retry: 1,
		Warmup: 8 * time.Second, Rise: 2, Fall: 2}
	if err := r.Add(Target{ID: "rs1", Checker: chk, Options: opts}); err != nil {
		t.Fatal(err)
	}
	if err := r.Add(Target{ID: "rs1", Checker: chk}); err == nil {
		t.Fatal("duplicate ID accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-errc; err != context.Canceled {
			t.Errorf("Run: %v", err)
		}
	}()

	// Expected waits: warmup 4 s (Rand gives half), then retry 1 s / loop
	// 10 s per result; DOWN after the 4th failure (2 rounds of 2), no retry
	// while down, UP after the 2nd success.
	wantWaits := []time.Duration{4, 1, 10, 1, 10, 10, 10, 10}
	wantEvents := map[int]bool{4: false, 7: true} // after N checks: new state
	for i, w := range wantWaits {
		if got := clk.pending(t); got != w*time.Second {
			t.Fatalf("wait %d: %v, want %v", i, got, w*time.Second)
		}
		clk.advance(w * time.Second)
		if i == 0 {
			continue
		}
		if up, want := wantEvents[i]; want {
			ev := <-events
			if ev.Up != up || ev.ID != "rs1" {
				t.Fatalf("after check %d: event %v, want up=%v", i, ev, up)
			}
		}
	}
	clk.pending(t) // the last result is processed
	select {
	case ev := <-events:
		t.Fatalf("unexpected event %v", ev)
	default:
	}
	r.Remove("rs1")
	r.Remove("rs1") // idempotent
}

// TestRunnerManyTargets runs thousands of targets on a small pool with the
// real clock: concurrency stays within the pool, goroutines stay bounded,
// and every target gets checked.
func TestRunnerManyTargets(t *testing.T) {
	const n, workers = 2000, 16
	var inFlight, maxInFlight atomic.Int64
	counts := make([]atomic.Int64, n)
	r := NewRunner(RunnerConfig{Workers: workers})
	for i := range n {
		chk := checkFunc(func(context.Context) Result {
			cur := inFlight.Add(1)
			for m := maxInFlight.Load(); cur > m && !maxInFlight.CompareAndSwap(m, cur); m = maxInFlight.Load() {
			}
			counts[i].Add(1)
			inFlight.Add(-1)
			return Result{OK: true, Weight: NoWeight}
		})
		r.Add(Target{ID: fmt.Sprint(i), Checker: chk, Options: Options{DelayLoop: 200 * time.Millisecond, Warmup: 200 * time.Millisecond}})
	}
	base := runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var peak int
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for ctx.Err() == nil {
			peak = max(peak, runtime.NumGoroutine())
			time.Sleep(10 * time.Millisecond)
		}
	}()
	r.Run(ctx)
	<-sampled
	if m := maxInFlight.Load(); m > workers {
		t.Errorf("%d probes at once, pool is %d", m, workers)
	}
	if peak > base+workers+10 {
		t.Errorf("goroutines peaked at %d (base %d)", peak, base)
	}
	total := int64(0)
	for i := range counts {
		c := counts[i].Load()
		if c < 2 {
			t.Fatalf("target %d checked %d times", i, c)
		}
		total += c
	}
	t.Logf("%d targets, %d checks in 1 s, max %d in flight", n, total, maxInFlight.Load())
}

type checkFunc func(context.Context) Result

func (f checkFunc) Check(ctx context.Context) Result { return f(ctx) }
func (f checkFunc) String() string                   { return "func" }

// TestRunnerDoesNotPassOnLateness: a probe that starts late (the Runner
// was busy, the machine was loaded) is followed by the next one on its
// usual schedule, not delay_loop after the late end, so that targets
// delayed together do not stay bunched; the next wait is never cut by more
// than half.
func TestRunnerDoesNotPassOnLateness(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1000, 0)}
	r := NewRunner(RunnerConfig{Workers: 1, Clock: clk})
	chk := &scripted{results: []Result{{OK: true, Weight: NoWeight}}}
	r.Add(Target{ID: "rs1", Checker: chk, Options: Options{DelayLoop: 10 * time.Second}})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx) }()
	defer func() { cancel(); <-errc }()

	// Warmup 0: the first probe runs at once, on time.
	waitCalls := func(n int) {
		for range 1000 {
			if chk.count() >= n {
				return
			}
			time.Sleep(time.Millisecond)
		}
		t.Fatalf("%d probes, want %d", chk.count(), n)
	}
	waitCalls(1)
	for i, tc := range []struct{ late, want time.Duration }{
		{0, 10 * time.Second},
		{3 * time.Second, 7 * time.Second},
		{8 * time.Second, 5 * time.Second}, // at most half of delay_loop is taken off
	} {
		w := clk.pending(t)
		clk.advance(w + tc.late)
		waitCalls(i + 2)
		// pending waits for the timer the result's reschedule arms (the
		// previous one fired).
		if got := clk.pending(t); got != tc.want {
			t.Fatalf("probe %d started %v late: next in %v, want %v", i, tc.late, got, tc.want)
		}
	}
}

func (s *scripted) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// atomicCounter counts from several goroutines.
type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) add()        { c.n.Add(1) }
func (c *atomicCounter) load() int64 { return c.n.Load() }

// TestRunnerLast: every probe's result, not only transitions, is kept for
// status, and forgotten with its target.
func TestRunnerLast(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1000, 0)}
	r := NewRunner(RunnerConfig{Workers: 1, Clock: clk, Rand: func(time.Duration) time.Duration { return 0 }})
	chk := &scripted{results: []Result{{OK: true, Reason: "status 200", Latency: 3 * time.Millisecond, Weight: NoWeight},
		{Reason: "status 503", Latency: 5 * time.Millisecond, Weight: NoWeight}}}
	if err := r.Add(Target{ID: "rs1", Checker: chk, Options: Options{DelayLoop: 10 * time.Second, Rise: 1, Fall: 3}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Last("rs1"); ok {
		t.Fatal("a result before the first probe")
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx) }()
	defer func() { cancel(); <-errc }()
	for i, want := range []string{"status 200", "status 503"} {
		if i > 0 {
			clk.advance(clk.pending(t))
		}
		var got Checked
		for deadline := time.Now().Add(5 * time.Second); got.Reason != want && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
			got, _ = r.Last("rs1")
		}
		if got.Reason != want || got.OK != (i == 0) || !got.At.Equal(clk.Now()) {
			t.Fatalf("probe %d: last %+v, want %q at %v", i, got, want, clk.Now())
		}
	}
	r.Remove("rs1")
	if c, ok := r.Last("rs1"); ok {
		t.Errorf("removed target still has a result: %+v", c)
	}
}
