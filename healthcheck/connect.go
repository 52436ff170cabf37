package healthcheck

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file is TCP_CHECK's connection. At thousands of checks a second the
// cost of a check is almost all system calls, so it talks to the kernel
// directly instead of through net.Dialer (which sets options, looks up
// addresses and parks the goroutine in the network poller even when the
// handshake is already done), and it keeps sockets between checks:
//
//   - connect on a non-blocking socket; on loopback and local servers the
//     whole handshake happens inside that call;
//   - a second connect reports how it went without waiting: 0 when
//     established, EALREADY while still in flight, else the error (the
//     kernel then resets the socket to unconnected);
//   - only a handshake still in flight waits, in the runtime's network
//     poller, bounded by the check's deadline;
//   - connect with AF_UNSPEC ends an established connection with a reset
//     (as SO_LINGER 0 on close would) and leaves the socket unconnected,
//     ready for the next check to any server. Reusing it saves the socket,
//     setsockopt and close calls and a socket's allocation and teardown:
//     in a loop against one loopback server, a quarter of a probe's CPU
//     (25 to 18 µs here). In the 12,000-target benchmark the gain is
//     within the noise of a shared machine: there the handshake itself
//     (the server's side included, which loopback runs in the caller)
//     dominates, at about 19 µs of the 30 a TCP check costs.
//
// The reset rather than keepalived's FIN is what HAProxy's checks do: the
// balancer keeps no TIME_WAIT socket per check, and nothing is lost since
// no data is sent. The verdict is keepalived's: up when the handshake
// completes.

// maxIdleSockets bounds the sockets kept open between checks, per address
// family. Checks that find the pool empty open a new socket, so the bound
// is only about file descriptors held while idle.
const maxIdleSockets = 256

// probeSocket is a TCP socket used for one check at a time.
type probeSocket struct {
	fd     int
	family int
	// file owns fd once the socket had to wait in the runtime's network
	// poller; it stays registered there while pooled.
	file *os.File
	// pool is where the socket goes after its check; nil closes it
	// (sockets with per-Dest options such as bind and fwmark, sockets of
	// direct Check calls, sockets in doubt).
	pool *socketPool
}

// socketPool holds idle unconnected probe sockets. It is a plain list, not
// a sync.Pool, because a sync.Pool drops items at GC without closing them.
// Only a Runner keeps one, for as long as it runs: its workers all run in
// the process's network namespace, while a direct Check may run on a
// thread moved into another namespace, where a pooled socket (which
// belongs to the namespace it was created in) would connect from the
// wrong one.
type socketPool struct {
	mu   sync.Mutex
	idle [2][]*probeSocket // [0] IPv4, [1] IPv6
}

func familyIndex(family int) int {
	if family == unix.AF_INET6 {
		return 1
	}
	return 0
}

// get returns an idle socket of family, or a new one.
func (p *socketPool) get(family int) (*probeSocket, error) {
	i := familyIndex(family)
	p.mu.Lock()
	if n := len(p.idle[i]); n > 0 {
		s := p.idle[i][n-1]
		p.idle[i][n-1] = nil
		p.idle[i] = p.idle[i][:n-1]
		p.mu.Unlock()
		return s, nil
	}
	p.mu.Unlock()
	return newProbeSocket(family, p)
}

