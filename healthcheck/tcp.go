package healthcheck

import (
	"context"
	"time"
)

// TCPChecker is keepalived's TCP_CHECK: the server is up when a TCP
// connection to it completes before the deadline. The connection is closed
// at once without sending data, with a reset rather than keepalived's FIN
// (see connect.go): nothing is lost, and the balancer keeps no TIME_WAIT
// socket per probe.
type TCPChecker struct {
	Dest Dest
}

// Check implements Checker.
func (c *TCPChecker) Check(ctx context.Context) Result {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	// No socket pool: the caller's thread may be in another network
	// namespace than a Runner's pooled sockets.
	res, wait := c.check(time.Now(), nil)
	if wait == nil {
		return res
	}
	return wait(ctx)
}

// quickCheck implements quickChecker: the handshake with a local server
// usually ends within the connect call, so a Runner worker runs a batch of
// these probes and hands on only the ones still waiting.
func (c *TCPChecker) quickCheck(start time.Time, sockets *socketPool) (Result, func(context.Context) Result) {
	return c.check(start, sockets)
}

func (c *TCPChecker) check(start time.Time, pool *socketPool) (Result, func(context.Context) Result) {
	p, err := c.Dest.startConnect(pool)
	if p == nil {
		return tcpResult(start, err), nil
	}
	return Result{}, func(ctx context.Context) Result {
		return tcpResult(start, p.wait(ctx))
	}
}

func tcpResult(start time.Time, err error) Result {
	if err != nil {
		return fail(start, errReason("connect", err))
	}
	return pass(start, "connected")
}

// String implements Checker.
func (c *TCPChecker) String() string { return "TCP_CHECK " + c.Dest.Target().String() }
