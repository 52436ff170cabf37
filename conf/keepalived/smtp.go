package keepalived

import (
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"
)

// This file converts the host blocks of SMTP_CHECK, which keepalived 2.2.7
// still reads though deprecated ("The SMTP_CHECK host block is deprecated.
// Please define additional checkers."). Its smtp_check_end_handler makes a
// checker of each host block; the block's own connection options, when it
// sets one (connect_timeout included), make one more, for the real server.
// Every other setting (helo_name, retry, delay_loop, ...) is shared: in a
// host block it sets the one checker all of them are copied from.

// smtpHost is one host block: its connection options, converted, and its
// connect_timeout (nil: none).
type smtpHost struct {
	n       *Node
	conn    ymap
	timeout *yaml.Node
}

// smtpHost converts host block h. Its timing settings other than
// connect_timeout go into t, shared by the whole SMTP_CHECK.
func (c *converter) smtpHost(h *Node, t timing) smtpHost {
	out := smtpHost{n: h, conn: newMap()}
	for _, n := range h.Children {
		if c.ignoredIn(n, "host") {
			continue
		}
		if val, ok := c.timingValue(n); ok {
			switch {
			case n.Key == "connect_timeout":
				out.timeout = val
			case val != nil:
				t[timingKey(n.Key)] = val
			}
			continue
		}
		if c.connOption(out.conn, n) {
			continue
		}
		if n.Key == "alpha" {
			c.findAlpha(n)
			continue
		}
		c.other(n, "host")
	}
	return out
}

// smtpChecks turns SMTP_CHECK k, converted as m without its host blocks,
// into the checks keepalived runs: m itself when the block sets a
// connection option of its own (ownConn), then one per host block, each m
// with the host's connection options.
func (c *converter) smtpChecks(k *Node, m ymap, hosts []smtpHost, ownConn bool) []ymap {
	var out []ymap
	own := ""
	if ownConn {
		out = append(out, m)
		own = ", and one for the real server since the block sets a connection option of its own"
	}
	c.find(k, NotApplicable, fmt.Sprintf("host blocks: keepalived 2.2.7 runs one checker per host block%s; "+
		"converted as %d checks that must all pass", own, len(out)+len(hosts)))
	timeout := "5s, lbd's default and keepalived's"
	if v := m.get("connect_timeout"); v != nil {
		timeout = v.Value
	}
	for _, h := range hosts {
		hm := newMap()
		c.src[hm.n] = h.n.Pos
		hm.set("type", m.get("type"))
		hm.n.Content = append(hm.n.Content, h.conn.n.Content...)
		for i := 0; i+1 < len(m.n.Content); i += 2 {
			if key := m.n.Content[i].Value; key != "type" && !slices.Contains(connKeys, key) {
				hm.set(key, m.n.Content[i+1])
			}
		}
		if h.timeout != nil {
			hm.set("connect_timeout", h.timeout)
		} else {
			// smtp_host_handler allocates the host's options zeroed, and
			// only an unset (UINT_MAX) timeout is given the default.
			c.find(h.n, Approximated, fmt.Sprintf("keepalived 2.2.7 gives a host block without connect_timeout "+
				"a timeout of 0, so its checks time out (\"Connection timeout\", \"Read timeout\") unless the server "+
				"answers at once; lbd gives it the SMTP_CHECK's connect_timeout (%s): set connect_timeout in the block", timeout))
		}
		out = append(out, hm)
	}
	return out
}
