package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// childEnv names the socket a re-executed test binary connects to.
const childEnv = "LBD_CONTROL_TEST_CHILD_SOCK"

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		os.Exit(childMain(path))
	}
	os.Exit(m.Run())
}

// childReport is what the child process prints about its call.
type childReport struct {
	UID       int             `json:"uid"`
	DialError string          `json:"dial_error,omitempty"`
	Code      string          `json:"code,omitempty"`
	Error     string          `json:"error,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
}

// childMain runs in the re-executed binary: one status call, reported as JSON.
func childMain(path string) int {
	rep := childReport{UID: os.Getuid()}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := DialContext(ctx, path)
	if err != nil {
		rep.DialError = err.Error()
	} else {
		var res json.RawMessage
		err = c.Call(ctx, "status", nil, &res)
		var e *Error
		if errors.As(err, &e) {
			rep.Code = e.Code
		}
		if err != nil {
			rep.Error = err.Error()
		}
		rep.Result = res
		c.Close()
	}
	json.NewEncoder(os.Stdout).Encode(rep)
	return 0
}

type status struct {
	State string `json:"state"`
	UID   uint32 `json:"uid"`
}

type echoParams struct {
	Text string `json:"text"`
	N    int    `json:"n"`
}

// testMux has the methods the tests call. hang blocks until release is
// closed, ignoring its context.
func testMux(release <-chan struct{}) *Mux {
	m := NewMux()
	m.Handle("status", func(ctx context.Context, p Peer, _ json.RawMessage) (any, error) {
		return status{State: "MASTER", UID: p.UID}, nil
	})
	m.Handle("echo", Typed(func(ctx context.Context, _ Peer, p echoParams) (echoParams, error) {
		p.N++
		return p, nil
	}))
	m.Handle("fail", func(context.Context, Peer, json.RawMessage) (any, error) {
		return nil, errors.New("reload failed: lbd.yaml:3:7: unknown key \"sheduler\"")
	})
	m.Handle("missing", func(context.Context, Peer, json.RawMessage) (any, error) {
		return nil, fmt.Errorf("drain: %w", Errorf(CodeNotFound, "no real server 192.0.2.10:80"))
	})
	m.Handle("nothing", func(context.Context, Peer, json.RawMessage) (any, error) { return nil, nil })
	m.Handle("panic", func(context.Context, Peer, json.RawMessage) (any, error) { panic("boom") })
	m.Handle("badresult", func(context.Context, Peer, json.RawMessage) (any, error) { return func() {}, nil })
	m.Handle("hang", func(context.Context, Peer, json.RawMessage) (any, error) {
		<-release
		return "late", nil
	})
	return m
}

// startServer listens in a fresh directory and serves testMux. When the
// tests do not run as root, the test's own uid is allowed.
func startServer(t *testing.T, tune func(*Server)) (*Server, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "control.sock")
	s, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	if uid := os.Getuid(); uid != 0 {
		s.AllowUIDs = []uint32{uint32(uid)}
	}
	if tune != nil {
		tune(s)
	}
	release := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, testMux(release)) }()
	t.Cleanup(func() {
		close(release)
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return s, path
}

func dial(t *testing.T, path string) *Client {
	t.Helper()
	c, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error = %v (%T), want code %s", err, err, code)
	}
}

func TestRoundTripOneConnection(t *testing.T) {
	_, path := startServer(t, nil)
	c := dial(t, path)
	ctx := ctxT(t)

	var st status
	if err := c.Call(ctx, "status", nil, &st); err != nil {
		t.Fatal(err)
	}
	if st.State != "MASTER" || st.UID != uint32(os.Getuid()) {
		t.Errorf("status = %+v", st)
	}
	var e echoParams
	if err := c.Call(ctx, "echo", echoParams{Text: "héllo\n\"x\"", N: 41}, &e); err != nil {
		t.Fatal(err)
	}
	if e.Text != "héllo\n\"x\"" || e.N != 42 {
		t.Errorf("echo = %+v", e)
	}
	if err := c.Call(ctx, "nothing", nil, nil); err != nil {
		t.Fatal(err)
	}

	err := c.Call(ctx, "fail", nil, nil)
	wantCode(t, err, CodeFailed)
	if !strings.Contains(err.Error(), "lbd.yaml:3:7") {
		t.Errorf("fail message = %q", err)
	}
	err = c.Call(ctx, "missing", nil, nil)
	wantCode(t, err, CodeNotFound)
	if err.Error() != "no real server 192.0.2.10:80" || !IsCode(err, CodeNotFound) {
		t.Errorf("missing = %q", err)
	}
	wantCode(t, c.Call(ctx, "stauts", nil, nil), CodeUnknownMethod)
	wantCode(t, c.Call(ctx, "echo", map[string]any{"text": "x", "bogus": 1}, nil), CodeInvalidParams)
	wantCode(t, c.Call(ctx, "echo", []int{1}, nil), CodeInvalidParams)
	wantCode(t, c.Call(ctx, "panic", nil, nil), CodeInternal)
	wantCode(t, c.Call(ctx, "badresult", nil, nil), CodeInternal)

	// The connection survives every error above.
	if err := c.Call(ctx, "status", nil, &st); err != nil {
		t.Fatal(err)
	}
}

// rawConn is a test client speaking the wire format by hand.
type rawConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, path string) *rawConn {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t: t, c: c, r: bufio.NewReader(c)}
}

func (r *rawConn) send(s string) {
	r.t.Helper()
	if _, err := io.WriteString(r.c, s); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawConn) recv() Response {
	r.t.Helper()
	line, err := r.r.ReadBytes('\n')
	if err != nil {
		r.t.Fatalf("read response: %v (got %q)", err, line)
	}
	var resp Response
	dec := json.NewDecoder(strings.NewReader(string(line)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&resp); err != nil {
		r.t.Fatalf("response %q: %v", line, err)
	}
	if resp.Version != 1 {
		r.t.Errorf("response %q: version %d", line, resp.Version)
	}
	if (resp.Error == nil) == (resp.Result == nil) {
		r.t.Errorf("response %q: want exactly one of result and error", line)
	}
	return resp
}

func (r *rawConn) expectEOF() {
	r.t.Helper()
	if line, err := r.r.ReadBytes('\n'); err == nil {
		r.t.Fatalf("got %q, want the connection closed", line)
	}
}

func TestPipelinedRequestsAnsweredInOrder(t *testing.T) {
	_, path := startServer(t, nil)
	rc := dialRaw(t, path)
	rc.send(`{"id":7,"method":"echo","params":{"n":1}}` + "\n\n" +
		`{"id":8,"method":"status","version":1}` + "\r\n" +
		`{"id":9,"method":"nope"}` + "\n")
	for _, want := range []uint64{7, 8, 9} {
		resp := rc.recv()
		if resp.ID != want {
			t.Fatalf("id = %d, want %d", resp.ID, want)
		}
		if want == 7 && string(resp.Result) != `{"text":"","n":2}` {
			t.Errorf("echo result = %s", resp.Result)
		}
		if want == 9 && (resp.Error == nil || resp.Error.Code != CodeUnknownMethod) {
			t.Errorf("nope: %+v", resp.Error)
		}
	}
	// A last request without '\n' before the client half-closes is answered.
	rc.send(`{"id":10,"method":"nothing"}`)
	rc.c.(*net.UnixConn).CloseWrite()
	if resp := rc.recv(); resp.ID != 10 || string(resp.Result) != "null" {
		t.Errorf("last = %+v", resp)
	}
	rc.expectEOF()
}

func TestMalformedInput(t *testing.T) {
	_, path := startServer(t, nil)
	rc := dialRaw(t, path)
	cases := []struct {
		line string
		id   uint64
		code string
	}{
		{`not json`, 0, CodeParseError},
		{`{"id":1,"method":"status"`, 0, CodeParseError},
		{`{"id":1,"method":"status"} {}`, 0, CodeParseError},
		{`[1,2]`, 0, CodeParseError},
		{`"status"`, 0, CodeParseError},
		{`{"id":2,"method":3}`, 2, CodeInvalidRequest},
		{`{"id":3}`, 3, CodeInvalidRequest},
		{`{"id":4,"method":""}`, 4, CodeInvalidRequest},
		{`{"id":"x","method":"status"}`, 0, CodeInvalidRequest},
		{`{"id":-1,"method":"status"}`, 0, CodeInvalidRequest},
		{`{"id":1.5,"method":"status"}`, 0, CodeInvalidRequest},
		{`{"id":5,"method":"status","extra":true}`, 5, CodeInvalidRequest},
		{`{"id":5,"Method":"status"}`, 5, CodeInvalidRequest},
		{`{"id":5,"method":"status","params":{"a":1}`, 0, CodeParseError},
		{`{"id":6,"method":"status","version":2}`, 6, CodeUnsupportedVersion},
		{`{"id":7,"method":"status","version":"1"}`, 7, CodeInvalidRequest},
		{"{\"id\":8,\"method\":\"\xff\xfe\"}", 8, CodeUnknownMethod},
	}
	for _, tc := range cases {
		rc.send(tc.line + "\n")
		resp := rc.recv()
		if resp.Error == nil || resp.Error.Code != tc.code || resp.ID != tc.id {
			t.Errorf("%q: got id %d error %+v, want id %d code %s", tc.line, resp.ID, resp.Error, tc.id, tc.code)
		}
	}
	rc.send(`{"id":99,"method":"status"}` + "\n")
	if resp := rc.recv(); resp.ID != 99 || resp.Error != nil {
		t.Errorf("after malformed input: %+v", resp)
	}
}

func TestOversizedLine(t *testing.T) {
	_, path := startServer(t, nil)
	rc := dialRaw(t, path)
	go func() {
		// Blocks or fails once the server stops reading; that is fine.
		big := `{"id":1,"method":"echo","params":{"text":"` + strings.Repeat("a", 2<<20) + `"}}` + "\n"
		io.WriteString(rc.c, big)
	}()
	resp := rc.recv()
	if resp.Error == nil || resp.Error.Code != CodeRequestTooLarge {
		t.Fatalf("got %+v, want request_too_large", resp)
	}
	rc.expectEOF()

	// A line of exactly the limit is accepted.
	prefix, suffix := `{"id":2,"method":"echo","params":{"text":"`, `"}}`
	line := prefix + strings.Repeat("b", DefaultMaxLineBytes-len(prefix)-len(suffix)) + suffix
	rc2 := dialRaw(t, path)
	go io.WriteString(rc2.c, line+"\n")
	if resp := rc2.recv(); resp.ID != 2 || resp.Error != nil {
		t.Fatalf("line at the limit: id %d error %+v", resp.ID, resp.Error)
	}
}

func TestSlowClientCutOthersServed(t *testing.T) {
	_, path := startServer(t, func(s *Server) { s.IdleTimeout = 300 * time.Millisecond })
	slow := dialRaw(t, path)
	slow.send(`{"id":1,"meth`)
	idle := dialRaw(t, path)

	// Meanwhile another client is served at once.
	c := dial(t, path)
	if err := c.Call(ctxT(t), "status", nil, nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp := slow.recv()
	if resp.Error == nil || resp.Error.Code != CodeTimeout {
		t.Fatalf("slow client got %+v, want timeout", resp)
	}
	slow.expectEOF()
	idle.expectEOF() // an idle connection is closed without a word
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("slow client cut after %v", d)
	}
}

func TestHangingHandlerCutByTimeout(t *testing.T) {
	_, path := startServer(t, func(s *Server) { s.RequestTimeout = 200 * time.Millisecond })
	c := dial(t, path)
	ctx := ctxT(t)
	start := time.Now()
	err := c.Call(ctx, "hang", nil, nil)
	wantCode(t, err, CodeTimeout)
	if d := time.Since(start); d < 200*time.Millisecond || d > 3*time.Second {
		t.Errorf("timeout after %v", d)
	}
	if !strings.Contains(err.Error(), `"hang" timed out after 200ms`) {
		t.Errorf("message %q", err)
	}
	// The same connection and others go on.
	if err := c.Call(ctx, "status", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := dial(t, path).Call(ctx, "status", nil, nil); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentClients(t *testing.T) {
	_, path := startServer(t, func(s *Server) { s.MaxConns = 32 })
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			c, err := Dial(path)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for j := range 50 {
				var e echoParams
				if err := c.Call(ctx, "echo", echoParams{Text: fmt.Sprint(i), N: j}, &e); err != nil {
					errs <- err
					return
				}
				if e.Text != fmt.Sprint(i) || e.N != j+1 {
					errs <- fmt.Errorf("client %d call %d: got %+v", i, j, e)
					return
				}
			}
		})
	}
	// One Client shared by goroutines serializes their calls.
	shared := dial(t, path)
	for range 10 {
		wg.Go(func() {
			if err := shared.Call(ctx, "status", nil, nil); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestTooManyConnections(t *testing.T) {
	_, path := startServer(t, func(s *Server) { s.MaxConns = 1 })
	first := dial(t, path)
	if err := first.Call(ctxT(t), "status", nil, nil); err != nil {
		t.Fatal(err)
	}
	second := dial(t, path)
	wantCode(t, second.Call(ctxT(t), "status", nil, nil), CodeBusy)
	first.Close()
	// The slot frees once the first connection has gone.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := dial(t, path)
		err := c.Call(ctxT(t), "status", nil, nil)
		if err == nil {
			break
		}
		if !IsCode(err, CodeBusy) || time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestIdleConnectionsDoNotLockOut(t *testing.T) {
	_, path := startServer(t, nil)
	// Every slot is taken by a client that connects and says nothing.
	for range DefaultMaxConns {
		dialRaw(t, path)
	}
	start := time.Now()
	for {
		c := dial(t, path)
		err := c.Call(ctxT(t), "status", nil, nil)
		if err == nil {
			break
		}
		if !IsCode(err, CodeBusy) || time.Since(start) > 10*time.Second {
			t.Fatalf("after %v: %v", time.Since(start), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if d := time.Since(start); d > DefaultIdleTimeout+2*time.Second {
		t.Errorf("idle connections kept a client out for %v", d)
	}
}

func TestConnTimeoutBoundsExchange(t *testing.T) {
	_, path := startServer(t, func(s *Server) { s.ConnTimeout = 500 * time.Millisecond })
	// A client that keeps sending requests still loses its slot.
	rc := dialRaw(t, path)
	start := time.Now()
	for i := 0; ; i++ {
		if _, err := io.WriteString(rc.c, `{"id":1,"method":"status"}`+"\n"); err != nil {
			break
		}
		if _, err := rc.r.ReadBytes('\n'); err != nil {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("connection still served after 5s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Errorf("connection closed after %v, before ConnTimeout", d)
	}
}

func TestRefusalDoesNotDelayAccept(t *testing.T) {
	_, path := startServer(t, func(s *Server) { s.MaxConns = 1 })
	first := dial(t, path)
	if err := first.Call(ctxT(t), "status", nil, nil); err != nil {
		t.Fatal(err)
	}
	// Refused clients that neither read nor close must not hold up the
	// accept loop: the last of many is answered as soon as the first.
	start := time.Now()
	var last *rawConn
	for range 20 {
		last = dialRaw(t, path)
	}
	if resp := last.recv(); resp.Error == nil || resp.Error.Code != CodeBusy {
		t.Fatalf("got %+v, want busy", resp)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the 20th refusal took %v", d)
	}
}

func TestRateLogRepeats(t *testing.T) {
	var buf strings.Builder
	log := slog.New(slog.NewTextHandler(&buf, nil))
	var r rateLog
	for range 5 {
		r.warn(log, "control: accept", "err", "too many open files")
	}
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Fatalf("5 errors in a row logged %d lines:\n%s", n, buf.String())
	}
	r.last = r.last.Add(-logEvery)
	r.warn(log, "control: accept", "err", "too many open files")
	if lines := strings.Split(strings.TrimSpace(buf.String()), "\n"); len(lines) != 2 || !strings.Contains(lines[1], "not_logged=4") {
		t.Errorf("after %v: %q, want a second line with not_logged=4", logEvery, lines)
	}
}

func TestSocketMode0600(t *testing.T) {
	s, path := startServer(t, nil)
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&fs.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want socket 0600", fi.Mode())
	}
	if s.Path() != path {
		t.Errorf("Path() = %q", s.Path())
	}
	// No temporary directory is left beside it.
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only the socket", len(ents))
	}
}

func TestListenCreatesDirectoryAndDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "lbd", "c.sock")
	s, err := ListenConfig{Mode: 0o660}.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode().Perm() != 0o660 {
		t.Fatalf("mode %v, err %v", fi.Mode(), err)
	}
}

func TestStaleSocketReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	old, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	old.SetUnlinkOnClose(false)
	old.Close() // a crashed daemon leaves this file behind
	if _, err := Dial(path); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("dial stale socket: %v, want ErrNotRunning", err)
	}
	s, err := Listen(path)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	if uid := os.Getuid(); uid != 0 {
		s.AllowUIDs = []uint32{uint32(uid)}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Serve(ctx, testMux(nil)) }()
	if err := dial(t, path).Call(ctxT(t), "status", nil, nil); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket file after Serve returned: %v", err)
	}
}

func TestLiveSocketNotReplaced(t *testing.T) {
	s, path := startServer(t, nil)
	_, err := Listen(path)
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Listen: %v, want in use", err)
	}
	if err := dial(t, path).Call(ctxT(t), "status", nil, nil); err != nil {
		t.Fatalf("first server disturbed: %v", err)
	}
	_ = s
}

func TestNotASocketNotReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	os.WriteFile(path, []byte("keep"), 0o644)
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("Listen: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "keep" {
		t.Error("file was touched")
	}
}

func TestCloseRemovesSocketAndDialSaysNotRunning(t *testing.T) {
	s, path := startServer(t, nil)
	c := dial(t, path)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket file after Close: %v", err)
	}
	if err := c.Call(ctxT(t), "status", nil, nil); err == nil {
		t.Error("call on a closed server succeeded")
	}
	_, err := Dial(path)
	if !errors.Is(err, ErrNotRunning) || err.Error() != "lbd is not running (no control socket at "+path+")" {
		t.Errorf("Dial after Close: %v", err)
	}
}

func TestClientContextCancel(t *testing.T) {
	_, path := startServer(t, nil)
	c := dial(t, path)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := c.Call(ctx, "hang", nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	// The connection is unusable after an abandoned call.
	if err := c.Call(ctxT(t), "status", nil, nil); err == nil {
		t.Error("call after an abandoned one succeeded")
	}
}

// TestPeerCredentials runs a client as uid 65534 (nobody) and checks the
// server refuses it by its credentials: socket and directory are open to
// everyone here, so only the SO_PEERCRED check can refuse it.
func TestPeerCredentials(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client as another uid")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "lbdctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// The go test binary sits in a private build directory: copy it where
	// nobody can run it.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "control.test")
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "control.sock")

	run := func(t *testing.T, tune func(*Server)) childReport {
		s, err := Listen(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, 0o666); err != nil { // this test only
			t.Fatal(err)
		}
		if tune != nil {
			tune(s)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- s.Serve(ctx, testMux(nil)) }()
		defer func() { cancel(); <-done }()

		cmd := exec.Command(bin, "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+path)
		cmd.Dir = dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		var rep childReport
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("child output %q: %v", out, err)
		}
		if rep.UID != 65534 {
			t.Fatalf("child ran as uid %d", rep.UID)
		}
		if rep.DialError != "" {
			t.Fatalf("child could not connect (the file mode must not be what refuses it): %s", rep.DialError)
		}
		return rep
	}

	t.Run("refused", func(t *testing.T) {
		rep := run(t, nil)
		if rep.Code != CodePermissionDenied || !strings.Contains(rep.Error, "uid 65534") {
			t.Fatalf("child got %+v, want permission_denied", rep)
		}
	})
	t.Run("allowed uid", func(t *testing.T) {
		rep := run(t, func(s *Server) { s.AllowUIDs = []uint32{65534} })
		if rep.Error != "" || !strings.Contains(string(rep.Result), `"uid":65534`) {
			t.Fatalf("child got %+v, want a status", rep)
		}
	})
	t.Run("allowed gid", func(t *testing.T) {
		rep := run(t, func(s *Server) { s.AllowGIDs = []uint32{65534} })
		if rep.Error != "" {
			t.Fatalf("child got %+v, want a status", rep)
		}
	})
}

// TestRefusedPeerRaw checks the wire form of a refusal: one id-0 error,
// then the connection closes. Root is always allowed, so it runs only as
// another user (TestPeerCredentials covers refusal when run as root).
func TestRefusedPeerRaw(t *testing.T) {
	if os.Getuid() == 0 {
		t.Skip("root is always allowed; TestPeerCredentials covers refusal")
	}
	path := filepath.Join(t.TempDir(), "control.sock")
	s, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Serve(ctx, testMux(nil))
	rc := dialRaw(t, path)
	rc.send(`{"id":1,"method":"status"}` + "\n")
	resp := rc.recv()
	if resp.ID != 0 || resp.Error == nil || resp.Error.Code != CodePermissionDenied {
		t.Fatalf("got %+v", resp)
	}
	rc.expectEOF()
}

func TestShutdownAnswersRunningRequest(t *testing.T) {
	s, path := startServer(t, nil)
	c := dial(t, path)
	errc := make(chan error)
	go func() { errc <- c.Call(ctxT(t), "hang", nil, nil) }()
	time.Sleep(100 * time.Millisecond)
	s.Close()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("hanging call succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("call still blocked after Close")
	}
}

func TestMuxHandlePanics(t *testing.T) {
	m := NewMux()
	m.Handle("a", func(context.Context, Peer, json.RawMessage) (any, error) { return nil, nil })
	for _, f := range []func(){
		func() { m.Handle("a", func(context.Context, Peer, json.RawMessage) (any, error) { return nil, nil }) },
		func() { m.Handle("", func(context.Context, Peer, json.RawMessage) (any, error) { return nil, nil }) },
		func() { m.Handle("b", nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("Handle did not panic")
				}
			}()
			f()
		}()
	}
	if got := fmt.Sprint(m.Methods()); got != "[a]" {
		t.Errorf("Methods() = %s", got)
	}
}
