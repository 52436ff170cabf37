package ipvs

import (
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// This file holds what dials the kernel: netlink and IPVS exist only on
// Linux (client_other.go stands in elsewhere).

// readBuffer is the receive buffer asked for; the kernel doubles it.
const readBuffer = 8 << 20

// Open connects to the kernel's IPVS. It fails with an error wrapping
// ErrNotSupported when the kernel has no IPVS family.
func Open() (*Client, error) {
	return open(dialKernel)
}

// dialKernel opens a generic netlink socket tuned for batches.
func dialKernel() (*netlink.Conn, error) {
	// A fixed receive buffer saves the peek (a second recvmsg) the library
	// otherwise makes to size each datagram, which halves the system calls
	// of a large Dump. The kernel never builds a netlink datagram larger
	// than 32 KiB, so 64 KiB always fits.
	nl, err := netlink.Dial(unix.NETLINK_GENERIC, &netlink.Config{MessageBufferSize: 64 << 10})
	if err != nil {
		return nil, err
	}
	// Both options only shrink or annotate error acks; kernels without
	// them still work, so failures are ignored.
	_ = nl.SetOption(netlink.ExtendedAcknowledge, true)
	_ = nl.SetOption(netlink.CapAcknowledge, true)
	growReadBuffer(nl)
	return nl, nil
}

// growReadBuffer makes room for a whole batch of acks. The kernel runs a
// netlink sendmsg to completion before it returns, queueing one ack per
// request, so the batch must fit or acks are dropped (ENOBUFS).
// SO_RCVBUFFORCE passes net.core.rmem_max but needs CAP_NET_ADMIN, which
// an IPVS client has anyway; SO_RCVBUF is the fallback, capped by rmem_max.
func growReadBuffer(nl *netlink.Conn) {
	if rc, err := nl.SyscallConn(); err == nil {
		var serr error
		cerr := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, readBuffer)
		})
		if cerr == nil && serr == nil {
			return
		}
	}
	_ = nl.SetReadBuffer(readBuffer)
}
