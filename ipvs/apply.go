package ipvs

import (
	"context"
	"errors"
	"fmt"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

// ChangeResult is the outcome of one change of an applied plan.
type ChangeResult struct {
	Change Change
	// Err is nil when the kernel acknowledged the change. Otherwise it is
	// a *ValidationError, or an *OpError wrapping the kernel's errno or,
	// when the change was not sent or its ack never came, the transport
	// error.
	Err error
}

// ApplyResult reports what Apply did, change by change.
type ApplyResult struct {
	// Results has one entry per change, in plan order.
	Results []ChangeResult
	// Messages counts the netlink requests written to the kernel; with
	// no transport failure it equals the number of changes.
	Messages int
	// Batches counts the sendmsg calls that carried them.
	Batches int
}

// Failed returns the results of the changes that did not succeed.
func (r ApplyResult) Failed() []ChangeResult {
	var out []ChangeResult
	for _, cr := range r.Results {
		if cr.Err != nil {
			out = append(out, cr)
		}
	}
	return out
}

// Apply makes the changes of p. It validates every added or edited object
// first and sends nothing if any is invalid. Then it writes the requests in
// batches over one socket and matches each acknowledgement to its change,
// so the result tells exactly which changes the kernel took. The kernel
// carries on after a failed request, so one failure does not stop the
// rest of the plan. The returned error, an *ApplyError, summarises the
// failures; it is nil when every change succeeded.
func (c *Client) Apply(ctx context.Context, p Plan) (ApplyResult, error) {
	res := ApplyResult{Results: make([]ChangeResult, len(p.Changes))}
	reqs := make([]request, len(p.Changes))
	var invalid []error
	for i, ch := range p.Changes {
		res.Results[i].Change = ch
		if err := ch.validate(); err != nil {
			res.Results[i].Err = err
			invalid = append(invalid, err)
			continue
		}
		m, err := message(ch.command(), ch.encode)
		if err != nil {
			res.Results[i].Err = &OpError{Op: ch.opName(), Object: ch.object(), Err: err}
			invalid = append(invalid, res.Results[i].Err)
			continue
		}
		reqs[i] = request{op: ch.opName(), object: ch.object(), msg: m}
	}
	if len(invalid) > 0 {
		for i := range res.Results {
			if res.Results[i].Err == nil {
				res.Results[i].Err = &OpError{Op: reqs[i].op, Object: reqs[i].object, Err: errNotSent}
			}
		}
		return res, &ApplyError{Failed: len(invalid), Total: len(p.Changes), Errs: invalid}
	}
	if len(reqs) == 0 {
		return res, nil
	}

	err := c.do(ctx, func() (bool, error) {
		errs, w, broken := c.exchange(ctx, reqs)
		res.Messages, res.Batches = w.messages, w.batches
		for i, err := range errs {
			res.Results[i].Err = err
		}
		return broken, nil
	})
	if err != nil {
		// The socket could not be (re)opened: nothing was sent.
		for i := range res.Results {
			res.Results[i].Err = &OpError{Op: reqs[i].op, Object: reqs[i].object, Err: err}
		}
	}
	var errs []error
	for _, cr := range res.Results {
		if cr.Err != nil {
			errs = append(errs, cr.Err)
		}
	}
	if len(errs) > 0 {
		return res, &ApplyError{Failed: len(errs), Total: len(p.Changes), Errs: errs}
	}
	return res, nil
}

// errNotSent marks requests that never reached the kernel.
var errNotSent = errors.New("not sent")

// request is one acknowledged IPVS request and how to name it in errors.
type request struct {
	op, object string
	msg        genetlink.Message
}

// exchange writes reqs in batches and returns each request's error (nil on
// success), what it wrote, and whether the socket was left
// in an unknown state. It must run inside do.
//
// How acks find their requests: every request carries NLM_F_ACK and its own
// sequence number, assigned by netlink.Conn.SendMessages. The kernel
// handles a sendmsg synchronously and, per message in order, queues one ack
// datagram: errno 0, or the failure (netlink_rcv_skb does not stop at an
// error). netlink.Conn.Receive returns a success ack as a message whose
// header has the request's sequence, and a failure as a *netlink.OpError
// whose Sequence field is the request's. Both are looked up by sequence,
// so the mapping does not depend on arrival order. Since each ack is its
// own datagram, an error returned by Receive discards no other ack.
//
// Because the whole batch is queued before sendmsg returns, the "window"
// of requests in flight is one batch, sized by batchFor to fit the receive
// buffer; a batch's acks are drained before the next is written.
func (c *Client) exchange(ctx context.Context, reqs []request) (errs []error, w written, broken bool) {
	errs = make([]error, len(reqs))
	msgs := make([]netlink.Message, len(reqs))
	for i, r := range reqs {
		data, err := r.msg.MarshalBinary()
		if err != nil {
			errs[i] = &OpError{Op: r.op, Object: r.object, Err: err}
			continue
		}
		msgs[i] = netlink.Message{
			Header: netlink.Header{Type: netlink.HeaderType(c.family), Flags: netlink.Request | netlink.Acknowledge},
			Data:   data,
		}
	}
	// fail marks the requests idx with a transport error.
	fail := func(idx []int, err error) {
		for _, i := range idx {
			errs[i] = &OpError{Op: reqs[i].op, Object: reqs[i].object, Err: err}
		}
	}
	// Requests that failed to marshal are skipped.
	var todo []int
	for i := range reqs {
		if errs[i] == nil {
			todo = append(todo, i)
		}
	}
	for len(todo) > 0 {
		n := min(len(todo), max(c.batch, 1))
		batch, rest := todo[:n], todo[n:]
		out := make([]netlink.Message, n)
		for j, i := range batch {
			out[j] = msgs[i]
		}
		sent, err := c.nl.SendMessages(out)
		if err != nil {
			// A failed sendmsg delivers none of its messages.
			fail(todo, fmt.Errorf("%w: %w", errNotSent, transportErr(ctx, err)))
			return errs, w, true
		}
		w.messages += n
		w.batches++
		pending := make(map[uint32]int, n)
		for j, m := range sent {
			pending[m.Header.Sequence] = batch[j]
		}
		for len(pending) > 0 {
			replies, err := c.nl.Receive()
			if err != nil {
				var nerr *netlink.OpError
				if errors.As(err, &nerr) && nerr.Sequence != 0 {
					if i, ok := pending[nerr.Sequence]; ok {
						errs[i] = opError(reqs[i].op, reqs[i].object, err)
						delete(pending, nerr.Sequence)
					}
					continue
				}
				// The socket failed (timeout, ENOBUFS): the fate of the
				// pending requests is unknown.
				terr := transportErr(ctx, err)
				fail(mapValues(pending), fmt.Errorf("outcome unknown: %w", terr))
				fail(rest, fmt.Errorf("%w: %w", errNotSent, terr))
				return errs, w, true
			}
			for _, m := range replies {
				if m.Header.Type != netlink.Error {
					continue // not an ack; set commands have no other reply
				}
				delete(pending, m.Header.Sequence)
			}
		}
		todo = rest
	}
	return errs, w, false
}

// written counts what exchange wrote to the socket.
type written struct {
	messages, batches int
}

func mapValues(m map[uint32]int) []int {
	out := make([]int, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// validate checks the objects an add or edit sends. Deletes need only the
// identity, which came from the kernel or was already validated.
func (ch Change) validate() error {
	if ch.Op == Delete {
		return nil
	}
	if ch.Destination != nil {
		return ch.Destination.Validate(ch.Service)
	}
	return ch.Service.Validate()
}

// command is the IPVS command that makes the change.
func (ch Change) command() uint8 {
	if ch.Destination == nil {
		return [...]uint8{Add: cmdNewService, Edit: cmdSetService, Delete: cmdDelService}[ch.Op]
	}
	return [...]uint8{Add: cmdNewDest, Edit: cmdSetDest, Delete: cmdDelDest}[ch.Op]
}

// encode writes the change's attributes: the full service for service adds
// and edits, its identity otherwise, plus the destination if any.
func (ch Change) encode(ae *netlink.AttributeEncoder) {
	encodeService(ae, ch.Service, ch.Destination == nil && ch.Op != Delete)
	if ch.Destination != nil {
		encodeDestination(ae, *ch.Destination, ch.Op != Delete)
	}
}
