package ipvs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Socket tuning for pipelined requests.
const (
	// readBuffer is the receive buffer asked for; the kernel doubles it.
	readBuffer = 8 << 20
	// ackCost is a generous estimate of the receive-buffer space one
	// queued acknowledgement takes (the skb's truesize, not its 36 bytes).
	ackCost = 2048
	// maxBatch caps the requests written per sendmsg.
	maxBatch = 256
)

// Client talks to the kernel's IPVS over one generic netlink socket. It is
// safe for concurrent use; operations are serialized on the socket.
//
// Every method honours its context: the deadline bounds the socket I/O and
// cancellation interrupts it. A request that times out or fails in
// transport may leave replies unread, so the client then drops the socket
// and dials a new one on its next call.
type Client struct {
	mu     sync.Mutex
	dial   func() (*netlink.Conn, error)
	nl     *netlink.Conn // nil after a transport failure
	genl   *genetlink.Conn
	family uint16
	batch  int // requests per sendmsg in pipelined writes
}

// Open connects to the kernel's IPVS. It fails with an error wrapping
// ErrNotSupported when the kernel has no IPVS family.
func Open() (*Client, error) {
	return open(dialKernel)
}

// open connects with dial, which tests replace by a fake kernel.
func open(dial func() (*netlink.Conn, error)) (*Client, error) {
	c := &Client{dial: dial}
	if err := c.connect(); err != nil {
		return nil, err
	}
	return c, nil
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

// batchFor sizes batches to what the socket's receive buffer holds.
func batchFor(nl *netlink.Conn) int {
	rb, err := nl.ReadBuffer()
	if err != nil || rb <= 0 {
		return maxBatch
	}
	return max(1, min(maxBatch, rb/ackCost))
}

// connect dials and resolves the IPVS family. c.mu must be held (or c not
// yet shared).
func (c *Client) connect() error {
	nl, err := c.dial()
	if err != nil {
		return fmt.Errorf("ipvs: open netlink socket: %w", err)
	}
	genl := genetlink.NewConn(nl)
	fam, err := genl.GetFamily(familyName)
	if err != nil {
		nl.Close()
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("ipvs: %w", ErrNotSupported)
		}
		return fmt.Errorf("ipvs: resolve generic netlink family %s: %w", familyName, err)
	}
	c.nl, c.genl, c.family, c.batch = nl, genl, fam.ID, batchFor(nl)
	return nil
}

// Close closes the socket.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nl == nil {
		return nil
	}
	err := c.nl.Close()
	c.nl, c.genl = nil, nil
	return err
}

// do runs fn with the socket, bounded by ctx. fn reports through broken
// whether the socket may hold unread replies.
func (c *Client) do(ctx context.Context, fn func() (broken bool, err error)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.nl == nil {
		if err := c.connect(); err != nil {
			return err
		}
	}
	nl := c.nl
	// Sockets without deadline support (test fakes) still work: the
	// errors are ignored and only cancellation is lost.
	if dl, ok := ctx.Deadline(); ok {
		_ = nl.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = nl.SetDeadline(time.Unix(1, 0)) })
	broken, err := fn()
	stop()
	_ = nl.SetDeadline(time.Time{})
	if broken {
		_ = nl.Close()
		c.nl, c.genl = nil, nil
	}
	return err
}

// transportErr reports why an exchange failed outside the kernel's
// answer, preferring the context's reason over the socket's timeout.
func transportErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if _, ok := ctx.Deadline(); ok && errors.Is(err, os.ErrDeadlineExceeded) {
		return context.DeadlineExceeded
	}
	return err
}

// kernelErr reports whether err is an errno the kernel answered a request
// with, as opposed to a failure of the socket.
func kernelErr(err error) bool {
	var nerr *netlink.OpError
	return errors.As(err, &nerr) && nerr.Sequence != 0
}

// message builds a generic netlink IPVS message from encoded attributes.
func message(cmd uint8, encode func(ae *netlink.AttributeEncoder)) (genetlink.Message, error) {
	ae := netlink.NewAttributeEncoder()
	if encode != nil {
		encode(ae)
	}
	data, err := ae.Encode()
	if err != nil {
		return genetlink.Message{}, err
	}
	return genetlink.Message{Header: genetlink.Header{Command: cmd, Version: familyVersion}, Data: data}, nil
}

// query sends one GET request and returns its replies. It must run inside
// do.
func (c *Client) query(ctx context.Context, op, object string, cmd uint8, dump bool,
	encode func(ae *netlink.AttributeEncoder)) ([]genetlink.Message, bool, error) {
	m, err := message(cmd, encode)
	if err != nil {
		return nil, false, &OpError{Op: op, Object: object, Err: err}
	}
	flags := netlink.Request
	if dump {
		flags |= netlink.Dump
	}
	msgs, err := c.genl.Execute(m, c.family, flags)
	if err != nil {
		if kernelErr(err) {
			return nil, false, opError(op, object, err)
		}
		return nil, true, opError(op, object, transportErr(ctx, err))
	}
	return msgs, false, nil
}

// set sends one acknowledged request through the pipelined path, so single
// operations and Apply share one way of matching acks.
func (c *Client) set(ctx context.Context, op, object string, cmd uint8,
	encode func(ae *netlink.AttributeEncoder)) error {
	m, err := message(cmd, encode)
	if err != nil {
		return &OpError{Op: op, Object: object, Err: err}
	}
	return c.do(ctx, func() (bool, error) {
		errs, _, broken := c.exchange(ctx, []request{{op: op, object: object, msg: m}})
		return broken, errs[0]
	})
}
