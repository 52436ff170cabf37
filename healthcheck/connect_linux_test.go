package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lbd-project/lbd/internal/lab"
)

// idle returns how many IPv4 sockets p holds.
func (p *socketPool) idleCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle[0])
}

// connectVerdict runs one pooled probe to ap, waiting up to d if the
// handshake is still in flight.
func connectVerdict(t *testing.T, pool *socketPool, ap netip.AddrPort, d time.Duration) error {
	t.Helper()
	p, err := Dest{Addr: ap}.startConnect(pool)
	if p == nil {
		return err
	}
	return p.wait(ctxTimeout(t, d))
}

// TestConnectPoolReuse: one socket serves checks of open and refusing
// servers in turn, each with the right verdict, and the open server sees a
// reset rather than a FIN (no data, no TIME_WAIT on the balancer).
func TestConnectPoolReuse(t *testing.T) {
	resets := make(chan error, 100)
	open := rawServer(t, "tcp", "127.0.0.1:0", func(c net.Conn) {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err := c.Read(make([]byte, 1))
		resets <- err
	})
	refused := refusedAddr(t)
	var pool socketPool
	defer pool.drain()
	for i := range 50 {
		if err := connectVerdict(t, &pool, open, time.Second); err != nil {
			t.Fatalf("round %d: open: %v", i, err)
		}
		if err := connectVerdict(t, &pool, refused, time.Second); !errors.Is(err, unix.ECONNREFUSED) {
			t.Fatalf("round %d: refused: %v", i, err)
		}
		if n := pool.idleCount(); n != 1 {
			t.Fatalf("round %d: %d idle sockets, want the one reused", i, n)
		}
	}
	for i := range 50 {
		select {
		case err := <-resets:
			if !errors.Is(err, unix.ECONNRESET) {
				t.Fatalf("server read %d: %v, want connection reset", i, err)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("server saw %d connections, want 50", i)
		}
	}
}

// TestConnectWaitThenReuse: a handshake that completes only after a SYN
// retransmission goes through the network poller; the socket, registered
// there, is then reused for other servers without stale readiness from
// its previous use leaking into their verdicts.
func TestConnectWaitThenReuse(t *testing.T) {
	lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Skip(err)
	}
	defer unix.Close(lfd)
	if err := unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Skip(err)
	}
	if err := unix.Listen(lfd, 0); err != nil {
		t.Skip(err)
	}
	lsa, _ := unix.Getsockname(lfd)
	slow := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(lsa.(*unix.SockaddrInet4).Port))
	// Fill the accept queue (backlog 0 admits one) so the probe's SYN is
	// dropped until the queue has room again.
	filler, err := net.DialTimeout("tcp", slow.String(), time.Second)
	if err != nil {
		t.Skip(err)
	}
	defer filler.Close()

	var pool socketPool
	defer pool.drain()
	p, err := Dest{Addr: slow}.startConnect(&pool)
	if p == nil {
		t.Fatalf("handshake ended at once (%v); want it in flight", err)
	}
	// Make room: the SYN retransmitted after about a second succeeds.
	time.AfterFunc(100*time.Millisecond, func() {
		if nfd, _, err := unix.Accept(lfd); err == nil {
			unix.Close(nfd)
		}
	})
	start := time.Now()
	if err := p.wait(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatalf("slow handshake: %v after %v", err, time.Since(start))
	}
	if pool.idleCount() != 1 || pool.idle[0][0].file == nil {
		t.Fatal("the socket that waited is not back in the pool")
	}

	open := rawServer(t, "tcp", "127.0.0.1:0", func(c net.Conn) {})
	refused := refusedAddr(t)
	full := fullListener(t)
	for i := range 5 {
		if err := connectVerdict(t, &pool, open, time.Second); err != nil {
			t.Fatalf("round %d: open: %v", i, err)
		}
		if err := connectVerdict(t, &pool, refused, time.Second); !errors.Is(err, unix.ECONNREFUSED) {
			t.Fatalf("round %d: refused: %v", i, err)
		}
	}
	// A handshake that never completes times out, and its socket (in
	// SYN_SENT) is closed, not pooled.
	before := pool.idleCount()
	if err := connectVerdict(t, &pool, full, 200*time.Millisecond); !isTimeout(err) {
		t.Fatalf("full: %v, want a timeout", err)
	}
	if n := pool.idleCount(); n != before-1 {
		t.Fatalf("%d idle sockets after a timeout, want %d", n, before-1)
	}
	if err := connectVerdict(t, &pool, open, time.Second); err != nil {
		t.Fatalf("open after timeout: %v", err)
	}
}

// TestConnectPoolBound: idle sockets beyond maxIdleSockets are closed.
func TestConnectPoolBound(t *testing.T) {
	var pool socketPool
	defer pool.drain()
	for range maxIdleSockets + 5 {
		s, err := newProbeSocket(unix.AF_INET, &pool)
		if err != nil {
			t.Fatal(err)
		}
		pool.put(s)
	}
	if n := pool.idleCount(); n != maxIdleSockets {
		t.Fatalf("%d idle, want %d", n, maxIdleSockets)
	}
}

