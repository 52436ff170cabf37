package bfdnet

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/lbd-project/lbd/bfd"
	"github.com/lbd-project/lbd/internal/lab"
)

var (
	ip4A = netip.MustParseAddr("192.0.2.1")
	ip4B = netip.MustParseAddr("192.0.2.2")
	ip6A = netip.MustParseAddr("2001:db8::1")
	ip6B = netip.MustParseAddr("2001:db8::2")
)

// testLogger logs to the test, so that a failure shows the transitions.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(b[:len(b)-1]))
	return len(b), nil
}

// node is a Manager running inside a lab node.
type node struct {
	*bfd.Manager
	stop func()
}

// startManager runs a Manager in n: its sockets, and its Run goroutine
// (which opens the senders), live in n's namespace. stop ends it the way
// lbd stops: AdminDown to every peer.
func startManager(t *testing.T, n *lab.Node) node {
	t.Helper()
	var conn bfd.Conn
	if err := n.Do(func() (err error) { conn, err = Listen(ListenConfig{}); return err }); err != nil {
		t.Fatalf("%s: %v", n.Name, err)
	}
	m := bfd.NewManager(bfd.ManagerConfig{Conn: conn, Logger: testLogger(t).With("node", n.Name)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Do(func() error { return m.Run(ctx) }) }()
	stop := sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: Run: %v", n.Name, err)
		}
	})
	t.Cleanup(stop)
	return node{m, stop}
}

