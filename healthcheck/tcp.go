package healthcheck

import (
	"context"
	"time"
)

// TCPChecker is keepalived's TCP_CHECK: the server is up when a TCP
// connection to it completes before the deadline. The connection is closed
// at once without sending data, with a reset rather than keepalived's FIN
// (see probeConnect): nothing is lost, and the balancer keeps no TIME_WAIT
// socket per probe.
type TCPChecker struct {
	Dest Dest
}

// Check implements Checker.
func (c *TCPChecker) Check(ctx context.Context) Result {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	start := time.Now()
	if err := c.Dest.probeConnect(ctx); err != nil {
		return fail(start, errReason("connect", err))
	}
	return pass(start, "connected")
}

// String implements Checker.
func (c *TCPChecker) String() string { return "TCP_CHECK " + c.Dest.Target().String() }
