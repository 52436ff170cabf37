package healthcheck

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
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

func TestPingerRepliesFromTargetOnly(t *testing.T) {
	p := NewPinger()
	target := netip.MustParseAddr("192.0.2.7")
	s := &pingSocket{raw: true}
	key := pingKey{seq: 7}
	reply := make(chan struct{}, 1)
	p.pending[key] = pendingPing{target: target, reply: reply}
	b, err := (&icmp.Message{Type: ipv4.ICMPTypeEchoReply,
		Body: &icmp.Echo{ID: int(p.id), Seq: int(key.seq), Data: []byte("lbd-healthcheck")}}).Marshal(nil)
	if err != nil {
		t.Fatal(err)
	}

	// Right identifier and sequence number, another host: a forged reply.
	p.deliver(s, false, &net.IPAddr{IP: net.ParseIP("198.51.100.66")}, b)
	select {
	case <-reply:
		t.Fatal("a reply from another host completed the ping")
	default:
	}
	if n := p.SpoofedReplies(); n != 1 {
		t.Errorf("SpoofedReplies = %d, want 1", n)
	}

	// Ping sockets report the source as a UDP address.
	p.deliver(s, false, &net.UDPAddr{IP: target.AsSlice()}, b)
	select {
	case <-reply:
	default:
		t.Fatal("the target's reply did not complete the ping")
	}
	if n := p.SpoofedReplies(); n != 1 {
		t.Errorf("SpoofedReplies = %d after the real reply, want 1", n)
	}
}

func TestPingerIdentifiersRandom(t *testing.T) {
	// A predictable identifier or first sequence number lets another host
	// forge replies ahead of time; two Pingers must differ in at least one.
	a, b := NewPinger(), NewPinger()
	if a.id == b.id && a.seq == b.seq {
		t.Errorf("two Pingers share identifier %d and first sequence number %d", a.id, a.seq)
	}
}
