package lb

import "time"

// Slow start (slow_start): a real server that comes up gets its weight in
// the kernel ramped from 1 to its weight over the slow start time instead
// of a full share of new connections at once, which a cold cache, a JIT
// or a connection pool behind it may not take. The ramp steps at most
// once per rampTick and only when the integer weight changes, so a ramp
// costs at most one destination edit per second per real server (a ramp
// of weight 10 over 30 s: 9 edits). A failure during the ramp ends it.

// rampTick is how often the engine steps the ramps (Options.RampTick).
const rampTick = time.Second

// startRamp begins r's ramp at now, if r has a slow start and a weight
// above 1; it reports whether r now ramps.
func (r *rsState) startRamp(now time.Time) bool {
	if r.vs.cfg.SlowStartOf(r.cfg) <= 0 || r.effWeight() <= 1 {
		r.stopRamp()
		return false
	}
	r.rampStart, r.rampWeight = now, 1
	return true
}

func (r *rsState) stopRamp() { r.rampStart, r.rampWeight = time.Time{}, 0 }

// ramping reports whether r's weight is being ramped.
func (r *rsState) ramping() bool { return !r.rampStart.IsZero() }

// stepRamp moves r's ramp to now: the weight grows in proportion to the
// time elapsed, and the ramp ends at the slow start time (or when the
// configuration no longer asks for one). It reports whether r's kernel
// weight changed.
func (r *rsState) stepRamp(now time.Time) bool {
	if !r.ramping() {
		return false
	}
	d, w := r.vs.cfg.SlowStartOf(r.cfg), r.effWeight()
	el := now.Sub(r.rampStart)
	if d <= 0 || el >= d || w <= 1 {
		r.stopRamp()
		return true
	}
	nw := max(1, int(int64(w)*int64(el)/int64(d)))
	if nw == r.rampWeight {
		return false
	}
	r.rampWeight = nw
	return true
}

// kernelWeight is the weight an up r has in the kernel: its weight, or
// the ramp's while slow start lasts.
func (r *rsState) kernelWeight() int {
	if r.rampWeight > 0 {
		return min(r.rampWeight, r.effWeight())
	}
	return r.effWeight()
}
