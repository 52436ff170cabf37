package healthcheck

import (
	"context"
	"time"
)

// DefaultTimeout is keepalived's default connect_timeout. Checkers use it
// when the context they are given carries no deadline, so a probe can never
// run forever.
const DefaultTimeout = 5 * time.Second

// Checker performs one health probe of one real server.
//
// Check must return by the context's deadline (or DefaultTimeout when the
// context has none) and must be safe to call from several goroutines, though
// the Runner never runs two probes of the same target at once.
type Checker interface {
	Check(ctx context.Context) Result
	// String names the probe for logs, e.g. "HTTP_GET 192.0.2.15:80/health".
	String() string
}

// NoWeight is the Result.Weight of checkers that do not compute a weight.
const NoWeight = -1

// Result is the outcome of one probe.
type Result struct {
	// OK reports whether the server passed the probe.
	OK bool
	// Reason says why the probe failed, or what it saw when it passed
	// (e.g. "status 200"). It is meant for logs and operators.
	Reason string
	// Latency is how long the probe took.
	Latency time.Duration
	// Weight is the dynamic weight a checker derived from the probe
	// (MISC_CHECK misc_dynamic, FILE_CHECK dynamic), or NoWeight.
	Weight int
}

// withDeadline returns ctx bounded by DefaultTimeout if it has no deadline.
func withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, DefaultTimeout)
}

// fail builds a failed Result that started at start.
func fail(start time.Time, reason string) Result {
	return Result{Reason: reason, Latency: time.Since(start), Weight: NoWeight}
}

// pass builds a passed Result that started at start.
func pass(start time.Time, reason string) Result {
	return Result{OK: true, Reason: reason, Latency: time.Since(start), Weight: NoWeight}
}
