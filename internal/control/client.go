package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// ErrNotRunning is wrapped by Dial's error when no daemon listens on the
// socket (the file is missing, or stale).
var ErrNotRunning = errors.New("lbd is not running")

// Client is a connection to the control socket. Its methods are safe for
// concurrent use; calls are sent one at a time.
type Client struct {
	path string

	mu     sync.Mutex
	c      *net.UnixConn
	r      *bufio.Reader
	nextID uint64
	broken error // set after a transport error; every later call fails
}

// Dial connects to the control socket at path (DefaultPath if empty).
func Dial(path string) (*Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return DialContext(ctx, path)
}

// DialContext connects to the control socket at path (DefaultPath if
// empty). When nothing listens there the error wraps ErrNotRunning and
// reads "lbd is not running (no control socket at PATH)".
func DialContext(ctx context.Context, path string) (*Client, error) {
	if path == "" {
		path = DefaultPath
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		switch {
		case errors.Is(err, syscall.ENOENT):
			return nil, fmt.Errorf("%w (no control socket at %s)", ErrNotRunning, path)
		case errors.Is(err, syscall.ECONNREFUSED):
			return nil, fmt.Errorf("%w (stale control socket at %s)", ErrNotRunning, path)
		case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
			return nil, fmt.Errorf("permission denied on control socket %s (ipvsctl must run as root)", path)
		}
		return nil, fmt.Errorf("connect to lbd at %s: %w", path, err)
	}
	return &Client{path: path, c: c.(*net.UnixConn), r: bufio.NewReaderSize(c, 64<<10)}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.c.Close() }

// Call sends one request and waits for its response. params is encoded
// with encoding/json (nil sends no params); on success the result is
// decoded into result unless it is nil. An error response is returned as
// an *Error. ctx bounds the whole call; after a transport error or a
// cancelled call the connection is unusable and Call keeps failing.
func (c *Client) Call(ctx context.Context, method string, params, result any) error {
	var raw json.RawMessage
	if params != nil {
		b, err := json.Marshal(params)
		if err != nil {
			return fmt.Errorf("control: encode params of %s: %w", method, err)
		}
		raw = b
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return c.broken
	}
	c.nextID++
	id := c.nextID
	line, err := json.Marshal(Request{ID: id, Method: method, Params: raw})
	if err != nil {
		return fmt.Errorf("control: encode request: %w", err)
	}
	line = append(line, '\n')

	dl, _ := ctx.Deadline()
	c.c.SetDeadline(dl) // zero: none
	stop := context.AfterFunc(ctx, func() { c.c.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	fail := func(err error) error {
		var ne net.Error
		switch {
		case ctx.Err() != nil:
			err = ctx.Err()
		case errors.As(err, &ne) && ne.Timeout() && !dl.IsZero() && !time.Now().Before(dl):
			err = context.DeadlineExceeded
		}
		// The net error names the server's temporary bind path; drop it.
		var oe *net.OpError
		if errors.As(err, &oe) {
			err = oe.Err
		}
		c.broken = fmt.Errorf("control: %s: connection to lbd at %s: %w", method, c.path, err)
		return c.broken
	}
	if _, werr := c.c.Write(line); werr != nil {
		// The server may have refused us before reading (permission_denied,
		// busy): its answer may already be waiting.
		c.c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if resp, rerr := c.read(); rerr == nil && resp.ID == 0 && resp.Error != nil {
			c.broken = resp.Error
			return resp.Error
		}
		return fail(werr)
	}
	for {
		resp, err := c.read()
		if err != nil {
			return fail(err)
		}
		if resp.Version != Version {
			return fail(fmt.Errorf("unsupported protocol version %d (ipvsctl speaks version %d)", resp.Version, Version))
		}
		switch {
		case resp.ID == id:
		case resp.ID == 0 && resp.Error != nil:
			// A connection-level error: the server closes after it.
			c.broken = resp.Error
			return resp.Error
		default:
			return fail(fmt.Errorf("response id %d, want %d", resp.ID, id))
		}
		if resp.Error != nil {
			return resp.Error
		}
		if result != nil {
			if err := json.Unmarshal(resp.Result, result); err != nil {
				return fmt.Errorf("control: decode result of %s: %w", method, err)
			}
		}
		return nil
	}
}

// read reads one response line.
func (c *Client) read() (*Response, error) {
	line, err := readLine(c.r, 64<<20)
	if err != nil {
		if errors.Is(err, errLineTooLong) {
			return nil, errors.New("response too large")
		}
		if errors.Is(err, io.EOF) {
			return nil, errors.New("lbd closed the connection")
		}
		return nil, err
	}
	var resp Response
	if err := json.Unmarshal(line, &resp); err != nil {
		return nil, fmt.Errorf("malformed response: %w", err)
	}
	return &resp, nil
}
