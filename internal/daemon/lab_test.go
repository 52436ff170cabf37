//go:build linux

package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/control"
	"github.com/lbd-project/lbd/internal/lab"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

// This file holds the helpers of the lab tests, which run the real lbd
// binary (built once per test process) in network namespaces.

func TestMain(m *testing.M) {
	// The VM test runs this binary as lbd inside a lab node, on the file
	// that is its one argument, with debug logs.
	if os.Getenv(runAsLBD) == "1" {
		log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		if err := Serve(context.Background(), Options{ConfigPath: os.Args[1], Logger: log}); err != nil {
			fmt.Fprintln(os.Stderr, "lbd:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	lab.RemoveBinaries()
	os.Exit(code)
}

// lbdBinary builds cmd/lbd once and returns its path.
func lbdBinary(t testing.TB) string { return lab.Binary(t, "github.com/lbd-project/lbd/cmd/lbd") }

// newNode creates a node attached to lan on eth0 with the given addresses.
func newNode(l *lab.Lab, lan *lab.LAN, name string, addrs ...string) *lab.Node {
	n := l.Node(name)
	n.Sysctl("net.ipv6.conf.default.accept_dad", "0")
	n.Sysctl("net.ipv6.conf.all.accept_dad", "0")
	n.Attach(lan, "eth0", addrs...)
	return n
}

// lbdProc is an lbd daemon running in a node.
type lbdProc struct {
	t    testing.TB
	node *lab.Node
	p    *lab.Process
	cfg  string // its configuration file
	dir  string
}

// startLBD writes yaml to a file and runs `lbd -f FILE` in n, with env
// (e.g. NOTIFY_SOCKET=...) set for it.
func startLBD(t testing.TB, n *lab.Node, yaml string, env ...string) *lbdProc {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "lbd.yaml")
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{}, env...), lbdBinary(t), "-f", cfg, "-log-level", "debug")
	x := &lbdProc{t: t, node: n, cfg: cfg, dir: dir}
	x.p = n.Start("/usr/bin/env", args...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s: lbd output:\n%s", n.Name, x.p.Out.String())
		}
	})
	return x
}

func (x *lbdProc) log() string { return x.p.Out.String() }

// controlCall makes one request to the daemon at sock on a fresh
// connection, bounded by timeout; the dial retries while lbd starts.
func controlCall(ctx context.Context, timeout time.Duration, sock, method string, params, result any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := control.DialContext(ctx, sock)
	for err != nil && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
		c, err = control.DialContext(ctx, sock)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Call(ctx, method, params, result)
}

// lines returns the log lines from offset on that contain every one of subs.
func (x *lbdProc) lines(offset int, subs ...string) []string {
	out := x.log()
	if offset > len(out) {
		return nil
	}
	var res []string
	for _, line := range strings.Split(out[offset:], "\n") {
		ok := true
		for _, s := range subs {
			ok = ok && strings.Contains(line, s)
		}
		if ok && line != "" {
			res = append(res, line)
		}
	}
	return res
}

// eventually polls cond every 10ms for at most d.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	lab.WaitFor(t, d, 10*time.Millisecond, what, cond)
}

// sdListener plays systemd: it collects what arrives at NOTIFY_SOCKET.
type sdListener struct {
	path string
	mu   sync.Mutex
	msgs []string
}

func newSDListener(t testing.TB) *sdListener {
	t.Helper()
	s := &sdListener{path: filepath.Join(t.TempDir(), "notify.sock")}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: s.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { c.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, string(buf[:n]))
			s.mu.Unlock()
		}
	}()
	return s
}

func (s *sdListener) env() string { return "NOTIFY_SOCKET=" + s.path }

func (s *sdListener) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}

// index returns the index of the first message from from on that has
// prefix, or -1.
func (s *sdListener) index(from int, prefix string) int {
	for i, m := range s.all() {
		if i >= from && strings.HasPrefix(m, prefix) {
			return i
		}
	}
	return -1
}

// pinger sends ICMP echo requests from a node to a target every interval
// and records when each reply arrived.
type pinger struct {
	mu      sync.Mutex
	sent    int
	replies map[int]time.Time
	order   []time.Time
	stop    chan struct{}
	done    chan struct{}
}

// startPinger pings dst from n every interval until stop (at most max
// requests).
func startPinger(t testing.TB, n *lab.Node, dst netip.Addr, interval time.Duration, max int) *pinger {
	t.Helper()
	var c *icmp.PacketConn
	if err := n.Do(func() error {
		var err error
		c, err = icmp.ListenPacket("ip4:icmp", "0.0.0.0")
		return err
	}); err != nil {
		t.Fatalf("%s: icmp socket: %v", n.Name, err)
	}
	p := &pinger{replies: map[int]time.Time{}, stop: make(chan struct{}), done: make(chan struct{})}
	id := os.Getpid() & 0xffff
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 1500)
		for {
			nr, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			now := time.Now()
			m, err := icmp.ParseMessage(1, buf[:nr])
			if err != nil || m.Type != ipv4.ICMPTypeEchoReply || from.String() != dst.String() {
				continue
			}
			e, ok := m.Body.(*icmp.Echo)
			if !ok || e.ID != id {
				continue
			}
			p.mu.Lock()
			if _, dup := p.replies[e.Seq]; !dup {
				p.replies[e.Seq] = now
				p.order = append(p.order, now)
			}
			p.mu.Unlock()
		}
	}()
	go func() {
		defer close(p.done)
		defer func() { time.Sleep(300 * time.Millisecond); c.Close(); <-readDone }()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for seq := 0; seq < max; seq++ {
			msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: seq & 0xffff, Data: []byte("lbd-bench")}}
			b, _ := msg.Marshal(nil)
			c.WriteTo(b, &net.IPAddr{IP: net.IP(dst.AsSlice())})
			p.mu.Lock()
			p.sent++
			p.mu.Unlock()
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

// finish stops the pinger and returns requests sent, replies lost and the
// longest gap between two replies.
func (p *pinger) finish() (sent, lost int, gap time.Duration) {
	select {
	case <-p.done:
	default:
		close(p.stop)
		<-p.done
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := 1; i < len(p.order); i++ {
		gap = max(gap, p.order[i].Sub(p.order[i-1]))
	}
	return p.sent, p.sent - len(p.replies), gap
}

// received returns how many replies arrived so far.
func (p *pinger) received() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.replies)
}
