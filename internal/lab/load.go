package lab

import (
	"fmt"
	"sync"
	"time"
)

// LoadResult is what client request loops saw: how a failover, handover,
// reload or restart looked from the clients.
type LoadResult struct {
	Sent, Failed int
	// LongestGap is the longest time between two successful answers, the
	// outage a client saw.
	LongestGap time.Duration
	// LastErr is the error of the latest failed request.
	LastErr error
}

// Add merges o, seen by another loop at the same time, into r.
func (r *LoadResult) Add(o LoadResult) {
	r.Sent += o.Sent
	r.Failed += o.Failed
	r.LongestGap = max(r.LongestGap, o.LongestGap)
	if o.LastErr != nil {
		r.LastErr = o.LastErr
	}
}

// Why says how requests failed, as a suffix for a step's result: "" when
// none did, else "; last error: ...".
func (r LoadResult) Why() string {
	if r.Failed == 0 || r.LastErr == nil {
		return ""
	}
	return fmt.Sprintf("; last error: %v", r.LastErr)
}

// Count records the outcome of one request that is not part of a loop.
func (r *LoadResult) Count(err error) {
	r.Sent++
	if err != nil {
		r.Failed++
		r.LastErr = err
	}
}

// LoadInterval is how often a request loop sends: often enough to time an
// outage to a few tens of milliseconds, seldom enough for the TCG VM.
const LoadInterval = 10 * time.Millisecond

// Loop calls req every LoadInterval until stop is closed (at most limit),
// measuring failures and the longest gap between successful answers.
func Loop(req func() error, stop <-chan struct{}, limit time.Duration) LoadResult {
	var r LoadResult
	last := time.Now()
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(LoadInterval)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		select {
		case <-stop:
			return r
		case <-tick.C:
		}
		err := req()
		r.Count(err)
		if err != nil {
			continue
		}
		r.LongestGap = max(r.LongestGap, time.Since(last))
		last = time.Now()
	}
	return r
}

// UnderLoad runs act while each of reqs is called in a Loop of its own,
// from 300 ms before act until 300 ms after it returns, so the loops see
// the service before, during and after; it returns what they saw
// together. The loops stop after 30 s even if act has not returned.
func UnderLoad(reqs []func() error, act func()) LoadResult {
	stop := make(chan struct{})
	results := make([]LoadResult, len(reqs))
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Go(func() { results[i] = Loop(req, stop, 30*time.Second) })
	}
	time.Sleep(300 * time.Millisecond)
	act()
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	var r LoadResult
	for _, ri := range results {
		r.Add(ri)
	}
	return r
}
