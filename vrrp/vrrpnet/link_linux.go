package vrrpnet

import (
	"context"
	"fmt"
	"net"

	"github.com/lbd-project/lbd/vrrp"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// FaultLinkDown is the fault source that [WatchLink] callers pass to
// vrrp.Fault and vrrp.Recover.
const FaultLinkDown = "link down"

// WatchLink calls fn with whether ifname is up (administratively up and
// operationally up or unknown): once at once, then on every change, until
// ctx ends. The netlink socket is opened in the network namespace of the
// calling thread; fn runs on a goroutine of its own, in order.
func WatchLink(ctx context.Context, ifname string, fn func(up bool)) error {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("vrrpnet: watch %s: %w", ifname, err)
	}
	defer h.Close()
	updates := make(chan netlink.LinkUpdate, 16)
	done := make(chan struct{})
	if err := netlink.LinkSubscribeWithOptions(updates, done, netlink.LinkSubscribeOptions{}); err != nil {
		return fmt.Errorf("vrrpnet: watch %s: %w", ifname, err)
	}
	l, err := h.LinkByName(ifname)
	if err != nil {
		close(done)
		return fmt.Errorf("vrrpnet: watch %s: %w", ifname, err)
	}
	idx, last := l.Attrs().Index, linkUp(l)
	go func() {
		defer close(done)
		fn(last)
		for {
			select {
			case <-ctx.Done():
				return
			case u, ok := <-updates:
				if !ok {
					return
				}
				if u.Link == nil || u.Link.Attrs().Index != idx {
					continue
				}
				up := linkUp(u.Link) && u.Header.Type != unix.RTM_DELLINK
				if up != last {
					last = up
					fn(up)
				}
			}
		}
	}()
	return nil
}

func linkUp(l netlink.Link) bool {
	a := l.Attrs()
	return a.Flags&net.FlagUp != 0 && (a.OperState == netlink.OperUp || a.OperState == netlink.OperUnknown)
}

// FaultOnLinkDown puts the runner's instance in Fault while ifname is down
// (keepalived's behaviour for the instance interface). Call it in the
// runner's namespace; it stops when ctx ends.
func FaultOnLinkDown(ctx context.Context, r *vrrp.Runner, ifname string) error {
	return WatchLink(ctx, ifname, func(up bool) {
		var ev vrrp.Event = vrrp.Recover{Source: FaultLinkDown}
		if !up {
			ev = vrrp.Fault{Source: FaultLinkDown}
		}
		_ = r.Deliver(ctx, ev)
	})
}