// put returns an unconnected socket to the pool, or closes it.
func (p *socketPool) put(s *probeSocket) {
	if p != nil {
		i := familyIndex(s.family)
		p.mu.Lock()
		if len(p.idle[i]) < maxIdleSockets {
			p.idle[i] = append(p.idle[i], s)
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
	}
	s.close()
}

// drain closes the idle sockets.
func (p *socketPool) drain() {
	p.mu.Lock()
	idle := p.idle
	p.idle = [2][]*probeSocket{}
	p.mu.Unlock()
	for _, l := range idle {
		for _, s := range l {
			s.close()
		}
	}
}

func (s *probeSocket) close() {
	if s.file != nil {
		s.file.Close()
	} else {
		unix.Close(s.fd)
	}
}

// rawSockaddr is a socket address in the kernel's layout, built on the
// stack for each check so that connecting allocates nothing.
type rawSockaddr struct {
	family int
	v4     unix.RawSockaddrInet4
	v6     unix.RawSockaddrInet6
}

func makeRawSockaddr(ap netip.AddrPort) rawSockaddr {
	var r rawSockaddr
	a := ap.Addr().Unmap()
	port := ap.Port()
	if a.Is4() {
		r.family = unix.AF_INET
		r.v4.Family = unix.AF_INET
		r.v4.Addr = a.As4()
		p := (*[2]byte)(unsafe.Pointer(&r.v4.Port))
		p[0], p[1] = byte(port>>8), byte(port)
		return r
	}
	r.family = unix.AF_INET6
	r.v6.Family = unix.AF_INET6
	r.v6.Addr = a.As16()
	p := (*[2]byte)(unsafe.Pointer(&r.v6.Port))
	p[0], p[1] = byte(port>>8), byte(port)
	r.v6.Scope_id = zoneIndex(a)
	return r
}

// connect issues connect(2). It is a raw system call (no scheduler hand-off)
// because on a non-blocking socket it never waits: its cost is the
// handshake work the kernel does inline, tens of microseconds at most.
func (r *rawSockaddr) connect(fd int) unix.Errno {
	p, n := unsafe.Pointer(&r.v4), unsafe.Sizeof(r.v4)
	if r.family == unix.AF_INET6 {
		p, n = unsafe.Pointer(&r.v6), unsafe.Sizeof(r.v6)
	}
	_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(p), n)
	return e
}

// reset ends s's connection with a reset and leaves the socket
// unconnected and reusable.
func (s *probeSocket) reset() error {
	if e := disconnect(s.fd); e != 0 {
		return e
	}
	if s.file == nil {
		return nil
	}
	// The reset leaves ECONNRESET pending on the socket until the next
	// connect is well under way. The runtime's poller, if it looks at a
	// registered socket in between, sees nothing but that error and fails
	// the next connection's first read ("not pollable"): about one
	// HTTP_GET in 5,000 in the benchmark did. Reading SO_ERROR clears it;
	// a socket the poller does not know needs no such call.
	_, err := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	return err
}

// disconnect ends fd's connection with a reset and leaves the socket
// unconnected and reusable (connect to an AF_UNSPEC address).
func disconnect(fd int) unix.Errno {
	var sa unix.RawSockaddr // Family 0 is AF_UNSPEC
	_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
	return e
}

// errInFlight is an internal verdict: the handshake has not ended yet.
var errInFlight = errors.New("connect in progress")

// poll asks a connecting socket how its handshake went, without waiting:
// nil when established, errInFlight while in flight, else the error.
func (r *rawSockaddr) poll(fd int) error {
	switch e := r.connect(fd); e {
	case 0, unix.EISCONN:
		return nil
	case unix.EALREADY, unix.EINPROGRESS, unix.EINTR:
		return errInFlight
	default:
		return os.NewSyscallError("connect", e)
	}
}

// pendingConnect is a TCP_CHECK handshake still in flight.
type pendingConnect struct {
	s  *probeSocket
	sa rawSockaddr
}

// startConnect opens a TCP connection to d.Target() and closes it at once
// if the handshake ends without waiting, which is the common case for
// local servers. Otherwise it returns the connection in flight, for its
// wait method. Sockets come from pool and go back to it, unless pool is
// nil or d has options that stay with a socket.
func (d Dest) startConnect(pool *socketPool) (*pendingConnect, error) {
	sa := makeRawSockaddr(d.Target())
	s, err := d.socket(pool, sa.family)
	if err != nil {
		return nil, err
	}
	switch e := sa.connect(s.fd); e {
	case 0:
		return nil, s.finish(nil)
	case unix.EINPROGRESS, unix.EINTR:
	default:
		// Refused at once, no route, no local port: the socket was never
		// connected; close it rather than reason about its state.
		s.close()
		return nil, os.NewSyscallError("connect", e)
	}
	if err := sa.poll(s.fd); err != errInFlight {
		return nil, s.finish(err)
	}
	return &pendingConnect{s: s, sa: sa}, nil
}

