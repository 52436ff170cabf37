package ipvs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
	"golang.org/x/sys/unix"
)

// testFamilyID is the generic netlink ID the fake kernel gives "IPVS".
const testFamilyID = 0x2a

// fakeKernel plays the kernel's side of the socket at the netlink message
// boundary, through nltest. Like the real kernel it answers every request
// of a sendmsg at once and queues each answer as its own datagram, which
// Receive hands out one at a time.
type fakeKernel struct {
	// noIPVS makes the family lookup fail as on a kernel without IPVS.
	noIPVS bool
	// handle answers one IPVS request with replies or an errno; nil acks
	// everything.
	handle func(req genetlink.Message) ([]genetlink.Message, unix.Errno)

	requests []genetlink.Message // IPVS requests, in order
	flags    []netlink.HeaderFlags
	sends    int                 // sendmsg calls carrying IPVS requests
	queue    [][]netlink.Message // datagrams waiting to be received
}

// dial opens a Client whose socket talks to k.
func (k *fakeKernel) dial(t *testing.T, batch int) *Client {
	t.Helper()
	c, err := open(func() (*netlink.Conn, error) { return nltest.Dial(k.fn), nil })
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if batch > 0 {
		c.batch = batch
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (k *fakeKernel) fn(reqs []netlink.Message) ([]netlink.Message, error) {
	if reqs == nil {
		if len(k.queue) == 0 {
			return nil, errors.New("fake kernel: receive with nothing queued")
		}
		d := k.queue[0]
		k.queue = k.queue[1:]
		return d, nil
	}
	ipvs := false
	for _, req := range reqs {
		var gm genetlink.Message
		if err := gm.UnmarshalBinary(req.Data); err != nil {
			return nil, err
		}
		if req.Header.Type == unix.GENL_ID_CTRL {
			k.family(req)
			continue
		}
		if req.Header.Type != testFamilyID {
			return nil, fmt.Errorf("fake kernel: message type %d", req.Header.Type)
		}
		ipvs = true
		k.requests = append(k.requests, gm)
		k.flags = append(k.flags, req.Header.Flags)
		var replies []genetlink.Message
		var errno unix.Errno
		if k.handle != nil {
			replies, errno = k.handle(gm)
		}
		switch {
		case errno != 0:
			k.queue = append(k.queue, []netlink.Message{ack(req, errno)})
		case req.Header.Flags&netlink.Dump != 0:
			k.queue = append(k.queue, multipart(req, replies))
		case len(replies) > 0:
			k.queue = append(k.queue, reply(req, replies...))
		}
		if errno == 0 && req.Header.Flags&netlink.Acknowledge != 0 {
			k.queue = append(k.queue, []netlink.Message{ack(req, 0)})
		}
	}
	if ipvs {
		k.sends++
	}
	return nil, nil
}

// family answers a CTRL_CMD_GETFAMILY request for "IPVS".
func (k *fakeKernel) family(req netlink.Message) {
	if k.noIPVS {
		k.queue = append(k.queue, []netlink.Message{ack(req, unix.ENOENT)})
		return
	}
	ae := netlink.NewAttributeEncoder()
	ae.Uint16(unix.CTRL_ATTR_FAMILY_ID, testFamilyID)
	ae.String(unix.CTRL_ATTR_FAMILY_NAME, familyName)
	ae.Uint32(unix.CTRL_ATTR_VERSION, familyVersion)
	data, _ := ae.Encode()
	k.queue = append(k.queue, reply(req, genetlink.Message{
		Header: genetlink.Header{Command: unix.CTRL_CMD_NEWFAMILY, Version: 1},
		Data:   data,
	}))
}

// ack builds the kernel's acknowledgement of req: errno 0 or a failure,
// followed by the request's header as the kernel echoes it.
func ack(req netlink.Message, errno unix.Errno) netlink.Message {
	data := binary.NativeEndian.AppendUint32(nil, uint32(-int32(errno)))
	hdr, _ := (netlink.Message{Header: req.Header}).MarshalBinary()
	return netlink.Message{
		Header: netlink.Header{Type: netlink.Error, Sequence: req.Header.Sequence, PID: req.Header.PID},
		Data:   append(data, hdr[:16]...),
	}
}

// reply wraps generic netlink answers to req as one datagram.
func reply(req netlink.Message, gms ...genetlink.Message) []netlink.Message {
	var out []netlink.Message
	for _, gm := range gms {
		b, _ := gm.MarshalBinary()
		out = append(out, netlink.Message{
			Header: netlink.Header{Type: req.Header.Type, Sequence: req.Header.Sequence, PID: req.Header.PID},
			Data:   b,
		})
	}
	return out
}

// multipart wraps a dump's answers as one datagram ending in NLMSG_DONE.
func multipart(req netlink.Message, gms []genetlink.Message) []netlink.Message {
	out := reply(req, gms...)
	for i := range out {
		out[i].Header.Flags |= netlink.Multi
	}
	return append(out, netlink.Message{
		Header: netlink.Header{Type: netlink.Done, Flags: netlink.Multi, Sequence: req.Header.Sequence, PID: req.Header.PID},
		Data:   make([]byte, 4),
	})
}

// attrMap decodes one level of attributes into type → payload.
func attrMap(t *testing.T, b []byte) map[uint16][]byte {
	t.Helper()
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		t.Fatalf("attributes: %v", err)
	}
	m := map[uint16][]byte{}
	for ad.Next() {
		m[ad.Type()] = ad.Bytes()
	}
	if err := ad.Err(); err != nil {
		t.Fatalf("attributes: %v", err)
	}
	return m
}

// serviceMsg is what the kernel sends for one service in a dump.
func serviceMsg(t *testing.T, s Service, st Stats) genetlink.Message {
	t.Helper()
	m, err := message(cmdNewService, func(ae *netlink.AttributeEncoder) {
		encodeService(ae, s, true)
	})
	if err != nil {
		t.Fatal(err)
	}
	// Append the stats the kernel adds inside the service nest.
	svc := attrMap(t, m.Data)[attrService]
	ae := netlink.NewAttributeEncoder()
	ae.Nested(svcStats64, func(nae *netlink.AttributeEncoder) error { encodeStats64(nae, st); return nil })
	extra, _ := ae.Encode()
	ae = netlink.NewAttributeEncoder()
	ae.Bytes(attrService|netlink.Nested, append(svc, extra...))
	m.Data, _ = ae.Encode()
	return m
}

// destMsg is what the kernel sends for one destination in a dump.
func destMsg(t *testing.T, d Destination, active uint32) genetlink.Message {
	t.Helper()
	m, err := message(cmdNewDest, func(ae *netlink.AttributeEncoder) {
		encodeDestination(ae, d, true)
	})
	if err != nil {
		t.Fatal(err)
	}
	dest := attrMap(t, m.Data)[attrDest]
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(destActiveConns, active)
	extra, _ := ae.Encode()
	ae = netlink.NewAttributeEncoder()
	ae.Bytes(attrDest|netlink.Nested, append(dest, extra...))
	m.Data, _ = ae.Encode()
	return m
}
