package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"
)

// Defaults for the [Server] limits.
const (
	DefaultRequestTimeout = 30 * time.Second
	DefaultIdleTimeout    = 2 * time.Second
	DefaultConnTimeout    = time.Minute
	DefaultWriteTimeout   = 10 * time.Second
	DefaultMaxConns       = 16
	DefaultMaxLineBytes   = 1 << 20
)

// Refusals answer "busy" within refuseTimeout, so that a client that
// neither reads nor closes holds a descriptor only briefly; at most
// maxRefusing are answered at once, and connections beyond that are closed
// without an answer.
const (
	refuseTimeout = 100 * time.Millisecond
	maxRefusing   = 64
)

// Repeated accept errors and refusals are logged once, then at most once
// per logEvery with the count of those not logged.
const logEvery = 10 * time.Second

// After an accept error such as EMFILE, which repeats at once until a
// descriptor frees, the accept loop waits minAcceptBackoff, doubling up to
// maxAcceptBackoff while the errors go on.
const (
	minAcceptBackoff = 5 * time.Millisecond
	maxAcceptBackoff = time.Second
)

// maxSockPath is the longest path a sockaddr_un holds (108 bytes with NUL).
const maxSockPath = 107

// ListenConfig holds the options of [ListenConfig.Listen].
type ListenConfig struct {
	// Mode is the socket file's mode; 0 means 0600.
	Mode fs.FileMode
	// GID, if positive, is the group given to the socket file (use with
	// Mode 0660 and Server.AllowGIDs to admit a group); 0 leaves it alone.
	GID int
}

// Server serves the control protocol on a Unix socket. Set its exported
// fields before calling Serve.
type Server struct {
	// RequestTimeout bounds each method call (default 30 s).
	RequestTimeout time.Duration
	// IdleTimeout bounds the wait for, and the reading of, each request
	// line (default 2 s). Clients send their request as they connect, so
	// it is short: a client that connects and says nothing must not hold
	// one of the MaxConns slots for long.
	IdleTimeout time.Duration
	// ConnTimeout bounds the time a connection is read from (default
	// 1 min): a request that arrives after it is not read, and the
	// connection is closed, so that a client cannot keep its slot for
	// good by sending a request now and then.
	ConnTimeout time.Duration
	// WriteTimeout bounds the writing of each response (default 10 s).
	WriteTimeout time.Duration
	// MaxConns bounds the connections served at once (default 16).
	MaxConns int
	// MaxLineBytes bounds a request line (default 1 MiB).
	MaxLineBytes int
	// AllowUIDs and AllowGIDs admit peers besides uid 0. The socket file's
	// mode must let them connect too (see ListenConfig).
	AllowUIDs []uint32
	AllowGIDs []uint32
	// Logger receives one line per refused peer, failed connection or
	// panicking method, and rate-limited lines about busy refusals and
	// accept errors; nil discards.
	Logger *slog.Logger

	path string
	ln   *net.UnixListener
	fi   fs.FileInfo // the socket file we created, to remove only ours

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// Listen creates the control socket at path (DefaultPath if empty) with
// mode 0600. See ListenConfig.Listen.
func Listen(path string) (*Server, error) {
	return ListenConfig{}.Listen(path)
}

// Listen creates the control socket at path (DefaultPath if empty). The
// parent directory is created (mode 0755) if missing. The socket is bound
// in a private mode-0700 directory beside path, given its mode and group,
// and renamed to path, so it is never reachable with looser permissions.
// An existing socket at path is replaced only if no one listens on it.
func (lc ListenConfig) Listen(path string) (*Server, error) {
	if path == "" {
		path = DefaultPath
	}
	mode := lc.Mode
	if mode == 0 {
		mode = 0o600
	}
	if len(path) > maxSockPath {
		return nil, fmt.Errorf("control: socket path %s is too long (%d bytes, at most %d)", path, len(path), maxSockPath)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("control: create socket directory: %w", err)
	}
	if err := checkStale(path); err != nil {
		return nil, err
	}
	tmpDir, err := os.MkdirTemp(dir, ".lbdctl-")
	if err != nil {
		return nil, fmt.Errorf("control: create socket: %w", err)
	}
	defer os.RemoveAll(tmpDir)
	if err := os.Chmod(tmpDir, 0o700); err != nil {
		return nil, fmt.Errorf("control: create socket: %w", err)
	}
	tmp := filepath.Join(tmpDir, "s")
	if len(tmp) > maxSockPath {
		return nil, fmt.Errorf("control: socket directory %s is too deep for a Unix socket path", dir)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control: listen: %w", err)
	}
	// The file moves away from the name the listener knows; Close removes it.
	ln.SetUnlinkOnClose(false)
	fail := func(err error) (*Server, error) {
		ln.Close()
		return nil, fmt.Errorf("control: create socket %s: %w", path, err)
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return fail(err)
	}
	if lc.GID > 0 {
		if err := os.Chown(tmp, -1, lc.GID); err != nil {
			return fail(err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return fail(err)
	}
	return &Server{path: path, ln: ln, fi: fi, conns: make(map[net.Conn]struct{})}, nil
}

// checkStale fails unless path is absent or a socket no one listens on.
func checkStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("control: %s exists and is not a socket; not replacing it", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("control: control socket %s is in use (is another lbd running?)", path)
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return nil // stale: the rename replaces it atomically
	}
	return fmt.Errorf("control: probe existing socket %s: %w", path, err)
}

// Path returns the socket file's path.
func (s *Server) Path() string { return s.path }

func (s *Server) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func durOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func intOr(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}

// Serve accepts connections and answers their requests with h until ctx is
// done or Close is called, then closes the server and returns nil once
// every connection has ended (methods that ignore their context are not
// waited for). Serve may be called once.
func (s *Server) Serve(ctx context.Context, h Handler) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	if s.cancel != nil {
		s.mu.Unlock()
		return errors.New("control: Serve called twice")
	}
	s.cancel = cancel
	s.mu.Unlock()

	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()

	sem := make(chan struct{}, intOr(s.MaxConns, DefaultMaxConns))
	refusing := make(chan struct{}, maxRefusing)
	var (
		backoff              time.Duration
		acceptLog, refuseLog rateLog
	)
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				break
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				backoff = min(max(2*backoff, minAcceptBackoff), maxAcceptBackoff)
				acceptLog.warn(s.log(), "control: accept", "err", err, "retry_in", backoff)
				select {
				case <-time.After(backoff):
				case <-ctx.Done():
				}
				continue
			}
			s.Close()
			s.wg.Wait()
			return fmt.Errorf("control: accept: %w", err)
		}
		backoff = 0
		select {
		case sem <- struct{}{}:
		default:
			refuseLog.warn(s.log(), "control: too many connections", "max", cap(sem))
			// The answer is written from a goroutine of its own, so that
			// refused clients that do not read cannot slow down accepting;
			// when too many are being refused, the rest are just closed.
			select {
			case refusing <- struct{}{}:
				s.wg.Go(func() {
					defer func() { <-refusing }()
					reject(c, Errorf(CodeBusy, "lbd is busy: too many control connections (%d), try again", cap(sem)), refuseTimeout)
				})
			default:
				c.Close()
			}
			continue
		}
		if !s.track(c, true) {
			c.Close()
			<-sem
			break
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-sem }()
			defer s.track(c, false)
			defer c.Close()
			s.serveConn(ctx, c, h)
		}()
	}
	s.Close() // waits for a concurrent Close to finish removing the file
	s.wg.Wait()
	return nil
}

