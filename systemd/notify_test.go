package systemd

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// listen plays systemd: a datagram socket at NOTIFY_SOCKET.
func listen(t *testing.T) *net.UnixConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return c
}

func next(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no notification: %v", err)
	}
	return string(buf[:n])
}

func TestNotifyProtocol(t *testing.T) {
	c := listen(t)
	n := NewNotifier(slog.Default())
	n.Ready("2 instances")
	if got := next(t, c); got != "READY=1\nSTATUS=2 instances" {
		t.Errorf("ready: %q", got)
	}
	n.Reloading()
	got := next(t, c)
	if !strings.HasPrefix(got, "RELOADING=1\nMONOTONIC_USEC=") || len(got) < len("RELOADING=1\nMONOTONIC_USEC=1") {
		t.Errorf("reloading: %q", got)
	}
	n.Status("reload failed: x.yaml:3:5: unknown key")
	if got := next(t, c); got != "STATUS=reload failed: x.yaml:3:5: unknown key" {
		t.Errorf("status: %q", got)
	}
	n.Stopping()
	if got := next(t, c); got != "STOPPING=1" {
		t.Errorf("stopping: %q", got)
	}
}

func TestWatchdog(t *testing.T) {
	c := listen(t)
	t.Setenv("WATCHDOG_USEC", "100000") // 100 ms: pings every 50 ms
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var stuck atomic.Bool
	go func() { NewNotifier(slog.Default()).Watchdog(ctx, func() bool { return !stuck.Load() }); close(done) }()
	for i := 0; i < 3; i++ {
		if got := next(t, c); got != "WATCHDOG=1" {
			t.Fatalf("ping %d: %q", i, got)
		}
	}
	// A daemon that reports itself stuck stops pinging, so systemd
	// restarts it.
	stuck.Store(true)
	time.Sleep(60 * time.Millisecond) // let a ping already under way land
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	for late := 0; ; late++ {
		buf := make([]byte, 64)
		if _, err := c.Read(buf); err != nil {
			break // no ping for 100 ms: two intervals
		}
		if late == 2 {
			t.Fatal("watchdog pings go on while alive() says false")
		}
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	}
	cancel()
	<-done
}

func TestNoSystemd(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "")
	n := NewNotifier(slog.Default())
	n.Ready("x") // must not fail or block
	done := make(chan struct{})
	go func() { n.Watchdog(context.Background(), func() bool { return true }); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Watchdog without WATCHDOG_USEC did not return")
	}
}
