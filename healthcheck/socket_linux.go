package healthcheck

import (
	"os"

	"golang.org/x/sys/unix"
)

// TCP checks talk to the kernel directly (see connect.go) and rely on
// Linux's connect semantics: a socket refused or disconnected with
// AF_UNSPEC is unconnected again and reusable. socket_other.go stands in
// elsewhere.

func newProbeSocket(family int, pool *socketPool) (*probeSocket, error) {
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	return &probeSocket{fd: fd, family: family, pool: pool}, nil
}

// setMark sets SO_MARK (keepalived's fwmark) on fd.
func setMark(fd int, mark uint32) error {
	return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, int(mark))
}
