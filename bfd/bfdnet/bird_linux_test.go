package bfdnet

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lbd-project/lbd/bfd"
	"github.com/lbd-project/lbd/internal/lab"
)

// birdConf runs standalone BFD sessions to lbd's addresses at 100 ms x 3,
// the timers lbd defaults to.
const birdConf = `router id 192.0.2.1;
log stderr all;
protocol device { scan time 1; }
protocol bfd {
	interface "*" {
		min rx interval 100 ms;
		min tx interval 100 ms;
		multiplier 3;
	};
	neighbor 192.0.2.2;
	neighbor 2001:db8::2;
}
`

// birdState returns the state BIRD shows for peer in `show bfd
// sessions` ("Up", "Down", "Init", ...), or "" when it has none.
func birdState(n *lab.Node, sock, peer string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out, err := n.Run(ctx, "birdc", "-s", sock, "show", "bfd", "sessions")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == peer {
			return f[2]
		}
	}
	return ""
}

// TestBIRDInterop runs BIRD 2's BFD in one namespace and a Manager in
// another, on one LAN, over IPv4 and IPv6. Both sides come Up; a stopped
// Manager (AdminDown) takes BIRD's sessions Down; a partition is detected
// by each side within its detection time; a killed BIRD takes ours Down
// with diag 1 within 300 ms and some slack.
func TestBIRDInterop(t *testing.T) {
	lab.RequireRoot(t)
	lab.RequireCommand(t, "bird")
	lab.RequireCommand(t, "birdc")
	l := lab.New(t)
	br, lb := l.Node("bird"), l.Node("lbd")
	lan := l.LAN("lan")
	br.Attach(lan, "eth0", "192.0.2.1/24", "2001:db8::1/64")
	lb.Attach(lan, "eth0", "192.0.2.2/24", "2001:db8::2/64")
	lb.Sysctl("net.ipv6.conf.eth0.keep_addr_on_down", "1")

	dir := t.TempDir()
	conf, sock := filepath.Join(dir, "bird.conf"), filepath.Join(dir, "bird.ctl")
	if err := os.WriteFile(conf, []byte(birdConf), 0o644); err != nil {
		t.Fatal(err)
	}
	bird := br.Start("bird", "-c", conf, "-s", sock, "-f")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bird output:\n%s", bird.Out.String())
		}
	})

	m := startManager(t, lb)
	h4 := add(t, m, bfd.SessionConfig{Local: ip4B, Peer: ip4A, Interface: "eth0"})
	h6 := add(t, m, bfd.SessionConfig{Local: ip6B, Peer: ip6A})
	bothUp := func() bool {
		return isState(h4, bfd.StateUp)() && isState(h6, bfd.StateUp)() &&
			birdState(br, sock, "192.0.2.2") == "Up" && birdState(br, sock, "2001:db8::2") == "Up"
	}
	lab.WaitFor(t, 10*time.Second, 20*time.Millisecond, "sessions Up on both sides", bothUp)
	time.Sleep(time.Second) // poll sequences over, 100 ms timers in force
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st.Sessions {
		t.Logf("lbd session %v: %v, remote %v, detection %v, tx every %v, rx %d tx %d",
			s.Config.Peer, s.State, s.RemoteState, s.DetectionTime, s.TxInterval, s.Received, s.Sent)
		if s.DetectionTime != 300*time.Millisecond || s.TxInterval != 100*time.Millisecond {
			t.Errorf("session %v: detection %v, tx %v; want 300ms, 100ms", s.Config.Peer, s.DetectionTime, s.TxInterval)
		}
	}

	// partition (lbd's link down): each side detects it by its timer
	start := time.Now()
	lb.SetLink("eth0", false)
	ours := waitDown(t, h4, 2*time.Second, "lbd's session after the partition")
	theirs, ok := lab.Poll(2*time.Second, 5*time.Millisecond, func() bool { return birdState(br, sock, "192.0.2.2") != "Up" })
	theirs = time.Since(start)
	if !ok {
		t.Fatal("BIRD's session still Up 2 s into the partition")
	}
	t.Logf("partition: lbd detected BIRD's silence after %v, BIRD detected lbd's after %v (birdc polled every ~5 ms)", ours, theirs)
	if _, d := h4.State(); d != bfd.DiagControlExpired {
		t.Errorf("diag %v after the partition, want %v", d, bfd.DiagControlExpired)
	}
	if ours > 400*time.Millisecond || theirs > 500*time.Millisecond {
		t.Errorf("detection too slow: lbd %v, BIRD %v (300 ms)", ours, theirs)
	}
	lb.SetLink("eth0", true)
	lab.WaitFor(t, 10*time.Second, 20*time.Millisecond, "sessions Up after the partition", bothUp)

	// our Manager stops: AdminDown takes BIRD's sessions Down at once
	m.stop()
	start = time.Now()
	lab.WaitFor(t, 2*time.Second, 5*time.Millisecond, "BIRD's sessions Down after lbd stopped", func() bool {
		return birdState(br, sock, "192.0.2.2") == "Down" && birdState(br, sock, "2001:db8::2") == "Down"
	})
	t.Logf("lbd stopped: BIRD Down after %v", time.Since(start))

	// a new Manager comes Up again; BIRD killed: ours goes Down, diag 1
	m = startManager(t, lb)
	h4 = add(t, m, bfd.SessionConfig{Local: ip4B, Peer: ip4A, Interface: "eth0"})
	h6 = add(t, m, bfd.SessionConfig{Local: ip6B, Peer: ip6A})
	lab.WaitFor(t, 10*time.Second, 20*time.Millisecond, "sessions Up with a new Manager", bothUp)
	time.Sleep(time.Second)
	if err := bird.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	took := waitDown(t, h4, 2*time.Second, "lbd's session after BIRD was killed")
	took6 := waitDown(t, h6, time.Second, "lbd's IPv6 session after BIRD was killed")
	t.Logf("BIRD killed: lbd Down after %v (IPv4), IPv6 %v later", took, took6)
	for _, h := range []*bfd.Handle{h4, h6} {
		if s, d := h.State(); s != bfd.StateDown || d != bfd.DiagControlExpired {
			t.Errorf("after BIRD was killed: %v diag %v, want Down diag %v", s, d, bfd.DiagControlExpired)
		}
	}
	if took > 400*time.Millisecond {
		t.Errorf("BIRD's death detected after %v, detection time 300ms", took)
	}
}
