package healthcheck

import (
	"net/netip"
	"sync"
	"testing"
	"time"
)

func TestICMPChecker(t *testing.T) {
	p := NewPinger()
	defer p.Close()
	// Many concurrent pings to both loopbacks share the two sockets and must
	// each get their own reply.
	var wg sync.WaitGroup
	errs := make(chan string, 40)
	for i := range 40 {
		addr := netip.MustParseAddr("127.0.0.1")
		if i%2 == 1 {
			addr = netip.IPv6Loopback()
		}
		wg.Go(func() {
			r := (&ICMPChecker{Pinger: p, Addr: addr}).Check(ctxTimeout(t, 2*time.Second))
			if !r.OK {
				errs <- addr.String() + ": " + r.Reason
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		if e != "" {
			t.Skipf("ICMP unavailable here (needs ping_group_range or CAP_NET_RAW): %s", e)
		}
	}
}
