//go:build linux

package vrrpnet_test

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/vrrp"
)

// lbd and Debian's keepalived 2.2.7 form one VRRP group in either role:
// the higher priority becomes Master and holds the VIP, the other stays
// Backup without it; when the Master stops (priority 0) the other takes
// over. Variants marked binary run the lbd command (its YAML, its daemon)
// rather than the runtime in this process.
func TestIntegrationKeepalivedInterop(t *testing.T) {
	type variant struct {
		name     string
		version  vrrp.Version
		interval time.Duration
		auth     string
		unicast  bool
		ipv6     bool
		binary   bool
	}
	variants := []variant{
		{name: "v2-multicast-pass", version: vrrp.Version2, interval: time.Second, auth: "secret12"},
		{name: "v2-unicast", version: vrrp.Version2, interval: time.Second, unicast: true},
		{name: "v3-multicast", version: vrrp.Version3, interval: 100 * time.Millisecond},
		{name: "v3-unicast", version: vrrp.Version3, interval: 100 * time.Millisecond, unicast: true},
		{name: "v3-ipv6-multicast", version: vrrp.Version3, interval: 100 * time.Millisecond, ipv6: true},
		{name: "v3-ipv6-unicast", version: vrrp.Version3, interval: 100 * time.Millisecond, unicast: true, ipv6: true},
		{name: "v3-multicast-binary", version: vrrp.Version3, interval: 100 * time.Millisecond, binary: true},
		{name: "v2-unicast-pass-binary", version: vrrp.Version2, interval: time.Second, auth: "secret12", unicast: true, binary: true},
	}
	// Built before any clock starts: a build under the parallel subtests
	// would eat their settle time.
	lbdCommand(t)
	for _, v := range variants {
		for _, lbdMaster := range []bool{true, false} {
			role := "lbd-master"
			if !lbdMaster {
				role = "keepalived-master"
			}
			t.Run(v.name+"/"+role, func(t *testing.T) {
				t.Parallel()
				l := lab.New(t)
				lan := l.LAN("lan")
				nl := newNode(t, l, lan, "lbd", "192.0.2.1/24", "2001:db8::1/64")
				nk := newNode(t, l, lan, "ka", "192.0.2.2/24", "2001:db8::2/64")
				waitReady(t, nl, nk)

				high, low := uint8(200), uint8(100)
				lo := lbdOpts{version: v.version, vrid: 51, interval: v.interval, auth: v.auth, prio: low}
				ko := kaOpts{version: v.version, vrid: 51, interval: v.interval, auth: v.auth, prio: high, vip: "192.0.2.100/32"}
				if lbdMaster {
					lo.prio, ko.prio = high, low
				}
				vip := vip4
				if v.ipv6 {
					vip, ko.vip = vip6, "2001:db8::100/128"
					lo.vips = []netip.Addr{vip6} // primary: link-local, like keepalived
				} else {
					lo.primary = netip.MustParseAddr("192.0.2.1")
				}
				if v.unicast {
					// Global addresses on both sides (keepalived
					// unicast_src_ip), not link-local ones.
					self, peer := "192.0.2.1", "192.0.2.2"
					if v.ipv6 {
						self, peer = "2001:db8::1", "2001:db8::2"
					}
					lo.primary = netip.MustParseAddr(self)
					lo.peers = []netip.Addr{netip.MustParseAddr(peer)}
					ko.src, ko.peers = peer, []string{self}
				}
				ka := startKeepalived(t, nk, ko)
				lb := startLBDSide(t, nl, lo, v.binary)

				settle := 3*v.interval + time.Second + 3*time.Second
				if lbdMaster {
					eventually(t, settle, "lbd Master with the VIP, keepalived Backup without", func() bool {
						return lb.state() == vrrp.StateMaster && ka.state() == "BACKUP" &&
							nl.HasAddr(vip) && !nk.HasAddr(vip)
					})
					// Stable: no flapping over a few adverts.
					time.Sleep(min(3*v.interval, 1500*time.Millisecond))
					if lb.state() != vrrp.StateMaster || ka.state() != "BACKUP" || nk.HasAddr(vip) {
						t.Fatalf("not stable: lbd %v, keepalived %q", lb.state(), ka.state())
					}
					start := time.Now()
					lb.stop()
					eventually(t, 3*time.Second, "keepalived Master after lbd stopped", func() bool {
						return ka.state() == "MASTER" && nk.HasAddr(vip)
					})
					t.Logf("keepalived took over %v after lbd stopped (priority 0)", time.Since(start))
					if nl.HasAddr(vip) {
						t.Error("lbd kept the VIP after stopping")
					}
					if !ka.logged("Entering MASTER STATE") {
						t.Error("keepalived did not log Entering MASTER STATE")
					}
					return
				}
				eventually(t, settle, "keepalived Master with the VIP, lbd Backup without", func() bool {
					return ka.state() == "MASTER" && lb.state() == vrrp.StateBackup &&
						nk.HasAddr(vip) && !nl.HasAddr(vip)
				})
				changed := lb.lastChange()
				time.Sleep(min(3*v.interval, 1500*time.Millisecond))
				if lb.lastChange() != changed || ka.state() != "MASTER" {
					t.Fatalf("not stable: lbd %v, keepalived %q", lb.state(), ka.state())
				}
				if x, ok := lb.(*lbd); ok {
					if d := x.stats().Drops; sum(d) != 0 {
						t.Errorf("lbd dropped keepalived's adverts: %v", d)
					}
				}
				start := time.Now()
				ka.terminate()
				eventually(t, 3*time.Second, "lbd Master after keepalived stopped", func() bool {
					_, ok := lb.becameMaster(start)
					return ok && nl.HasAddr(vip)
				})
				at, _ := lb.becameMaster(start)
				t.Logf("lbd took over %v after SIGTERM to keepalived (Skew_Time %v)", at.Sub(start), vrrp.SkewTime(v.version, low, v.interval))
				if nk.HasAddr(vip) {
					t.Error("keepalived kept the VIP after stopping")
				}
			})
		}
	}
}