// track adds or removes a live connection; adding fails once closed.
func (s *Server) track(c net.Conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.closed {
			return false
		}
		s.conns[c] = struct{}{}
	} else {
		delete(s.conns, c)
	}
	return true
}

// Close stops accepting, closes every connection, cancels running methods
// and removes the socket file (if it is still the one Listen created).
// It is safe to call more than once.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		for c := range s.conns {
			c.Close()
		}
		if s.cancel != nil {
			s.cancel()
		}
		s.mu.Unlock()
		err = s.ln.Close()
		if fi, e := os.Lstat(s.path); e == nil && os.SameFile(fi, s.fi) {
			if e := os.Remove(s.path); e != nil && err == nil {
				err = e
			}
		}
	})
	return err
}

func (s *Server) allowed(p Peer) bool {
	return p.UID == 0 || slices.Contains(s.AllowUIDs, p.UID) || slices.Contains(s.AllowGIDs, p.GID)
}

// reject answers a connection that will not be served with one id-0 error
// and closes it. It reads (and drops) what the client sent first, briefly,
// so the client's request write does not fail before it reads the answer.
func reject(c *net.UnixConn, e *Error, wait time.Duration) {
	defer c.Close()
	c.SetWriteDeadline(time.Now().Add(wait))
	if writeResponse(c, &Response{Version: Version, Error: e}) != nil {
		return
	}
	c.CloseWrite()
	c.SetReadDeadline(time.Now().Add(wait))
	io.Copy(io.Discard, io.LimitReader(c, 64<<10))
}

// rateLog logs an event the first time, then, while it repeats, at most once
// per logEvery with the count of the events not logged in between. It is
// used by one goroutine.
type rateLog struct {
	last       time.Time
	suppressed int
}

func (r *rateLog) warn(log *slog.Logger, msg string, args ...any) {
	now := time.Now()
	if !r.last.IsZero() && now.Sub(r.last) < logEvery {
		r.suppressed++
		return
	}
	if r.suppressed > 0 {
		args = append(args, "not_logged", r.suppressed)
	}
	log.Warn(msg, args...)
	r.last, r.suppressed = now, 0
}

func writeResponse(w io.Writer, r *Response) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

var errLineTooLong = errors.New("line too long")

