package vrrpnet

import (
	"context"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

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
