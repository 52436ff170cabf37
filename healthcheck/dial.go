package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
)

// Dest is where a TCP-based probe connects, with keepalived's connection
// overrides (conn_opts: connect_ip, connect_port, bindto, bind_port, fwmark).
type Dest struct {
	// Addr is the real server.
	Addr netip.AddrPort
	// ConnectIP, if valid, replaces the address of Addr (connect_ip).
	ConnectIP netip.Addr
	// ConnectPort, if non-zero, replaces the port of Addr (connect_port).
	ConnectPort uint16
	// BindTo, if valid, is the local source address (bindto).
	BindTo netip.Addr
	// BindPort, if non-zero, is the local source port (bind_port).
	BindPort uint16
	// FWMark, if non-zero, sets SO_MARK on the socket (fwmark); needs
	// Linux and CAP_NET_ADMIN.
	FWMark uint32
}

// Target returns the address actually connected to, overrides applied.
func (d Dest) Target() netip.AddrPort {
	ip, port := d.Addr.Addr(), d.Addr.Port()
	if d.ConnectIP.IsValid() {
		ip = d.ConnectIP
	}
	if d.ConnectPort != 0 {
		port = d.ConnectPort
	}
	return netip.AddrPortFrom(ip, port)
}

// dialNetwork opens a "tcp" or "udp" socket connected to d.Target() with
// net.Dialer (TCP health checks use Dest.dial instead). For UDP,
// connecting makes the kernel report ICMP errors (port unreachable) on the
// socket and drop datagrams from other sources.
func (d Dest) dialNetwork(ctx context.Context, network string) (net.Conn, error) {
	// No TCP keep-alive: a probe connection lives for one check, and the
	// setsockopt calls are a measurable cost at thousands of checks a second.
	nd := net.Dialer{KeepAlive: -1}
	if d.BindTo.IsValid() || d.BindPort != 0 {
		if network == "udp" {
			nd.LocalAddr = &net.UDPAddr{IP: d.BindTo.AsSlice(), Port: int(d.BindPort)}
		} else {
			nd.LocalAddr = &net.TCPAddr{IP: d.BindTo.AsSlice(), Port: int(d.BindPort)}
		}
	}
	if d.FWMark != 0 {
		nd.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) {
				serr = setMark(int(fd), d.FWMark)
			}); err != nil {
				return err
			}
			return serr
		}
	}
	return nd.DialContext(ctx, network, d.Target().String())
}

// dialUDP opens a UDP socket connected to d.Target() whose reads and
// writes end at ctx's deadline, or at once when ctx is cancelled; done
// closes it.
func (d Dest) dialUDP(ctx context.Context) (conn net.Conn, done func(), err error) {
	if conn, err = d.dialNetwork(ctx, "udp"); err != nil {
		return nil, nil, err
	}
	return conn, bound(ctx, conn), nil
}

// bound makes conn's reads and writes end at ctx's deadline, or at once
// when ctx is cancelled; the returned done closes it.
func bound(ctx context.Context, conn net.Conn) (done func()) {
	dl, _ := ctx.Deadline()
	conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return func() { stop(); conn.Close() }
}

// errReason turns a network error into a short reason prefixed by step,
// e.g. "connect: connection refused" or "read: timeout", without the
// addresses net.OpError repeats (the target is already known to the caller).
func errReason(step string, err error) string {
	if isTimeout(err) {
		return step + ": timeout"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return step + ": " + errno.Error()
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return step + ": " + op.Err.Error()
	}
	return step + ": " + err.Error()
}

// isTimeout reports whether err is a deadline or context expiry.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// netInterfaceIndex resolves an IPv6 zone (interface name or number).
func netInterfaceIndex(zone string) (int, error) {
	if ifi, err := net.InterfaceByName(zone); err == nil {
		return ifi.Index, nil
	}
	var n int
	if _, err := fmt.Sscanf(zone, "%d", &n); err != nil {
		return 0, err
	}
	return n, nil
}