func sum(m map[vrrp.DropReason]uint64) uint64 {
	var s uint64
	for _, v := range m {
		s += v
	}
	return s
}

// use_vmac on both sides: lbd and keepalived 2.2.7, each with its macvlan
// vrrp.51, form one group in either role, and whichever is Master, an ARP
// request for the VIP is answered with the same virtual MAC (by the
// Master alone); after the Master stops, the other answers with it. The
// binary variant runs the lbd command with use_vmac in its YAML.
func TestIntegrationKeepalivedVMAC(t *testing.T) {
	mac := vrrp.VirtualMAC(51, false).String()
	lbdCommand(t)
	for _, v := range []struct {
		name              string
		lbdMaster, binary bool
	}{{"lbd-master", true, false}, {"keepalived-master", false, false}, {"lbd-binary-master", true, true}} {
		lbdMaster := v.lbdMaster
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			l := lab.New(t)
			lan := l.LAN("lan")
			nl := newNode(t, l, lan, "lbd", "192.0.2.1/24")
			nk := newNode(t, l, lan, "ka", "192.0.2.2/24")
			obs := newNode(t, l, lan, "observer", "192.0.2.9/24")
			waitReady(t, nl, nk, obs)
			iv := 100 * time.Millisecond
			lo := lbdOpts{version: vrrp.Version3, interval: iv, prio: 100, primary: netip.MustParseAddr("192.0.2.1"),
				vmac: &vrrp.VMAC{Name: "vrrp.51"}}
			ko := kaOpts{version: vrrp.Version3, vrid: 51, interval: iv, prio: 200, vip: "192.0.2.100/32", instance: "  use_vmac\n"}
			if lbdMaster {
				lo.prio, ko.prio = 200, 100
			}
			ka := startKeepalived(t, nk, ko)
			lb := startLBDSide(t, nl, lo, v.binary)
			master, backup := nl, nk
			if !lbdMaster {
				master, backup = nk, nl
			}
			eventually(t, 6*time.Second, master.Name+" Master with the VIP, "+backup.Name+" Backup without", func() bool {
				states := lb.state() == vrrp.StateMaster && ka.state() == "BACKUP"
				if !lbdMaster {
					states = lb.state() == vrrp.StateBackup && ka.state() == "MASTER"
				}
				return states && master.HasAddr(vip4) && !backup.HasAddr(vip4)
			})
			for _, n := range []*lab.Node{nl, nk} {
				checkMacvlan(t, n, "vrrp.51", vrrp.VirtualMAC(51, false))
			}
			if x, ok := lb.(*lbd); ok {
				if d := x.stats().Drops; sum(d) != 0 {
					t.Errorf("lbd dropped keepalived's adverts: %v", d)
				}
			}
			if got := arpAnswers(t, obs, vip4); !slices.Equal(got, []string{mac}) {
				t.Errorf("%s Master: ARP for %v answered by %v, want by %s alone", master.Name, vip4, got, mac)
			}
			start := time.Now()
			if lbdMaster {
				lb.stop()
			} else {
				ka.terminate()
			}
			eventually(t, 3*time.Second, backup.Name+" Master with the VIP after the Master stopped", func() bool {
				if lbdMaster {
					return ka.state() == "MASTER" && nk.HasAddr(vip4)
				}
				_, ok := lb.becameMaster(start)
				return ok && nl.HasAddr(vip4)
			})
			if got := arpAnswers(t, obs, vip4); !slices.Equal(got, []string{mac}) {
				t.Errorf("%s Master: ARP for %v answered by %v, want by %s alone", backup.Name, vip4, got, mac)
			}
			if linkExists(master, "vrrp.51") {
				t.Errorf("%s kept its macvlan after stopping", master.Name)
			}
		})
	}
}
