package healthcheck

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// probeConnect is TCP_CHECK's connection: it opens a TCP connection to
// d.Target() before ctx is done and closes it at once with a reset.
//
// It talks to the kernel directly instead of through net.Dialer, which
// sets options and looks up addresses a probe does not need: a check costs
// socket, connect, poll and close in the common case where the handshake
// completes within the connect call (local and loopback servers); only a
// handshake still in flight goes through the runtime's network poller.
//
// The close sends RST (SO_LINGER 0), as HAProxy's checks do, so probes
// leave no TIME_WAIT sockets behind on the balancer; keepalived closes
// with FIN. The verdict is the same: up when the handshake completes.
func (d Dest) probeConnect(ctx context.Context) error {
	sa, family := sockaddr(d.Target())
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	owned := true // false once an *os.File owns fd
	defer func() {
		if owned {
			unix.Close(fd)
		}
	}()
	if err := unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1}); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	if d.FWMark != 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, int(d.FWMark)); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
	}
	if d.BindTo.IsValid() || d.BindPort != 0 {
		local := d.BindTo
		if !local.IsValid() {
			local = netip.IPv4Unspecified()
			if family == unix.AF_INET6 {
				local = netip.IPv6Unspecified()
			}
		}
		lsa, _ := sockaddr(netip.AddrPortFrom(local, d.BindPort))
		if err := unix.Bind(fd, lsa); err != nil {
			return os.NewSyscallError("bind", err)
		}
	}
	switch err := unix.Connect(fd, sa); err {
	case nil:
		return nil
	case unix.EINPROGRESS, unix.EINTR:
	default:
		return os.NewSyscallError("connect", err)
	}
	if done, err := connectDone(fd); done {
		return err
	}

	// The handshake is in flight: wait for the socket to become writable
	// in the network poller, bounded by ctx.
	f := os.NewFile(uintptr(fd), "tcp-probe")
	owned = false
	defer f.Close()
	if dl, ok := ctx.Deadline(); ok {
		f.SetWriteDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var result error
	if err := rc.Write(func(fd uintptr) bool {
		done, err := connectDone(int(fd))
		result = err
		return done
	}); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	return result
}

// connectDone polls a connecting socket without waiting: done reports
// whether the handshake ended, and err how.
func connectDone(fd int) (done bool, err error) {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	n, err := unix.Poll(pfd, 0)
	if err != nil {
		if err == unix.EINTR {
			return false, nil
		}
		return true, os.NewSyscallError("poll", err)
	}
	if n == 0 {
		return false, nil
	}
	if pfd[0].Revents&(unix.POLLERR|unix.POLLHUP) == 0 {
		return true, nil // writable and no error: connected
	}
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return true, os.NewSyscallError("getsockopt", err)
	}
	if v == 0 {
		return true, errors.New("connection closed")
	}
	return true, os.NewSyscallError("connect", unix.Errno(v))
}

// sockaddr converts ap to a socket address and its family.
func sockaddr(ap netip.AddrPort) (unix.Sockaddr, int) {
	a := ap.Addr().Unmap()
	if a.Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}, unix.AF_INET
	}
	sa := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}
	if z := a.Zone(); z != "" {
		if ifi, err := netInterfaceIndex(z); err == nil {
			sa.ZoneId = uint32(ifi)
		}
	}
	return sa, unix.AF_INET6
}
