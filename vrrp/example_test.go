package vrrp_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/lbd-project/lbd/vrrp"
)

// The owner loop feeds events with the current time and carries out the
// actions; here the clock is fake and the actions are printed.
func ExampleInstance() {
	inst, err := vrrp.NewInstance(vrrp.Config{
		Name: "VI_1", Version: vrrp.Version3, VRID: 51, Priority: 100,
		AdvertInterval: time.Second,
		Primary:        netip.MustParseAddr("192.0.2.1"),
		VIPs:           []netip.Addr{netip.MustParseAddr("192.0.2.100")},
	})
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	show := func(acts []vrrp.Action) {
		for _, a := range acts {
			switch a := a.(type) {
			case vrrp.SetTimer:
				fmt.Printf("timer in %v\n", a.After)
			case vrrp.Transition:
				fmt.Println(a)
			default:
				fmt.Printf("%T %v\n", a, a)
			}
		}
	}
	show(inst.Handle(now, vrrp.Startup{}))
	// No Master speaks up: the timer fires.
	show(inst.Handle(inst.Deadline(), vrrp.TimerFired{}))
	// Output:
	// vrrp.RemoveVIPs {[192.0.2.100]}
	// timer in 3.609375s
	// INIT -> BACKUP: startup
	// vrrp.SendAdvert {100}
	// vrrp.AddVIPs {[192.0.2.100]}
	// vrrp.SendGARP {[192.0.2.100]}
	// timer in 1s
	// BACKUP -> MASTER: master down timer expired
}

// Receive checks and decodes one packet; the reason labels a drop counter.
func ExampleCheckConfig_Receive() {
	src, dst := netip.MustParseAddr("192.0.2.2"), vrrp.MulticastIPv4
	a := vrrp.Advert{Version: vrrp.Version3, VRID: 51, Priority: 150, Interval: time.Second,
		Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}
	msg, _ := a.Marshal(src, dst)

	cfg := vrrp.CheckConfig{Version: vrrp.Version3, VRID: 51, Interval: time.Second, Addrs: a.Addrs}
	got, v := cfg.Receive(msg, src, dst, 255)
	fmt.Println(v.OK(), got.Priority)
	_, v = cfg.Receive(msg, src, dst, 64) // routed: TTL decremented
	fmt.Println(v.Drop)
	msg[2]++ // corrupt the priority
	_, v = cfg.Receive(msg, src, dst, 255)
	fmt.Println(v.Drop)
	// Output:
	// true 150
	// ttl
	// checksum
}
