//go:build linux

package vrrpnet_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/lbd-project/lbd/healthcheck"
	"github.com/lbd-project/lbd/vrrp/vrrpnet"
)

// Fast takeover probes through the daemon's PING_CHECK prober when the
// Host is given it, so lbd_icmp_spoofed_replies_total counts forged
// replies to both; closing the runner's prober leaves the shared one
// working for the health checks.
func TestHostSharesPinger(t *testing.T) {
	shared := healthcheck.NewPinger()
	defer shared.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	lo := netip.MustParseAddr("127.0.0.1")
	if _, err := shared.Ping(ctx, lo); err != nil {
		t.Skipf("ICMP unavailable here (needs ping_group_range or CAP_NET_RAW): %v", err)
	}
	p, err := vrrpnet.Host{Pinger: shared}.OpenPinger()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Ping(ctx, lo); err != nil {
		t.Fatalf("ping through the shared prober: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := shared.Ping(ctx, lo); err != nil {
		t.Errorf("the runner closed the daemon's prober: %v", err)
	}

	own, err := vrrpnet.Host{}.OpenPinger()
	if err != nil {
		t.Fatal(err)
	}
	if err := own.Ping(ctx, lo); err != nil {
		t.Errorf("ping through a prober of its own: %v", err)
	}
	own.Close()
}
