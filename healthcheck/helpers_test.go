package healthcheck

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/lab"
)

// rawServer listens on loopback and runs handle for each connection, until
// the test ends; it returns the address.
func rawServer(t *testing.T, network, addr string, handle func(net.Conn)) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("listen %s %s: %v", network, addr, err)
	}
	lab.Serve(t, ln, handle)
	return netip.MustParseAddrPort(ln.Addr().String())
}

// refusedAddr returns a loopback address where nothing listens.
func refusedAddr(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skip(err)
	}
	ap := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	return ap
}

// readRequest consumes the request head so that replies are not reset.
func readRequest(c net.Conn) {
	buf := make([]byte, 4096)
	var got []byte
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil || len(got) >= 4 && string(got[len(got)-4:]) == "\r\n\r\n" {
			return
		}
	}
}

// ctxTimeout returns a context that expires after d.
func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
