package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"
)

// DefaultUDPMaxReply is keepalived's default max_reply_length.
const DefaultUDPMaxReply = 255

// UDPChecker is keepalived's UDP_CHECK. It sends Payload in one datagram
// from a connected UDP socket and waits for the deadline:
//
//   - Without RequireReply the server is up unless the kernel reports an
//     ICMP error for the socket (port or host unreachable), which is how a
//     closed UDP port shows itself. A reply of any kind also passes. Silence
//     until the deadline passes, so the check takes the whole timeout.
//   - With RequireReply the server is up only when a reply arrives whose
//     length is within [MinReplyLength, MaxReplyLength] and whose first
//     bytes match Reply (bits set in ReplyMask are not compared). Only
//     min(len(reply), len(Reply)) bytes are compared, as keepalived does,
//     so a short reply that agrees with the start of Reply passes.
//
// Difference from keepalived, on purpose: keepalived applies the length
// limits only when require_reply has a hex string; lbd applies them
// whenever RequireReply is set, which is what the man page describes.
type UDPChecker struct {
	// Dest is the server; only Addr, ConnectIP, ConnectPort, BindTo,
	// BindPort and FWMark apply.
	Dest Dest
	// Payload is sent as one datagram (payload); empty sends an empty
	// datagram.
	Payload []byte
	// RequireReply demands a reply (require_reply).
	RequireReply bool
	// Reply, if set, is what the reply must start with (the hex string of
	// require_reply).
	Reply []byte
	// ReplyMask marks, bit by bit, which bits of Reply are wildcards (the
	// x nibbles of require_reply); nil compares every bit.
	ReplyMask []byte
	// MinReplyLength is the shortest acceptable reply (min_reply_length).
	MinReplyLength int
	// MaxReplyLength is the longest acceptable reply (max_reply_length);
	// 0 means DefaultUDPMaxReply.
	MaxReplyLength int
}

// Check implements Checker.
func (c *UDPChecker) Check(ctx context.Context) Result {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	start := time.Now()
	conn, done, err := c.Dest.dialUDP(ctx)
	if err != nil {
		return fail(start, errReason("connect", err))
	}
	defer done()
	if _, err := conn.Write(c.Payload); err != nil {
		return fail(start, errReason("send", err))
	}
	maxLen := c.maxReply()
	// One byte more than allowed, so an over-long reply is seen as such.
	buf := make([]byte, maxLen+1)
	n, err := conn.Read(buf)
	if err != nil {
		if isTimeout(err) && ctx.Err() != context.Canceled {
			if c.RequireReply {
				return fail(start, "no reply: timeout")
			}
			return pass(start, "no reply and no ICMP error")
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			return fail(start, "port unreachable")
		}
		return fail(start, errReason("receive", err))
	}
	if !c.RequireReply {
		return pass(start, fmt.Sprintf("reply of %d bytes", n))
	}
	if reason := c.judgeReply(buf[:n]); reason != "" {
		return fail(start, reason)
	}
	return pass(start, fmt.Sprintf("reply of %d bytes", n))
}

func (c *UDPChecker) maxReply() int {
	if c.MaxReplyLength <= 0 {
		return DefaultUDPMaxReply
	}
	return c.MaxReplyLength
}

// judgeReply returns "" if reply is acceptable, else why not.
func (c *UDPChecker) judgeReply(reply []byte) string {
	if len(reply) < c.MinReplyLength {
		return fmt.Sprintf("reply of %d bytes shorter than %d", len(reply), c.MinReplyLength)
	}
	if max := c.maxReply(); len(reply) > max {
		return fmt.Sprintf("reply longer than %d bytes", max)
	}
	for i := range min(len(reply), len(c.Reply)) {
		var wild byte
		if i < len(c.ReplyMask) {
			wild = c.ReplyMask[i]
		}
		if (reply[i]^c.Reply[i])&^wild != 0 {
			return fmt.Sprintf("reply mismatch at byte %d: got %02x want %02x", i, reply[i], c.Reply[i])
		}
	}
	return ""
}

// String implements Checker.
func (c *UDPChecker) String() string { return "UDP_CHECK " + c.Dest.Target().String() }

// ParseHex parses a hex string the way keepalived reads UDP_CHECK payload
// and require_reply: pairs of hex digits, optionally separated by spaces
// or tabs; a single digit followed by a space or the end is one byte. With
// wildcards, an x or X stands for any nibble and is reported in mask
// (0x0f or 0xf0 per nibble); mask is nil when there is no wildcard.
func ParseHex(s string, wildcards bool) (data, mask []byte, err error) {
	nibble := func(ch byte) (v, m byte, ok bool) {
		switch {
		case ch >= '0' && ch <= '9':
			return ch - '0', 0, true
		case ch >= 'a' && ch <= 'f':
			return ch - 'a' + 10, 0, true
		case ch >= 'A' && ch <= 'F':
			return ch - 'A' + 10, 0, true
		case wildcards && (ch == 'x' || ch == 'X'):
			return 0, 0x0f, true
		}
		return 0, 0, false
	}
	masked := false
	for i := 0; i < len(s); {
		if s[i] == ' ' || s[i] == '\t' {
			i++
			continue
		}
		v, m, ok := nibble(s[i])
		if !ok {
			return nil, nil, fmt.Errorf("healthcheck: invalid hex digit %q in %q", s[i], s)
		}
		i++
		if i < len(s) && s[i] != ' ' && s[i] != '\t' {
			v2, m2, ok := nibble(s[i])
			if !ok {
				return nil, nil, fmt.Errorf("healthcheck: invalid hex digit %q in %q", s[i], s)
			}
			i++
			v, m = v<<4|v2, m<<4|m2
		}
		data = append(data, v)
		mask = append(mask, m)
		masked = masked || m != 0
	}
	if len(data) == 0 {
		return nil, nil, fmt.Errorf("healthcheck: empty hex string %q", strings.TrimSpace(s))
	}
	if !masked {
		mask = nil
	}
	return data, mask, nil
}