// socket returns a socket of family for a connection to d: from pool,
// unless pool is nil or d has options that stay with a socket. A
// link-local target's zone is one: connecting with a scope binds the
// socket to that interface, and a reset does not undo it.
func (d Dest) socket(pool *socketPool, family int) (*probeSocket, error) {
	if pool == nil || d.BindTo.IsValid() || d.BindPort != 0 || d.FWMark != 0 || d.Target().Addr().Zone() != "" {
		return d.optionSocket(family)
	}
	return pool.get(family)
}

// optionSocket opens a socket with d's bind and fwmark options, if any; it
// is not pooled, since those options stay with the socket.
func (d Dest) optionSocket(family int) (*probeSocket, error) {
	s, err := newProbeSocket(family, nil)
	if err != nil {
		return nil, err
	}
	if d.FWMark != 0 {
		if err := setMark(s.fd, d.FWMark); err != nil {
			s.close()
			return nil, os.NewSyscallError("setsockopt", err)
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
		lsa := sockaddr(netip.AddrPortFrom(local, d.BindPort))
		if err := unix.Bind(s.fd, lsa); err != nil {
			s.close()
			return nil, os.NewSyscallError("bind", err)
		}
	}
	return s, nil
}

// finish ends a check whose handshake ended with verdict err: an
// established connection is reset, and the socket goes back to the pool
// when it is known to be unconnected.
func (s *probeSocket) finish(err error) error {
	switch {
	case err == nil:
		if s.reset() != nil {
			s.close()
			return nil
		}
		s.pool.put(s)
	case errors.Is(err, unix.ECONNREFUSED):
		// The kernel reset the socket to unconnected when it reported
		// the refusal.
		s.pool.put(s)
	default:
		s.close()
	}
	return err
}

// wait waits for the handshake to end, in the runtime's network poller,
// until ctx is done, and then closes the connection.
func (p *pendingConnect) wait(ctx context.Context) error {
	verdict, err := p.waitHandshake(ctx)
	if err != nil {
		// Timed out or cancelled in SYN_SENT: close rather than reuse.
		p.s.close()
		return err
	}
	return p.s.finish(verdict)
}

// waitHandshake waits in the runtime's network poller until the handshake
// ends (verdict) or ctx is done (err).
func (p *pendingConnect) waitHandshake(ctx context.Context) (verdict, err error) {
	s := p.s
	if s.file == nil {
		s.file = os.NewFile(uintptr(s.fd), "tcp-probe")
	}
	rc, err := s.file.SyscallConn()
	if err != nil {
		return nil, err
	}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(DefaultTimeout)
	}
	s.file.SetWriteDeadline(dl)
	stop := context.AfterFunc(ctx, func() { s.file.SetWriteDeadline(time.Unix(1, 0)) })
	werr := rc.Write(func(fd uintptr) bool {
		verdict = p.sa.poll(int(fd))
		return verdict != errInFlight
	})
	if !stop() {
		// ctx ended while waiting: the AfterFunc may still set a deadline
		// in the past after we return, so the socket must not be reused.
		s.pool = nil
	}
	if werr != nil {
		if errors.Is(werr, os.ErrDeadlineExceeded) && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, werr
	}
	return verdict, nil
}

