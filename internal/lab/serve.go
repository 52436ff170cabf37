package lab

import (
	"net"
	"sync"
	"testing"
)

// Serve runs handle for each connection ln accepts, each in a goroutine of
// its own, closing the connection when handle returns. A nil handle holds
// connections open without answering, for a peer that hangs. At tb's
// cleanup Serve closes ln and every connection still open and waits for
// the handlers, so none outlives the test.
func Serve(tb testing.TB, ln net.Listener, handle func(net.Conn)) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			if handle != nil {
				wg.Go(func() { defer c.Close(); handle(c) })
			}
		}
	})
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
}
