package healthcheck

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// FetchRequest is one GET as keepalived's HTTP_GET, SSL_GET and genhash
// perform it: a new connection, one request, the response read to its end.
type FetchRequest struct {
	Dest Dest
	// Path is sent verbatim in the request line (keepalived's url path).
	Path     string
	Protocol Protocol
	// VirtualHost, if set, is the Host header (keepalived virtualhost).
	VirtualHost string
	// TLS, if non-nil, wraps the connection (SSL_GET).
	TLS *tls.Config
	// IdleTimeout, if non-zero, bounds each read and write on its own, the
	// way keepalived applies connect_timeout to every I/O step; genhash -t
	// uses it. The context deadline still bounds the whole fetch.
	IdleTimeout time.Duration
	// Trace, if non-nil, sees the raw response (genhash -v).
	Trace *Trace
	// sockets, if set, is the Runner's pool the connection's socket comes
	// from and, after a complete response, goes back to (see recycle);
	// never with TLS, whose connections end with close_notify.
	sockets *socketPool
}

// StepError is a failure before the response could be read.
type StepError struct {
	// Step is "connect", "tls handshake" or "write request".
	Step string
	Err  error
}

// Error implements error.
func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *StepError) Unwrap() error { return e.Err }

// Fetch performs req before ctx is done. Errors are a *StepError or a
// *ReadError. The connection is closed when Fetch returns, and also as
// soon as ctx is cancelled, so a blocked read returns at once.
func Fetch(ctx context.Context, req FetchRequest) (Response, error) {
	dctx := ctx
	if req.IdleTimeout > 0 {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(ctx, req.IdleTimeout)
		defer cancel()
	}
	raw, err := req.Dest.dial(dctx, req.sockets)
	if err != nil {
		return Response{}, &StepError{"connect", err}
	}
	var conn net.Conn = raw
	recycle := false
	defer func() {
		if recycle {
			raw.recycle()
		} else {
			conn.Close()
		}
	}()
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	dl := deadlines{conn: raw, idle: req.IdleTimeout}
	dl.final, _ = ctx.Deadline()
	dl.refresh()

	if req.TLS != nil {
		tc := tls.Client(raw, req.TLS)
		conn = tc
		if err := tc.HandshakeContext(ctx); err != nil {
			return Response{}, &StepError{"tls handshake", err}
		}
		dl.refresh()
	}
	msg := Request(req.Path, req.Protocol, req.VirtualHost, req.Dest.Target())
	if _, err := conn.Write(msg); err != nil {
		return Response{}, &StepError{"write request", err}
	}
	dl.refresh()
	resp, err := ReadResponse(&idleReader{r: conn, dl: &dl}, req.Trace)
	var re *ReadError
	if errors.As(err, &re) && ctx.Err() != nil && errors.Is(re.Err, net.ErrClosed) {
		// Closed by the AfterFunc above: report why.
		re.Err = ctx.Err()
	}
	// A pooled socket is reused only when the exchange is complete and the
	// AfterFunc can no longer close it (stop reports that it had not run).
	recycle = err == nil && req.sockets != nil && stop()
	return resp, err
}

// deadlines keeps a connection's deadline at the earlier of the fetch's
// final deadline and now plus the idle timeout.
type deadlines struct {
	conn  net.Conn
	idle  time.Duration
	final time.Time
}

func (d *deadlines) refresh() {
	t := d.final
	if d.idle > 0 {
		if it := time.Now().Add(d.idle); t.IsZero() || it.Before(t) {
			t = it
		}
	}
	d.conn.SetDeadline(t)
}

// idleReader refreshes the deadline after each successful read when an
// idle timeout is in force.
type idleReader struct {
	r  io.Reader
	dl *deadlines
}

func (ir *idleReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	if n > 0 && ir.dl.idle > 0 {
		ir.dl.refresh()
	}
	return n, err
}

// fetchReason turns a Fetch error into a Result reason.
func fetchReason(err error) string {
	switch e := err.(type) {
	case *StepError:
		return errReason(e.Step, e.Err)
	case *ReadError:
		step := "read header"
		if e.InBody {
			step = "read body"
		}
		return fmt.Sprintf("%s after %d bytes", errReason(step, e.Err), e.Bytes)
	}
	return err.Error()
}