// dial opens a TCP connection to d.Target() before ctx is done, for
// HTTP_GET, SSL_GET and SMTP_CHECK. It uses the same system calls as
// TCP_CHECK rather than net.Dialer, which costs twice as many calls and
// always parks the goroutine in the network poller, even when the
// handshake ended inside connect. With a pool, the socket comes from it
// and can go back with the connection's recycle; Close closes it with a
// FIN, as any connection.
func (d Dest) dial(ctx context.Context, pool *socketPool) (*fileConn, error) {
	sa := makeRawSockaddr(d.Target())
	s, err := d.socket(pool, sa.family)
	if err != nil {
		return nil, err
	}
	switch e := sa.connect(s.fd); e {
	case 0, unix.EINPROGRESS, unix.EINTR:
	default:
		s.close()
		return nil, os.NewSyscallError("connect", e)
	}
	verdict := sa.poll(s.fd)
	if (verdict == nil || verdict == errInFlight) && s.file == nil {
		// Register with the network poller for the reads and writes
		// that follow, and for the handshake if it is still in flight.
		// A pooled socket stays registered.
		s.file = os.NewFile(uintptr(s.fd), "tcp")
	}
	if verdict == errInFlight {
		p := pendingConnect{s: s, sa: sa}
		verdict, err = p.waitHandshake(ctx)
		if err != nil {
			s.close()
			return nil, err
		}
		s.file.SetWriteDeadline(time.Time{})
	}
	if verdict != nil {
		s.close()
		return nil, verdict
	}
	return &fileConn{File: s.file, remote: d.Target(), s: s}, nil
}

// fileConn is a connected TCP socket as a net.Conn, on the os.File that
// registered it with the runtime's network poller (os.File has deadlines
// for pollable descriptors).
type fileConn struct {
	*os.File
	remote netip.AddrPort
	s      *probeSocket
}

// recycle ends a connection whose exchange is over, and which nothing else
// uses or will close, with a reset, and returns its socket to its pool
// (or closes it, without one). The reset rather than a FIN is what
// HAProxy's checks do: an HTTP/1.0 server closes first, so a FIN from the
// balancer would leave the server a TIME_WAIT socket per check, and the
// reset also spares both sides a socket's teardown and the balancer the
// next check's socket, registration and close calls.
func (c *fileConn) recycle() {
	// The next user sets its own deadlines; none may fire meanwhile.
	c.File.SetDeadline(time.Time{})
	c.s.finish(nil)
}

// Read implements net.Conn; a read on a closed connection reports
// net.ErrClosed, as for any net.Conn.
func (c *fileConn) Read(b []byte) (int, error) {
	n, err := c.File.Read(b)
	return n, netError(err)
}

// Write implements net.Conn.
func (c *fileConn) Write(b []byte) (int, error) {
	n, err := c.File.Write(b)
	return n, netError(err)
}

func netError(err error) error {
	if err != nil && errors.Is(err, os.ErrClosed) {
		return net.ErrClosed
	}
	return err
}

// LocalAddr implements net.Conn. (File.Fd is not used: it would switch
// the socket to blocking mode.)
func (c *fileConn) LocalAddr() net.Addr {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	var sa unix.Sockaddr
	if cerr := rc.Control(func(fd uintptr) { sa, err = unix.Getsockname(int(fd)) }); cerr != nil || err != nil {
		return nil
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}
	}
	return nil
}

// RemoteAddr implements net.Conn.
func (c *fileConn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(c.remote) }

// sockaddr converts ap to a socket address.
func sockaddr(ap netip.AddrPort) unix.Sockaddr {
	a := ap.Addr().Unmap()
	if a.Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16(), ZoneId: zoneIndex(a)}
}

// zoneIndex is the interface index of a's zone ("eth0" or "2"), 0 without
// one. Only link-local targets have a zone; they pay an interface lookup.
func zoneIndex(a netip.Addr) uint32 {
	if z := a.Zone(); z != "" {
		if ifi, err := netInterfaceIndex(z); err == nil {
			return uint32(ifi)
		}
	}
	return 0
}
