package healthcheck

import "time"

// Options are the scheduling settings of one target, with keepalived's
// names and meanings.
type Options struct {
	// DelayLoop is the time between checks (delay_loop).
	DelayLoop time.Duration
	// Timeout bounds one check (connect_timeout, or misc_timeout).
	Timeout time.Duration
	// Retry is how many times a failed check is retried, DelayBeforeRetry
	// apart, before the round counts as failed (retry). Retries are only
	// made while the target is up: re-confirming a down server is pointless.
	Retry int
	// DelayBeforeRetry is the pause before a retry (delay_before_retry).
	DelayBeforeRetry time.Duration
	// Warmup spreads the first checks: each target starts after a random
	// delay in [0, Warmup). Zero starts at once (keepalived "warmup 0").
	Warmup time.Duration
	// Rise is how many consecutive passed rounds bring a down target up.
	Rise int
	// Fall is how many consecutive failed rounds bring an up target down.
	// keepalived has no rise/fall (both are 1); they damp flapping.
	Fall int
	// Alpha starts the target down instead of up (alpha).
	Alpha bool
}

// DefaultOptions returns keepalived's defaults for most checkers:
// delay_loop 60 s, connect_timeout 5 s, retry 1, delay_before_retry 1 s,
// warmup up to delay_loop, rise and fall 1, no alpha. keepalived uses
// delay_before_retry 3 s for HTTP_GET/SSL_GET and retry 0 for MISC_CHECK;
// the configuration layer adjusts those.
func DefaultOptions() Options {
	return Options{
		DelayLoop:        60 * time.Second,
		Timeout:          DefaultTimeout,
		Retry:            1,
		DelayBeforeRetry: time.Second,
		Warmup:           60 * time.Second,
		Rise:             1,
		Fall:             1,
	}
}

// normalized replaces unusable values (zero or negative) by defaults, so a
// zero Options never spins or never checks.
func (o Options) normalized() Options {
	d := DefaultOptions()
	if o.DelayLoop <= 0 {
		o.DelayLoop = d.DelayLoop
	}
	if o.Timeout <= 0 {
		o.Timeout = d.Timeout
	}
	if o.Retry < 0 {
		o.Retry = 0
	}
	if o.DelayBeforeRetry <= 0 {
		o.DelayBeforeRetry = d.DelayBeforeRetry
	}
	if o.Warmup < 0 {
		o.Warmup = 0
	}
	o.Rise = max(o.Rise, 1)
	o.Fall = max(o.Fall, 1)
	return o
}
