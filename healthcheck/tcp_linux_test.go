package healthcheck

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fullListener returns a loopback address whose listener has backlog 0 and
// a full accept queue, so further SYNs are dropped and a connect stays in
// flight until its deadline.
func fullListener(t *testing.T) netip.AddrPort {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Skip(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Skip(err)
	}
	sa, _ := unix.Getsockname(fd)
	ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*unix.SockaddrInet4).Port))
	// Fill the queue (backlog 0 admits one); keep the clients open.
	for range 3 {
		c, err := net.DialTimeout("tcp", ap.String(), 200*time.Millisecond)
		if err != nil {
			break
		}
		t.Cleanup(func() { c.Close() })
	}
	return ap
}

func TestTCPProbeConnect(t *testing.T) {
	open := rawServer(t, "tcp", "127.0.0.1:0", func(c net.Conn) {})
	closedLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skip(err)
	}
	closed := netip.MustParseAddrPort(closedLn.Addr().String())
	closedLn.Close()
	full := fullListener(t)
	tests := []struct {
		name   string
		c      TCPChecker
		ok     bool
		reason string
	}{
		{"open", TCPChecker{Dest: Dest{Addr: open}}, true, "connected"},
		{"refused", TCPChecker{Dest: Dest{Addr: closed}}, false, "connect: connection refused"},
		{"connect_port override", TCPChecker{Dest: Dest{Addr: closed, ConnectPort: open.Port()}}, true, "connected"},
		{"bindto", TCPChecker{Dest: Dest{Addr: open, BindTo: netip.MustParseAddr("127.0.0.2")}}, true, "connected"},
		{"handshake never completes", TCPChecker{Dest: Dest{Addr: full}}, false, "connect: timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.c.Check(ctxTimeout(t, 300*time.Millisecond))
			if res.OK != tt.ok || !strings.Contains(res.Reason, tt.reason) {
				t.Errorf("got ok=%v %q, want ok=%v %q", res.OK, res.Reason, tt.ok, tt.reason)
			}
			if res.Latency > 2*time.Second {
				t.Errorf("latency %v", res.Latency)
			}
		})
	}
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		c := TCPChecker{Dest: Dest{Addr: full}}
		res := c.Check(ctx) // DefaultTimeout applies, cancel ends it early
		if res.OK || res.Latency > time.Second {
			t.Errorf("got %+v", res)
		}
	})
}
