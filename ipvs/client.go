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
)

// Socket tuning for pipelined requests.
const (
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

// open connects with dial, which tests replace by a fake kernel.
func open(dial func() (*netlink.Conn, error)) (*Client, error) {
	c := &Client{dial: dial}
	if err := c.connect(); err != nil {
		return nil, err
	}
	return c, nil
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
