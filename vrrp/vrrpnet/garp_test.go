//go:build linux

package vrrpnet_test

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/vrrp"
)

// The gratuitous ARPs a new Master sends, counted on the wire: a burst of
// garp_master_repeat at once, another garp_master_delay later, then
// garp_master_refresh_repeat every garp_master_refresh, and with
// garp_interval each message that long after the one before. lbd and
// keepalived 2.2.7 given the same settings send the same bursts, except
// that keepalived, once garp_interval paces them, sends two per burst
// (one at once, one garp_interval later) whatever garp_master_repeat
// says; lbd sends the count configured. gna_interval paces unsolicited
// neighbour advertisements the same way.
func TestIntegrationGARPTiming(t *testing.T) {
	const (
		delay, refresh = time.Second, 2 * time.Second
		repeat, refRep = 3, 2
		gap            = 50 * time.Millisecond
		window         = 2600 * time.Millisecond // the bursts at 0, 1s and 2s
	)
	for _, v := range []struct {
		impl      string
		paced, v6 bool
		want      []int
	}{
		{"lbd", false, false, []int{repeat, repeat, refRep}},
		{"lbd", true, false, []int{repeat, repeat, refRep}},
		{"lbd", true, true, []int{repeat, repeat, refRep}},
		{"keepalived", false, false, []int{repeat, repeat, refRep}},
		{"keepalived", true, false, []int{2, 2, 2}},
	} {
		name := v.impl
		switch {
		case v.v6:
			name += "/gna_interval"
		case v.paced:
			name += "/garp_interval"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := lab.New(t)
			lan := l.LAN("lan")
			nm := newNode(t, l, lan, "m", "192.0.2.1/24", "2001:db8::1/64")
			obs := newNode(t, l, lan, "observer", "192.0.2.9/24", "2001:db8::9/64")
			waitReady(t, nm, obs)
			capt := listenCapture(t, obs)
			switch {
			case v.impl == "lbd":
				g := vrrp.GARPConfig{Delay: delay, Repeat: repeat, Refresh: refresh, RefreshRepeat: refRep}
				o := lbdOpts{prio: 200, primary: netip.MustParseAddr("192.0.2.1"), garp: g}
				switch {
				case v.v6:
					o.garp.NAInterval = gap
					o.primary, o.vips = netip.Addr{}, []netip.Addr{vip6} // link-local, like keepalived
				case v.paced:
					o.garp.Interval = gap
				}
				startLBD(t, nm, o)
			default:
				o := kaOpts{version: vrrp.Version3, vrid: 51, interval: 100 * time.Millisecond, prio: 200, vip: "192.0.2.100/32",
					instance: fmt.Sprintf("  garp_master_delay %g\n  garp_master_repeat %d\n  garp_master_refresh %g\n  garp_master_refresh_repeat %d\n",
						delay.Seconds(), repeat, refresh.Seconds(), refRep)}
				if v.paced {
					o.top = fmt.Sprintf("garp_group {\n  garp_interval %g\n  interface eth0\n}\n", gap.Seconds())
				}
				startKeepalived(t, nm, o)
			}
			times, nas, _ := announceTimes(t, capt, time.Now().Add(5*time.Second+window), vip4, vip6)
			if v.v6 {
				times = nas
			}
			if len(times) == 0 {
				t.Fatal("no gratuitous ARP / NA")
			}
			times = slices.DeleteFunc(times, func(at time.Time) bool { return at.Sub(times[0]) > window })
			var bursts []int
			var offsets []string
			for i, at := range times {
				offsets = append(offsets, at.Sub(times[0]).Round(time.Millisecond).String())
				if i == 0 || at.Sub(times[i-1]) > 300*time.Millisecond {
					bursts = append(bursts, 1)
					continue
				}
				bursts[len(bursts)-1]++
				if v.paced && at.Sub(times[i-1]) < gap*8/10 {
					t.Errorf("gratuitous ARP %d came %v after the one before, under garp_interval %v", i, at.Sub(times[i-1]), gap)
				}
			}
			t.Logf("gratuitous ARPs at %v", offsets)
			if !slices.Equal(bursts, v.want) {
				t.Errorf("bursts of %v gratuitous ARPs in the first %v, want %v", bursts, window, v.want)
			}
		})
	}
}
