package bench

import (
	"fmt"
	"net/netip"
	"slices"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel floor: what the bare system calls of the benchmark's checks
// cost on this machine, issued back to back from one thread with blocking
// sockets and no scheduler, timers or bookkeeping. On loopback the kernel
// runs the server's side of each handshake in the connecting process, so
// this is a cost every checker pays, lbd and keepalived alike; a CPU
// target below it cannot be met on this machine by any checker.

// floorRounds is how many times each loop runs; the median is reported.
const floorRounds = 3

// kernelFloor returns the CPU per TCP_CHECK (connect, then reset) and per
// HTTP_GET (connect, request, read to end of stream, close), at most n of
// each, spread over the targets.
func kernelFloor(nTCP, nHTTP, n int) (tcp, http time.Duration, err error) {
	req := []byte("GET /health HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: floor\r\n\r\n")
	buf := make([]byte, 4096)
	// TCP_CHECK as lbd issues it, minus everything around the calls: one
	// socket connected and then reset to unconnected (connect to
	// AF_UNSPEC), two system calls per check.
	tcpFD, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, 0, err
	}
	defer unix.Close(tcpFD)
	unspec := unix.RawSockaddr{} // Family 0: AF_UNSPEC
	tcpOnce := func(i int) error {
		if err := unix.Connect(tcpFD, sockaddr4(targetAddr(tcpNet, i%nTCP))); err != nil {
			return err
		}
		if _, _, e := unix.Syscall(unix.SYS_CONNECT, uintptr(tcpFD), uintptr(unsafe.Pointer(&unspec)), unsafe.Sizeof(unspec)); e != 0 {
			return e
		}
		return nil
	}
	httpOnce := func(i int) error {
		fd, err := dialBlocking(targetAddr(httpNet, i%nHTTP))
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if _, err := unix.Write(fd, req); err != nil {
			return err
		}
		for {
			m, err := unix.Read(fd, buf)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return fmt.Errorf("read from %v: %w", targetAddr(httpNet, i%nHTTP), err)
			}
			if m == 0 {
				return nil
			}
		}
	}
	if tcp, err = medianCPU(min(n, 5*nTCP), tcpOnce); err != nil {
		return 0, 0, fmt.Errorf("tcp: %w", err)
	}
	if http, err = medianCPU(min(n, 5*nHTTP), httpOnce); err != nil {
		return 0, 0, fmt.Errorf("http: %w", err)
	}
	return tcp, http, nil
}

// medianCPU runs once n times per round and returns the median over the
// rounds of this process's CPU per call.
func medianCPU(n int, once func(i int) error) (time.Duration, error) {
	var per []time.Duration
	for range floorRounds {
		c0 := selfCPU()
		for i := range n {
			if err := once(i); err != nil {
				return 0, err
			}
		}
		per = append(per, (selfCPU()-c0)/time.Duration(n))
	}
	slices.Sort(per)
	return per[len(per)/2], nil
}

func dialBlocking(ap netip.AddrPort) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	// A server that never answers must end the floor, not hang it: a
	// read waits at most 5 s (EAGAIN then). With a timeout set, a signal
	// (the Go runtime's preemption) makes the read fail with EINTR
	// instead of restarting it: the read loop retries those.
	tv := unix.Timeval{Sec: 5}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if err := unix.Connect(fd, sockaddr4(ap)); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("connect %v: %w", ap, err)
	}
	return fd, nil
}

func sockaddr4(ap netip.AddrPort) *unix.SockaddrInet4 {
	return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
}