// readLine reads one '\n'-terminated line of at most max bytes (without the
// '\n'). At EOF it returns the unterminated rest, if any, with a nil error.
// A read error after part of a line is a *partialError.
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		frag, err := r.ReadSlice('\n')
		line = append(line, frag...)
		n := len(line)
		if err == nil {
			n-- // the '\n'
		}
		if n > max {
			return nil, errLineTooLong
		}
		switch {
		case err == nil:
			return line[:n], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return line, nil
		case len(line) > 0:
			return nil, &partialError{err}
		default:
			return nil, err
		}
	}
}

// partialError is a read error after part of a line arrived.
type partialError struct{ err error }

func (e *partialError) Error() string { return e.err.Error() }
func (e *partialError) Unwrap() error { return e.err }

func (s *Server) serveConn(ctx context.Context, c *net.UnixConn, h Handler) {
	log := s.log()
	peer, err := peerOf(c)
	if err != nil {
		log.Warn("control: read peer credentials", "err", err)
		reject(c, Errorf(CodePermissionDenied, "permission denied: cannot read peer credentials: %v", err), time.Second)
		return
	}
	if !s.allowed(peer) {
		log.Warn("control: peer refused", "pid", peer.PID, "uid", peer.UID, "gid", peer.GID)
		reject(c, Errorf(CodePermissionDenied, "permission denied: uid %d may not use the lbd control socket (root only)", peer.UID), time.Second)
		return
	}
	idle := durOr(s.IdleTimeout, DefaultIdleTimeout)
	end := time.Now().Add(durOr(s.ConnTimeout, DefaultConnTimeout))
	wt := durOr(s.WriteTimeout, DefaultWriteTimeout)
	maxLine := intOr(s.MaxLineBytes, DefaultMaxLineBytes)
	r := bufio.NewReaderSize(c, 64<<10)
	write := func(resp *Response) bool {
		c.SetWriteDeadline(time.Now().Add(wt))
		if err := writeResponse(c, resp); err != nil {
			log.Debug("control: write response", "pid", peer.PID, "err", err)
			return false
		}
		return true
	}
	for {
		c.SetReadDeadline(time.Now().Add(min(idle, time.Until(end))))
		line, err := readLine(r, maxLine)
		if err != nil {
			var pe *partialError
			var ne net.Error
			switch {
			case errors.Is(err, errLineTooLong):
				log.Warn("control: request too large", "pid", peer.PID, "uid", peer.UID, "max", maxLine)
				write(&Response{Version: Version, Error: Errorf(CodeRequestTooLarge, "request line exceeds %d bytes", maxLine)})
			case errors.As(err, &pe) && errors.As(err, &ne) && ne.Timeout():
				log.Warn("control: slow client", "pid", peer.PID, "uid", peer.UID)
				write(&Response{Version: Version, Error: Errorf(CodeTimeout, "request line not completed in time (%s per request, %s per connection)",
					idle, durOr(s.ConnTimeout, DefaultConnTimeout))})
			}
			return
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		resp := s.handle(ctx, h, peer, line)
		if !write(resp) {
			return
		}
	}
}

// handle answers one request line.
func (s *Server) handle(ctx context.Context, h Handler, peer Peer, line []byte) *Response {
	req, perr := ParseRequest(line)
	resp := &Response{Version: Version, ID: req.ID}
	if perr != nil {
		resp.Error = perr
		return resp
	}
	if ctx.Err() != nil {
		resp.Error = Errorf(CodeShuttingDown, "lbd is shutting down")
		return resp
	}
	timeout := durOr(s.RequestTimeout, DefaultRequestTimeout)
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type outcome struct {
		v   any
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				s.log().Error("control: method panicked", "method", req.Method, "panic", p)
				done <- outcome{err: Errorf(CodeInternal, "internal error in method %q", req.Method)}
			}
		}()
		v, err := h.ServeControl(rctx, peer, req.Method, req.Params)
		done <- outcome{v, err}
	}()
	var out outcome
	select {
	case out = <-done:
	case <-rctx.Done():
		// Prefer an answer that raced with the deadline.
		select {
		case out = <-done:
		default:
			out.err = rctx.Err()
		}
	}
	if out.err != nil {
		resp.Error = toError(ctx, rctx, req.Method, timeout, out.err)
		return resp
	}
	b, err := json.Marshal(out.v)
	if err != nil {
		s.log().Error("control: encode result", "method", req.Method, "err", err)
		resp.Error = Errorf(CodeInternal, "internal error: cannot encode the result of %q", req.Method)
		return resp
	}
	resp.Result = b
	return resp
}

// toError maps a method's error to the error sent to the client.
func toError(ctx, rctx context.Context, method string, timeout time.Duration, err error) *Error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return Errorf(CodeShuttingDown, "lbd is shutting down")
	case errors.Is(rctx.Err(), context.DeadlineExceeded) && errors.Is(err, context.DeadlineExceeded):
		return Errorf(CodeTimeout, "method %q timed out after %s", method, timeout)
	default:
		return &Error{Code: CodeFailed, Message: err.Error()}
	}
}
