package lab

import "context"

// NodeChecker runs a health checker inside Node, where the balancer's
// routes to the real servers are, rather than in the test's namespace.
// R is the checker's result type, healthcheck.Result: generic because
// healthcheck's own tests use this package, which therefore cannot import
// healthcheck. NodeChecker[healthcheck.Result] is a healthcheck.Checker.
type NodeChecker[R any] struct {
	Node  *Node
	Inner interface {
		Check(ctx context.Context) R
		String() string
	}
}

// Check runs Inner's check in Node.
func (c NodeChecker[R]) Check(ctx context.Context) R {
	var r R
	c.Node.Do(func() error { r = c.Inner.Check(ctx); return nil })
	return r
}

// String names Inner's probe.
func (c NodeChecker[R]) String() string { return c.Inner.String() }
