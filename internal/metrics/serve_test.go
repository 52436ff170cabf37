package metrics

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// serveLoopback serves m on a loopback port for the test's duration.
func serveLoopback(t *testing.T, m *Metrics) string {
	t.Helper()
	stop, addr, err := m.Serve(context.Background(), "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return addr
}

// dial opens a connection to addr, closed at the end of the test.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// get sends a keep-alive scrape on c and reads the answer by deadline;
// it returns the status code, or the error of reading it.
func get(c net.Conn, r *bufio.Reader, deadline time.Time) (int, error) {
	if _, err := io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: lbd\r\n\r\n"); err != nil {
		return 0, err
	}
	c.SetReadDeadline(deadline)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// scrapeOn opens a connection and scrapes once, leaving the connection
// open and idle.
func scrapeOn(t *testing.T, addr string) net.Conn {
	t.Helper()
	c := dial(t, addr)
	if code, err := get(c, bufio.NewReader(c), time.Now().Add(5*time.Second)); err != nil || code != 200 {
		t.Fatalf("scrape: %d %v", code, err)
	}
	return c
}

// closedBy reports whether the server closed c before deadline.
func closedBy(c net.Conn, deadline time.Time) bool {
	c.SetReadDeadline(deadline)
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// An idle connection, kept alive after a scrape or never used, is closed
// after a few seconds rather than held for as long as the client likes
// (one user's idle connections used to hold lbd's file descriptors).
func TestIdleConnectionsAreClosed(t *testing.T) {
	t.Parallel()
	addr := serveLoopback(t, New(source(State{}, nil), quiet()))
	var conns []net.Conn
	for range maxConns / 2 {
		conns = append(conns, scrapeOn(t, addr))
	}
	for range maxConns / 4 {
		conns = append(conns, dial(t, addr))
	}
	deadline := time.Now().Add(max(idleTimeout, readTimeout) + 3*time.Second)
	for i, c := range conns {
		if !closedBy(c, deadline) {
			t.Fatalf("connection %d still open after %v", i, max(idleTimeout, readTimeout)+3*time.Second)
		}
	}
}

// No more than maxConns connections are held at once: the next one waits
// (in the kernel's accept queue, costing lbd no descriptor) and is served
// once idle ones have been closed.
func TestConnectionsAreCapped(t *testing.T) {
	t.Parallel()
	addr := serveLoopback(t, New(source(State{}, nil), quiet()))
	for range maxConns {
		scrapeOn(t, addr)
	}
	extra := dial(t, addr)
	r := bufio.NewReader(extra)
	code, err := get(extra, r, time.Now().Add(500*time.Millisecond))
	if err == nil {
		t.Fatalf("connection %d served (%d) while %d were held", maxConns+1, code, maxConns)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("connection %d: %v; want it to wait", maxConns+1, err)
	}
	// The request is sent; once the held ones time out it is answered.
	extra.SetReadDeadline(time.Now().Add(idleTimeout + 3*time.Second))
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("connection %d not served once the idle ones were closed: %v", maxConns+1, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("connection %d: %s", maxConns+1, resp.Status)
	}
}

// Another handler (the status page) gets every path but /metrics, on the
// same server: its connections count against the same cap.
func TestOtherPathsShareTheServer(t *testing.T) {
	t.Parallel()
	m := New(source(State{}, nil), quiet())
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "page "+r.URL.Path) })
	stop, addr, err := m.Serve(context.Background(), "127.0.0.1:0", page)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}} // holding no connection
	read := func(path string) string {
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := read("/status"); got != "page /status" {
		t.Errorf("/status: %q", got)
	}
	if got := read("/metrics"); !strings.Contains(got, "lbd_reloads_total") {
		t.Errorf("/metrics beside the page: %q", got)
	}
	for range maxConns {
		scrapeOn(t, addr)
	}
	c := dial(t, addr)
	io.WriteString(c, "GET /status HTTP/1.1\r\nHost: lbd\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
		t.Errorf("the page served a connection beyond the %d the server holds", maxConns)
	}
}

