package lab

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("listen: %v", err)
	}
	Serve(t, ln, func(c net.Conn) { c.Write([]byte("hi")) })
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	// The handler's return closes the connection: ReadAll ends.
	if b, err := io.ReadAll(c); string(b) != "hi" || err != nil {
		t.Errorf("read %q, %v", b, err)
	}
}

func TestUnderLoad(t *testing.T) {
	var down atomic.Bool
	failing := errors.New("down")
	req := func() error {
		if down.Load() {
			return failing
		}
		return nil
	}
	r := UnderLoad([]func() error{req}, func() {
		down.Store(true)
		time.Sleep(100 * time.Millisecond)
		down.Store(false)
	})
	if r.Sent == 0 || r.Failed == 0 || r.Failed >= r.Sent || r.LastErr != failing {
		t.Errorf("%+v: want some of the requests failed", r)
	}
	if r.LongestGap < 100*time.Millisecond || r.Why() == "" {
		t.Errorf("longest gap %v, why %q: want the outage", r.LongestGap, r.Why())
	}
}