// TestDialForFetch: HTTP_GET's connection reports refusals and timeouts
// like TCP_CHECK and carries data both ways once connected.
func TestDialForFetch(t *testing.T) {
	echo := rawServer(t, "tcp", "127.0.0.1:0", func(c net.Conn) {
		b := make([]byte, 5)
		if n, err := c.Read(b); err == nil {
			c.Write(b[:n])
		}
	})
	c, err := Dest{Addr: echo}.dial(ctxTimeout(t, time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ra := c.RemoteAddr().String(); ra != echo.String() {
		t.Errorf("RemoteAddr %s, want %s", ra, echo)
	}
	if la, ok := c.LocalAddr().(*net.TCPAddr); !ok || la.Port == 0 {
		t.Errorf("LocalAddr %v", c.LocalAddr())
	}
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 5)
	if n, err := c.Read(b); err != nil || string(b[:n]) != "hello" {
		t.Fatalf("read %q, %v", b[:n], err)
	}
	c.Close()
	if _, err := c.Read(b); !errors.Is(err, net.ErrClosed) {
		t.Errorf("read after close: %v, want net.ErrClosed", err)
	}

	if _, err := (Dest{Addr: refusedAddr(t)}).dial(ctxTimeout(t, time.Second), nil); !errors.Is(err, unix.ECONNREFUSED) {
		t.Errorf("refused: %v", err)
	}
	start := time.Now()
	if _, err := (Dest{Addr: fullListener(t)}).dial(ctxTimeout(t, 200*time.Millisecond), nil); !isTimeout(err) {
		t.Errorf("full: %v, want a timeout", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("timeout took %v", d)
	}
}

// TestRunnerTCPChecks runs real TCP checks through the Runner (quick
// probes in batches, handshakes in flight handed to workers): the open
// server stays up, the refusing and the silent ones go down with the right
// reasons, and every target is checked again and again.
func TestRunnerTCPChecks(t *testing.T) {
	open := rawServer(t, "tcp", "127.0.0.1:0", func(c net.Conn) {})
	targets := map[string]netip.AddrPort{"open": open, "refused": refusedAddr(t), "silent": fullListener(t)}
	events := make(chan Event, 100)
	var starts atomicCounter
	r := NewRunner(RunnerConfig{Events: events, Started: func(time.Duration) { starts.add() }})
	opts := Options{DelayLoop: 20 * time.Millisecond, Timeout: 100 * time.Millisecond, DelayBeforeRetry: 10 * time.Millisecond}
	for id, ap := range targets {
		r.Add(Target{ID: id, Checker: &TCPChecker{Dest: Dest{Addr: ap}}, Options: opts})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	r.Run(ctx)
	close(events)
	got := map[string]Event{}
	for ev := range events {
		if _, dup := got[ev.ID]; dup {
			t.Errorf("second event for %s: %v", ev.ID, ev)
		}
		got[ev.ID] = ev
	}
	if ev, ok := got["open"]; ok {
		t.Errorf("open server changed: %v", ev)
	}
	if ev := got["refused"]; ev.Up || ev.Reason != "connect: connection refused" {
		t.Errorf("refused: %+v", ev)
	}
	if ev := got["silent"]; ev.Up || ev.Reason != "connect: timeout" || ev.Latency < 90*time.Millisecond {
		t.Errorf("silent: %+v", ev)
	}
	// open and refused: about 600/20 checks each; silent: a few timeouts.
	if n := starts.load(); n < 30 {
		t.Errorf("%d probes started, want dozens", n)
	}
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip(err)
	}
	return len(ents)
}

// TestRunnerClosesSocketsInFlight: handshakes in flight when their target
// is removed or the Runner stops are ended at once, and their sockets
// closed, not leaked.
func TestRunnerClosesSocketsInFlight(t *testing.T) {
	silent := fullListener(t)
	before := openFDs(t)
	r := NewRunner(RunnerConfig{})
	for i := range 20 {
		r.Add(Target{ID: fmt.Sprint(i), Checker: &TCPChecker{Dest: Dest{Addr: silent}},
			Options: Options{DelayLoop: time.Second, Timeout: 5 * time.Second}})
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx) }()
	time.Sleep(200 * time.Millisecond)
	for i := range 10 {
		r.Remove(fmt.Sprint(i))
	}
	time.Sleep(100 * time.Millisecond)
	if n := openFDs(t) - before; n < 20 {
		t.Logf("%d sockets open while 20 handshakes should be in flight", n)
	}
	stopped := time.Now()
	cancel()
	select {
	case <-errc:
	case <-time.After(3 * time.Second):
		t.Fatal("Run did not return")
	}
	if d := time.Since(stopped); d > time.Second {
		t.Errorf("Run took %v to stop", d)
	}
	if n := openFDs(t); n > before {
		t.Errorf("%d file descriptors open after Run, %d before", n, before)
	}
}

// TestRunnerClosesIdleSockets: the sockets a Runner keeps between checks
// are closed when Run returns.
func TestRunnerClosesIdleSockets(t *testing.T) {
	open := rawServer(t, "tcp", "127.0.0.1:0", func(c net.Conn) {})
	before := openFDs(t)
	r := NewRunner(RunnerConfig{})
	for i := range 20 {
		r.Add(Target{ID: fmt.Sprint(i), Checker: &TCPChecker{Dest: Dest{Addr: open}},
			Options: Options{DelayLoop: 20 * time.Millisecond, Timeout: time.Second}})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	r.Run(ctx)
	// The server closes its side of each connection in its own
	// goroutines: allow them a moment.
	lab.Poll(2*time.Second, 10*time.Millisecond, func() bool { return openFDs(t) <= before })
	if n := openFDs(t); n > before {
		t.Errorf("%d file descriptors open after Run, %d before", n, before)
	}
}
