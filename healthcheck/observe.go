package healthcheck

import (
	"context"
	"time"
)

// Observe returns c with observe called on every result it gives, for
// metrics. A Runner runs some checkers on paths of their own (TCP_CHECK
// in batches with pooled sockets, HTTP_GET on pooled sockets: see
// quickChecker and pooledChecker), which it finds by asking the checker,
// so a caller's wrapper type would hide them and silently put every probe
// on the slower general path; the checker Observe returns keeps them. (No
// checker takes both paths.)
func Observe(c Checker, observe func(Result)) Checker {
	o := observed{Checker: c, observe: observe}
	if q, ok := c.(quickChecker); ok {
		return &observedQuick{observed: o, quick: q}
	}
	if p, ok := c.(pooledChecker); ok {
		return &observedPooled{observed: o, pooled: p}
	}
	return &o
}

type observed struct {
	Checker
	observe func(Result)
}

// Check implements Checker.
func (o *observed) Check(ctx context.Context) Result {
	r := o.Checker.Check(ctx)
	o.observe(r)
	return r
}

type observedQuick struct {
	observed
	quick quickChecker
}

// quickCheck implements quickChecker: the result is observed when the
// probe ends, at once or after its wait.
func (o *observedQuick) quickCheck(start time.Time, sockets *socketPool) (Result, func(context.Context) Result) {
	r, wait := o.quick.quickCheck(start, sockets)
	if wait == nil {
		o.observe(r)
		return r, nil
	}
	return Result{}, func(ctx context.Context) Result {
		r := wait(ctx)
		o.observe(r)
		return r
	}
}

type observedPooled struct {
	observed
	pooled pooledChecker
}

// checkPooled implements pooledChecker.
func (o *observedPooled) checkPooled(ctx context.Context, sockets *socketPool) Result {
	r := o.pooled.checkPooled(ctx, sockets)
	o.observe(r)
	return r
}
