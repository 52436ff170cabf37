package healthcheck

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lbd-project/lbd/internal/lab"
)

// timeWaits counts the IPv4 TIME_WAIT sockets of this network namespace
// with port at either end: what closing with a FIN leaves behind, on the
// balancer or on the server, whichever closed first.
func timeWaits(t *testing.T, port uint16) int {
	t.Helper()
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	n := 0
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || fields[3] != "06" { // TCP_TIME_WAIT
			continue
		}
		for _, end := range fields[1:3] {
			_, hex, _ := strings.Cut(end, ":")
			if p, err := strconv.ParseUint(hex, 16, 16); err == nil && uint16(p) == port {
				n++
				break
			}
		}
	}
	return n
}

// httpServer answers every request with status 200 and body, then closes,
// as an HTTP/1.0 server does.
func httpServer(t *testing.T, body string) netip.AddrPort {
	return rawServer(t, "tcp", "127.0.0.1:0", func(c net.Conn) {
		readRequest(c)
		fmt.Fprintf(c, "HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		c.Close()
	})
}

// TestFetchPooledSocket: HTTP_GET on the Runner's pool reuses one socket
// for check after check and ends each connection with a reset, leaving no
// TIME_WAIT socket on either side; the same checks without a pool (a
// direct Check) close with a FIN, and leave one per check.
func TestFetchPooledSocket(t *testing.T) {
	pooledSrv, plainSrv := httpServer(t, "hello"), httpServer(t, "hello")
	var pool socketPool
	defer pool.drain()
	check := func(ap netip.AddrPort) *HTTPChecker {
		return &HTTPChecker{Dest: Dest{Addr: ap}, URLs: []URL{{Path: "/", Digest: digestOf("hello")}}}
	}
	const rounds = 20
	for i := range rounds {
		if res := check(pooledSrv).checkPooled(ctxTimeout(t, 2*time.Second), &pool); !res.OK {
			t.Fatalf("round %d: pooled: %+v", i, res)
		}
		if n := pool.idleCount(); n != 1 {
			t.Fatalf("round %d: %d idle sockets, want the one reused", i, n)
		}
		if res := check(plainSrv).Check(ctxTimeout(t, 2*time.Second)); !res.OK {
			t.Fatalf("round %d: direct: %+v", i, res)
		}
	}
	// The FINs of the last checks may still be on their way.
	lab.Poll(2*time.Second, 10*time.Millisecond, func() bool { return timeWaits(t, plainSrv.Port()) >= rounds })
	if n := timeWaits(t, plainSrv.Port()); n < rounds {
		t.Errorf("%d TIME_WAIT sockets after %d direct checks closed with a FIN, want one each", n, rounds)
	}
	if n := timeWaits(t, pooledSrv.Port()); n != 0 {
		t.Errorf("%d TIME_WAIT sockets after %d pooled checks, want none (reset)", n, rounds)
	}
}

// TestFetchPooledFailures: a socket goes back to the pool only after a
// complete response (a wrong digest is one); a server that does not
// answer in time or resets the connection costs the socket, which is
// closed, not leaked; and a reused socket serves the next checks.
func TestFetchPooledFailures(t *testing.T) {
	good := httpServer(t, "hello")
	silent := rawServer(t, "tcp", "127.0.0.1:0", func(c net.Conn) {
		readRequest(c)
		time.Sleep(time.Second)
		c.Close()
	})
	reset := rawServer(t, "tcp", "127.0.0.1:0", func(c net.Conn) {
		readRequest(c)
		c.Write([]byte("HTTP/1.0 200 OK\r\n"))
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	})
	check := func(ap netip.AddrPort, body string) *HTTPChecker {
		return &HTTPChecker{Dest: Dest{Addr: ap}, URLs: []URL{{Path: "/", Digest: digestOf(body)}}}
	}
	var pool socketPool
	defer pool.drain()
	before := openFDs(t)
	cases := []struct {
		name   string
		check  *HTTPChecker
		d      time.Duration
		reason string // in the failure, "" for a pass
		idle   int    // sockets in the pool after it
	}{
		{"good", check(good, "hello"), 2 * time.Second, "", 1},
		{"wrong digest", check(good, "other"), 2 * time.Second, "digest mismatch", 1},
		{"silent", check(silent, "hello"), 100 * time.Millisecond, "read header", 0},
		{"reset", check(reset, "hello"), 2 * time.Second, "read header", 0},
		{"good after", check(good, "hello"), 2 * time.Second, "", 1},
		{"good again", check(good, "hello"), 2 * time.Second, "", 1},
	}
	for _, c := range cases {
		res := c.check.checkPooled(ctxTimeout(t, c.d), &pool)
		if res.OK != (c.reason == "") || !strings.Contains(res.Reason, c.reason) {
			t.Errorf("%s: %+v, want failure %q", c.name, res, c.reason)
		}
		if n := pool.idleCount(); n != c.idle {
			t.Errorf("%s: %d idle sockets, want %d", c.name, n, c.idle)
		}
	}
	pool.drain()
	// The silent server holds its side for a second.
	lab.Poll(3*time.Second, 10*time.Millisecond, func() bool { return openFDs(t) <= before })
	if n := openFDs(t); n > before {
		t.Errorf("%d file descriptors open after the checks and the pool's drain, %d before", n, before)
	}
}

// TestRunnerHTTPChecksPooled: HTTP_GET probes run by a Runner, wrapped for
// metrics, use its pool (no TIME_WAIT left), and each is observed.
func TestRunnerHTTPChecksPooled(t *testing.T) {
	srv := httpServer(t, "hello")
	var seen observations
	var starts atomicCounter
	r := NewRunner(RunnerConfig{Started: func(time.Duration) { starts.add() }})
	for i := range 5 {
		c := Observe(&HTTPChecker{Dest: Dest{Addr: srv}, URLs: []URL{{Path: "/", Digest: digestOf("hello")}}}, seen.observe)
		r.Add(Target{ID: fmt.Sprint(i), Checker: c, Options: Options{DelayLoop: 20 * time.Millisecond, Timeout: time.Second}})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	r.Run(ctx)
	// A probe in flight when Run stops fails (its context ends), one per
	// target at most.
	ok, fail := seen.counts()
	if ok < 25 || fail > 5 {
		t.Errorf("observed %d passed and %d failed probes, want dozens passed", ok, fail)
	}
	if n := int(starts.load()); ok+fail > n || ok+fail < n-5 {
		t.Errorf("observed %d results of %d probes", ok+fail, n)
	}
	if n := timeWaits(t, srv.Port()); n != 0 {
		t.Errorf("%d TIME_WAIT sockets after %d probes, want none: the Runner's pool was not used", n, ok)
	}
}

// TestRecycledSocketHasNoPendingError: a socket back in the pool after a
// complete response has no error pending. The reset that ended its
// connection leaves ECONNRESET on it, which the runtime's poller could
// catch while the next connection starts, and then fail that
// connection's first read.
func TestRecycledSocketHasNoPendingError(t *testing.T) {
	srv := httpServer(t, "hello")
	var pool socketPool
	defer pool.drain()
	c := &HTTPChecker{Dest: Dest{Addr: srv}, URLs: []URL{{Path: "/", Digest: digestOf("hello")}}}
	if res := c.checkPooled(ctxTimeout(t, 2*time.Second), &pool); !res.OK {
		t.Fatalf("check: %+v", res)
	}
	if pool.idleCount() != 1 {
		t.Fatal("the socket did not go back to the pool")
	}
	e, err := unix.GetsockoptInt(pool.idle[0][0].fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil || e != 0 {
		t.Errorf("pooled socket: error %v pending (getsockopt: %v), want none", unix.Errno(e), err)
	}
}

// TestResetTCPSocketHasNoPendingError: the same holds for a TCP_CHECK
// socket that the runtime's poller knows (its handshake once had to wait).
func TestResetTCPSocketHasNoPendingError(t *testing.T) {
	open := rawServer(t, "tcp", "127.0.0.1:0", func(c net.Conn) {})
	var pool socketPool
	defer pool.drain()
	s, err := newProbeSocket(unix.AF_INET, &pool)
	if err != nil {
		t.Fatal(err)
	}
	s.file = os.NewFile(uintptr(s.fd), "tcp-probe")
	pool.put(s)
	if err := connectVerdict(t, &pool, open, time.Second); err != nil {
		t.Fatal(err)
	}
	if pool.idleCount() != 1 || pool.idle[0][0] != s {
		t.Fatal("the registered socket did not go back to the pool")
	}
	e, err := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil || e != 0 {
		t.Errorf("pooled socket: error %v pending (getsockopt: %v), want none", unix.Errno(e), err)
	}
}

// TestZonedTargetNotPooled: a link-local target's socket is bound to the
// zone's interface by its connect, which a reset does not undo, so it
// never comes from or goes to the pool.
func TestZonedTargetNotPooled(t *testing.T) {
	var pool socketPool
	defer pool.drain()
	for _, c := range []struct {
		addr   string
		pooled bool
	}{{"[fe80::1%lo]:80", false}, {"[::1]:80", true}} {
		s, err := Dest{Addr: netip.MustParseAddrPort(c.addr)}.socket(&pool, unix.AF_INET6)
		if err != nil {
			t.Skip(err)
		}
		if got := s.pool == &pool; got != c.pooled {
			t.Errorf("%s: pooled %v, want %v", c.addr, got, c.pooled)
		}
		s.close()
	}
}
