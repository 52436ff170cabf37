package healthcheck

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// udpServer answers each datagram with reply(datagram) (nil: no answer)
// on a loopback port until the test ends.
func udpServer(t *testing.T, reply func([]byte) []byte) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("listen udp: %v", err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if r := reply(buf[:n]); r != nil {
				pc.WriteTo(r, from)
			}
		}
	})
	t.Cleanup(func() { pc.Close(); wg.Wait() })
	return netip.MustParseAddrPort(pc.LocalAddr().String())
}

// closedUDPPort returns a loopback UDP port with nothing listening.
func closedUDPPort(t *testing.T) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("listen udp: %v", err)
	}
	ap := netip.MustParseAddrPort(pc.LocalAddr().String())
	pc.Close()
	return ap
}

func TestUDPChecker(t *testing.T) {
	echo := udpServer(t, func(b []byte) []byte { return bytes.Clone(b) })
	silent := udpServer(t, func([]byte) []byte { return nil })
	long := udpServer(t, func([]byte) []byte { return bytes.Repeat([]byte{'z'}, 300) })
	closed := closedUDPPort(t)
	reply, mask, err := ParseHex("70 69 6x", true) // "pi" then 0x6?
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		c      UDPChecker
		ok     bool
		reason string
	}{
		{"echo, no reply needed", UDPChecker{Dest: Dest{Addr: echo}, Payload: []byte("ping")}, true, "reply of 4 bytes"},
		{"silence passes without require_reply", UDPChecker{Dest: Dest{Addr: silent}, Payload: []byte("x")}, true, "no reply and no ICMP error"},
		{"closed port fails", UDPChecker{Dest: Dest{Addr: closed}, Payload: []byte("x")}, false, "port unreachable"},
		{"closed port fails with require_reply", UDPChecker{Dest: Dest{Addr: closed}, RequireReply: true}, false, "port unreachable"},
		{"silence fails with require_reply", UDPChecker{Dest: Dest{Addr: silent}, RequireReply: true}, false, "no reply: timeout"},
		{"reply matches with wildcard", UDPChecker{Dest: Dest{Addr: echo}, Payload: []byte("ping"), RequireReply: true, Reply: reply, ReplyMask: mask}, true, "reply of 4 bytes"},
		{"reply mismatch", UDPChecker{Dest: Dest{Addr: echo}, Payload: []byte("pong"), RequireReply: true, Reply: reply, ReplyMask: mask}, false, "reply mismatch at byte 1"},
		{"too short", UDPChecker{Dest: Dest{Addr: echo}, Payload: []byte("ab"), RequireReply: true, MinReplyLength: 3}, false, "shorter than 3"},
		{"too long by default", UDPChecker{Dest: Dest{Addr: long}, RequireReply: true}, false, "longer than 255"},
		{"long allowed", UDPChecker{Dest: Dest{Addr: long}, RequireReply: true, MaxReplyLength: 300}, true, "reply of 300 bytes"},
		{"connect_port override", UDPChecker{Dest: Dest{Addr: closed, ConnectPort: echo.Port()}, Payload: []byte("p"), RequireReply: true}, true, "reply of 1 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := tt.c.Check(ctxTimeout(t, 300*time.Millisecond))
			if res.OK != tt.ok || !strings.Contains(res.Reason, tt.reason) {
				t.Errorf("got ok=%v %q, want ok=%v %q", res.OK, res.Reason, tt.ok, tt.reason)
			}
			if res.Latency > 2*time.Second {
				t.Errorf("latency %v beyond the deadline", res.Latency)
			}
		})
	}
}

func TestParseHex(t *testing.T) {
	tests := []struct {
		in         string
		wild       bool
		data, mask []byte
		err        bool
	}{
		{in: "0a0B ff", data: []byte{0x0a, 0x0b, 0xff}},
		{in: "1 23 4", data: []byte{0x01, 0x23, 0x04}},
		{in: "\t12\t", data: []byte{0x12}},
		{in: "1x X2", wild: true, data: []byte{0x10, 0x02}, mask: []byte{0x0f, 0xf0}},
		{in: "1x", err: true},
		{in: "zz", err: true},
		{in: "  ", err: true},
		{in: "", err: true},
	}
	for _, tt := range tests {
		d, m, err := ParseHex(tt.in, tt.wild)
		if (err != nil) != tt.err || !bytes.Equal(d, tt.data) || !bytes.Equal(m, tt.mask) {
			t.Errorf("ParseHex(%q, %v) = %x, %x, %v; want %x, %x, err=%v", tt.in, tt.wild, d, m, err, tt.data, tt.mask, tt.err)
		}
	}
}