// At most maxScrapes collections run at once (each asks the daemon loop,
// the engine and the kernel); the ones beyond get 503 at once.
func TestConcurrentScrapesAreCapped(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	src := source(State{}, nil)
	src.State = func(ctx context.Context) (State, error) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return State{}, ctx.Err()
	}
	addr := serveLoopback(t, New(src, quiet()))
	codes := make(chan int, maxScrapes)
	for range maxScrapes {
		c := dial(t, addr)
		go func() {
			code, _ := get(c, bufio.NewReader(c), time.Now().Add(10*time.Second))
			codes <- code
		}()
		<-entered
	}
	c := dial(t, addr)
	done := make(chan struct{})
	// Without the cap the next scrape would be one more State call: take
	// it, so that the test fails rather than hangs.
	go func() {
		defer close(done)
		for {
			select {
			case <-entered:
			case <-release:
				return
			}
		}
	}()
	code, err := get(c, bufio.NewReader(c), time.Now().Add(time.Second))
	close(release)
	<-done
	if err != nil || code != http.StatusServiceUnavailable {
		t.Errorf("scrape %d beyond %d running: %d %v; want 503 at once", maxScrapes+1, maxScrapes, code, err)
	}
	for range maxScrapes {
		if code := <-codes; code != 200 {
			t.Errorf("a running scrape: %d", code)
		}
	}
}

// lockedBuffer is a log destination written by the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.b.String(), s)
}

// failingListener fails Accept n times (the way accept4 fails when the
// process is out of descriptors), then waits for Close.
type failingListener struct {
	net.Listener
	n         int
	exhausted chan struct{}
	closed    chan struct{}
	once      sync.Once
}

type tempError struct{}

func (tempError) Error() string   { return "accept4: too many open files" }
func (tempError) Timeout() bool   { return false }
func (tempError) Temporary() bool { return true }

func (l *failingListener) Accept() (net.Conn, error) {
	if l.n > 0 {
		l.n--
		return nil, tempError{}
	}
	l.once.Do(func() { close(l.exhausted) })
	<-l.closed
	return nil, net.ErrClosed
}

func (l *failingListener) Close() error {
	select {
	case <-l.closed:
	default:
		close(l.closed)
	}
	return nil
}

// A failing accept loop (retried every few ms up to every second) logs
// its first error, not one line per retry.
func TestAcceptErrorsAreRateLimited(t *testing.T) {
	var slogged, stdlogged lockedBuffer
	// Errors the server does not route through lbd's log go to the
	// standard logger: count those too.
	defer log.SetOutput(log.Writer())
	log.SetOutput(&stdlogged)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &failingListener{Listener: inner, n: 6, exhausted: make(chan struct{}), closed: make(chan struct{})}
	defer inner.Close()
	m := New(source(State{}, nil), slog.New(slog.NewTextHandler(&slogged, nil)))
	stop := m.serve(context.Background(), ln, nil)
	select {
	case <-ln.exhausted:
	case <-time.After(10 * time.Second):
		t.Fatal("the server stopped accepting")
	}
	stop()
	if n := slogged.count("Accept error") + stdlogged.count("Accept error"); n != 1 {
		t.Errorf("%d accept errors logged for 6 failures in a row; want 1\nlbd's log:\n%s\nstandard log:\n%s",
			n, slogged.b.String(), stdlogged.b.String())
	}
}

// The first error is logged, the rest at most every errorLogEvery with
// the count of those dropped in between.
func TestErrorLogCountsWhatItDrops(t *testing.T) {
	var out lockedBuffer
	now := time.Unix(1700000000, 0)
	l := &errorLog{log: slog.New(slog.NewTextHandler(&out, nil)), now: func() time.Time { return now }}
	logger := log.New(l, "", 0) // as the http.Server writes to it
	lines := func() []string { return strings.Split(strings.TrimSpace(out.b.String()), "\n") }

	for range 100 {
		logger.Printf("http: Accept error: %v; retrying in 5ms", tempError{})
		now = now.Add(10 * time.Millisecond)
	}
	if got := lines(); len(got) != 1 || strings.Contains(got[0], "dropped") ||
		!strings.Contains(got[0], `err="http: Accept error: accept4: too many open files; retrying in 5ms"`) {
		t.Fatalf("after 100 errors within 1 s, logged:\n%s", out.b.String())
	}
	now = now.Add(errorLogEvery)
	l.Println("error gathering metrics:", "x")
	if got := lines(); len(got) != 2 || !strings.Contains(got[1], "dropped=99") || !strings.Contains(got[1], "error gathering metrics: x") {
		t.Fatalf("the next error after %v, logged:\n%s", errorLogEvery, out.b.String())
	}
	now = now.Add(errorLogEvery)
	l.Println("again")
	if got := lines(); len(got) != 3 || strings.Contains(got[2], "dropped") {
		t.Fatalf("an error after a quiet %v, logged:\n%s", errorLogEvery, out.b.String())
	}
}
