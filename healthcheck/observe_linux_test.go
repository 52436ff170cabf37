package healthcheck

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// observations counts the results an Observe callback saw.
type observations struct {
	mu       sync.Mutex
	ok, fail int
	last     Result
}

func (o *observations) observe(r Result) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if r.OK {
		o.ok++
	} else {
		o.fail++
	}
	o.last = r
}

func (o *observations) counts() (ok, fail int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ok, o.fail
}

// TestObserveKeepsRunnerPaths: TCP checks wrapped for metrics still run
// on the Runner's quick path, with its pooled sockets (idle ones stay open
// between checks; a wrapper that hid the path closed every socket after
// its check), and every probe's result reaches the observer.
func TestObserveKeepsRunnerPaths(t *testing.T) {
	open := rawServer(t, "tcp", "127.0.0.1:0", func(c net.Conn) {})
	var seen observations
	var starts atomicCounter
	r := NewRunner(RunnerConfig{Started: func(time.Duration) { starts.add() }})
	for i := range 10 {
		c := Observe(&TCPChecker{Dest: Dest{Addr: open}}, seen.observe)
		r.Add(Target{ID: fmt.Sprint(i), Checker: c, Options: Options{DelayLoop: 20 * time.Millisecond, Timeout: time.Second}})
	}
	before := openFDs(t)
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	idle := make(chan int, 1)
	go func() {
		time.Sleep(200 * time.Millisecond)
		idle <- openFDs(t) - before
	}()
	r.Run(ctx)
	if n := <-idle; n < 1 {
		t.Errorf("%d sockets kept between checks, want the quick path's pooled ones", n)
	}
	// A probe in flight when Run stops may fail (its context ends) or
	// never report, one per target at most; none is observed twice.
	ok, fail := seen.counts()
	if ok < 50 || fail > 10 {
		t.Errorf("observed %d passed and %d failed probes, want dozens passed", ok, fail)
	}
	if n := int(starts.load()); ok+fail > n || ok+fail < n-10 {
		t.Errorf("observed %d results of %d probes", ok+fail, n)
	}
}

// TestObserveWaitingProbe: a quick probe that has to wait is observed once,
// when its wait ends.
func TestObserveWaitingProbe(t *testing.T) {
	var seen observations
	c := Observe(&TCPChecker{Dest: Dest{Addr: fullListener(t)}}, seen.observe)
	q, ok := c.(quickChecker)
	if !ok {
		t.Fatal("observed TCP checker lost its quick path")
	}
	var pool socketPool
	defer pool.drain()
	res, wait := q.quickCheck(time.Now(), &pool)
	if wait == nil {
		t.Fatalf("probe of a full listener ended at once: %+v", res)
	}
	if ok, fail := seen.counts(); ok+fail != 0 {
		t.Fatalf("observed before the wait ended")
	}
	res = wait(ctxTimeout(t, 100*time.Millisecond))
	if ok, fail := seen.counts(); ok != 0 || fail != 1 || seen.last != res {
		t.Errorf("observed %d passed, %d failed (last %+v), want the one failure %+v", ok, fail, seen.last, res)
	}
}
