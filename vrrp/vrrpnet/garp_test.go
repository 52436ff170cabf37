//go:build linux

package vrrpnet_test

import (
	"fmt"
	"net/netip"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/vrrp"
	"github.com/lbd-project/lbd/vrrp/vrrpnet"
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
		global    bool // keepalived paced by global_defs' vrrp_garp_interval, not a garp_group
		want      []int
	}{
		{"lbd", false, false, false, []int{repeat, repeat, refRep}},
		{"lbd", true, false, false, []int{repeat, repeat, refRep}},
		{"lbd", true, true, false, []int{repeat, repeat, refRep}},
		{"keepalived", false, false, false, []int{repeat, repeat, refRep}},
		{"keepalived", true, false, false, []int{2, 2, 2}},
		{"keepalived", true, false, true, []int{2, 2, 2}},
	} {
		name := v.impl
		switch {
		case v.v6:
			name += "/gna_interval"
		case v.global:
			name += "/vrrp_garp_interval"
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
				switch {
				case v.global:
					o.global = fmt.Sprintf("  vrrp_garp_interval %g\n", gap.Seconds())
				case v.paced:
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

// A Master that hands over watches for the new Master's announcements on
// the wire: the watch hears another host's gratuitous ARP and unsolicited
// NA for the addresses watched, not its own nor those for other
// addresses, works when called from a thread of another namespace (the
// test's own, as a runner may be), and hears nothing once stopped; the
// next watch does not hear what the last one left unread.
func TestIntegrationWatchAnnouncements(t *testing.T) {
	t.Parallel()
	l := lab.New(t)
	lan := l.LAN("lan")
	nOld := newNode(t, l, lan, "old", "192.0.2.1/24", "2001:db8::1/64")
	nNew := newNode(t, l, lan, "new", "192.0.2.2/24", "2001:db8::2/64")
	waitReady(t, nOld, nNew)
	announcer := func(n *lab.Node) *vrrpnet.Announcer {
		var a *vrrpnet.Announcer
		if err := n.Do(func() (err error) { a, err = vrrpnet.NewAnnouncer("eth0"); return err }); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		return a
	}
	old, neu := announcer(nOld), announcer(nNew)
	var heard atomic.Int32
	stop, err := old.Watch([]netip.Addr{vip4, vip6}, func() { heard.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Watch([]netip.Addr{vip4}, func() {}); err == nil {
		t.Error("a second watch at once was allowed")
	}
	quiet := func(what string) {
		t.Helper()
		before := heard.Load()
		time.Sleep(200 * time.Millisecond)
		if n := heard.Load(); n != before {
			t.Errorf("%s: heard %d announcements, want none", what, n-before)
		}
	}
	announce := func(a *vrrpnet.Announcer, ip netip.Addr) {
		t.Helper()
		if err := a.Announce([]netip.Addr{ip}); err != nil {
			t.Fatal(err)
		}
	}
	announce(old, vip4)
	announce(old, vip6)
	quiet("our own announcements")
	announce(neu, netip.MustParseAddr("192.0.2.101"))
	quiet("another address")
	announce(neu, vip4)
	eventually(t, time.Second, "the new master's gratuitous ARP heard", func() bool { return heard.Load() == 1 })
	announce(neu, vip6)
	eventually(t, time.Second, "the new master's neighbour advertisement heard", func() bool { return heard.Load() == 2 })
	stop()
	announce(neu, vip4)
	quiet("after stop")

	// Frames still queued when a watch stops do not reach the next one:
	// the first watch's reader is held in heard while two more arrive.
	block := make(chan struct{})
	stop, err = old.Watch([]netip.Addr{vip4}, func() { <-block })
	if err != nil {
		t.Fatalf("watch after a stop: %v", err)
	}
	for range 3 {
		announce(neu, vip4)
	}
	time.Sleep(100 * time.Millisecond)
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	time.Sleep(20 * time.Millisecond)
	close(block)
	<-stopped
	base := heard.Load()
	stop, err = old.Watch([]netip.Addr{vip4}, func() { heard.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	time.Sleep(200 * time.Millisecond)
	if n := heard.Load() - base; n != 0 {
		t.Errorf("a new watch heard %d frames queued for the last one", n)
	}
	announce(neu, vip4)
	eventually(t, time.Second, "the new watch hears", func() bool { return heard.Load() == base+1 })
}