func add(t *testing.T, m node, cfg bfd.SessionConfig) *bfd.Handle {
	t.Helper()
	h, err := m.Add(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func isState(h *bfd.Handle, want bfd.State) func() bool {
	return func() bool { s, _ := h.State(); return s == want }
}

// waitDown waits for h to leave Up and returns how long it took.
func waitDown(t *testing.T, h *bfd.Handle, limit time.Duration, what string) time.Duration {
	t.Helper()
	took, ok := lab.Poll(limit, 2*time.Millisecond, func() bool { return !isState(h, bfd.StateUp)() })
	if !ok {
		t.Fatalf("%s: still Up after %v", what, limit)
	}
	return took
}

func twoNodes(t *testing.T) (*lab.Node, *lab.Node) {
	l := lab.New(t)
	a, b := l.Node("a"), l.Node("b")
	lan := l.LAN("lan")
	a.Attach(lan, "eth0", "192.0.2.1/24", "2001:db8::1/64")
	b.Attach(lan, "eth0", "192.0.2.2/24", "2001:db8::2/64")
	for _, n := range []*lab.Node{a, b} {
		// a partition is a link set down: keep the IPv6 addresses
		n.Sysctl("net.ipv6.conf.eth0.keep_addr_on_down", "1")
	}
	return a, b
}

// TestPairOverLAN runs two Managers in two namespaces on one LAN, over
// IPv4 and IPv6: they come Up; a partition takes both Down within the
// detection time (300 ms) with diag 1; a stopped Manager takes its peer
// Down at once with diag 3 (AdminDown).
func TestPairOverLAN(t *testing.T) {
	a, b := twoNodes(t)
	ma, mb := startManager(t, a), startManager(t, b)
	ha4 := add(t, ma, bfd.SessionConfig{Local: ip4A, Peer: ip4B, Interface: "eth0"})
	ha6 := add(t, ma, bfd.SessionConfig{Local: ip6A, Peer: ip6B})
	hb4 := add(t, mb, bfd.SessionConfig{Local: ip4B, Peer: ip4A})
	hb6 := add(t, mb, bfd.SessionConfig{Peer: ip6A, Passive: true})
	all := []*bfd.Handle{ha4, ha6, hb4, hb6}
	lab.WaitFor(t, 3*time.Second, 5*time.Millisecond, "all sessions Up", func() bool {
		for _, h := range all {
			if !isState(h, bfd.StateUp)() {
				return false
			}
		}
		return true
	})
	time.Sleep(time.Second) // poll sequences done, 100 ms timers in force

	b.SetLink("eth0", false)
	took := waitDown(t, ha4, 2*time.Second, "a after the partition")
	t.Logf("partition detected by a after %v (detection time 300ms)", took)
	if took > 400*time.Millisecond {
		t.Errorf("a took %v to detect the partition, detection time 300ms", took)
	}
	waitDown(t, ha6, time.Second, "a's IPv6 session")
	for _, h := range []*bfd.Handle{ha4, ha6} {
		if _, d := h.State(); d != bfd.DiagControlExpired {
			t.Errorf("diag %v, want %v", d, bfd.DiagControlExpired)
		}
	}
	b.SetLink("eth0", true)
	lab.WaitFor(t, 5*time.Second, 5*time.Millisecond, "Up after the partition", func() bool {
		return isState(ha4, bfd.StateUp)() && isState(ha6, bfd.StateUp)()
	})

	mb.stop()
	took = waitDown(t, ha4, time.Second, "a after b stopped")
	t.Logf("b's stop seen by a after %v", took)
	for _, h := range []*bfd.Handle{ha4, ha6} {
		lab.WaitFor(t, time.Second, 2*time.Millisecond, "Down", isState(h, bfd.StateDown))
		if _, d := h.State(); d != bfd.DiagNeighborDown {
			t.Errorf("diag %v after the peer's AdminDown, want %v", d, bfd.DiagNeighborDown)
		}
	}
}

// TestHostile sends a running Manager forged packets from the peer's own
// address: each is counted under its reason and the Up session stays Up.
func TestHostile(t *testing.T) {
	a, b := twoNodes(t)
	ma, mb := startManager(t, a), startManager(t, b)
	ha := add(t, ma, bfd.SessionConfig{Local: ip4A, Peer: ip4B})
	add(t, mb, bfd.SessionConfig{Local: ip4B, Peer: ip4A})
	lab.WaitFor(t, 3*time.Second, 5*time.Millisecond, "Up", isState(ha, bfd.StateUp))
	changes, _ := ha.Subscribe()
	st, err := ma.Stats()
	if err != nil {
		t.Fatal(err)
	}
	s := st.Sessions[0]
	valid := func(edit func(b []byte) []byte) []byte {
		c := bfd.Control{State: bfd.StateUp, DetectMult: 3, MyDiscr: s.RemoteDiscr, YourDiscr: s.LocalDiscr,
			DesiredMinTx: 100 * time.Millisecond, RequiredMinRx: 100 * time.Millisecond}
		return edit(c.Marshal(nil))
	}
	same := func(b []byte) []byte { return b }
	cases := []struct {
		name   string
		ttl    int
		b      []byte
		reason bfd.DropReason
	}{
		{"TTL 254", 254, valid(same), bfd.ReasonTTL},
		{"TTL 1", 1, valid(same), bfd.ReasonTTL},
		{"Length 20", 255, valid(func(b []byte) []byte { b[3] = 20; return b }), bfd.ReasonLength},
		{"Length past the datagram", 255, valid(func(b []byte) []byte { b[3] = 60; return b }), bfd.ReasonLength},
		{"version 0", 255, valid(func(b []byte) []byte { b[0] &^= 0xe0; return b }), bfd.ReasonVersion},
		{"unknown Your Discriminator", 255, valid(func(b []byte) []byte { b[11]++; return b }), bfd.ReasonUnknownDiscr},
		{"A bit", 255, valid(func(b []byte) []byte { b[1] |= 0x04; b[3] = 28; return append(b, 1, 4, 1, 'x') }), bfd.ReasonAuth},
	}
	before := st.Drops
	err = b.Do(func() error {
		c, err := net.ListenPacket("udp4", "192.0.2.2:0")
		if err != nil {
			return err
		}
		defer c.Close()
		p := ipv4.NewPacketConn(c)
		to := &net.UDPAddr{IP: ip4A.AsSlice(), Port: ControlPort}
		for _, tc := range cases {
			if err := p.SetTTL(tc.ttl); err != nil {
				return err
			}
			if _, err := p.WriteTo(tc.b, nil, to); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[bfd.DropReason]uint64{}
	for _, tc := range cases {
		want[tc.reason]++
	}
	lab.WaitFor(t, 2*time.Second, 5*time.Millisecond, "every forged packet counted", func() bool {
		st, _ := ma.Stats()
		for r, n := range want {
			if st.Drops[r] != before[r]+n {
				return false
			}
		}
		return true
	})
	time.Sleep(500 * time.Millisecond)
	st, _ = ma.Stats()
	t.Logf("drops: %v", st.Drops)
	if !isState(ha, bfd.StateUp)() {
		t.Error("session left Up")
	}
	select {
	case c := <-changes:
		t.Errorf("session changed under hostile input: %+v", c)
	default:
	}
}
