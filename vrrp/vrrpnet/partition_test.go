//go:build linux

package vrrpnet_test

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/vrrp"
	"github.com/vishvananda/netlink"
)

// Two lbd instances whose VRRP traffic is cut while both links stay up
// become Master together (split brain), and a client on the LAN follows
// the second one's gratuitous ARP. Once the partition heals, exactly one
// stays Master within a bounded time: the higher priority, or with equal
// priorities the higher primary address (RFC 5798 section 6.4.3); the
// other drops the VIP, and the winner answers the other's advert with a
// burst of gratuitous ARP that moves the client back to its MAC.
func TestIntegrationPartitionHeals(t *testing.T) {
	t.Parallel()
	lab.RequireCommand(t, "nft")
	cases := []struct {
		name              string
		winPrio, losePrio uint8
		winAddr, loseAddr string
		cause             vrrp.Cause // why the loser yields after the heal
	}{
		// The winner has the lower address: priority decides.
		{name: "priority", winPrio: 200, losePrio: 100, winAddr: "192.0.2.1", loseAddr: "192.0.2.2", cause: vrrp.CauseHigherPriority},
		{name: "equal-priority-tie-break", winPrio: 100, losePrio: 100, winAddr: "192.0.2.2", loseAddr: "192.0.2.1", cause: vrrp.CauseTieBreak},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			l := lab.New(t)
			lan := l.LAN("lan")
			nw := newNode(t, l, lan, "winner", c.winAddr+"/24")
			nl := newNode(t, l, lan, "loser", c.loseAddr+"/24")
			client := newNode(t, l, lan, "client", "192.0.2.9/24")
			waitReady(t, nw, nl, client)
			winAddr, loseAddr := netip.MustParseAddr(c.winAddr), netip.MustParseAddr(c.loseAddr)
			macW, macL := hwAddr(t, nw), hwAddr(t, nl)
			const iv = 100 * time.Millisecond
			// One burst of 3 on each event, no second burst and no
			// refresh: every announcement seen comes from a transition
			// or from the split-brain guard.
			garp := vrrp.GARPConfig{Delay: -1, Repeat: 3, Refresh: -1}

			// The winner first, so that with equal priorities the
			// loser starts as Backup and accepts it.
			win := startLBD(t, nw, lbdOpts{prio: c.winPrio, primary: winAddr, garp: garp})
			eventually(t, 2*time.Second, "winner Master with the VIP", func() bool {
				return win.state() == vrrp.StateMaster && nw.HasAddr(vip4)
			})
			lose := startLBD(t, nl, lbdOpts{prio: c.losePrio, primary: loseAddr, garp: garp})
			eventually(t, 3*time.Second, "winner Master, loser Backup without the VIP", func() bool {
				return win.state() == vrrp.StateMaster && lose.state() == vrrp.StateBackup &&
					nw.HasAddr(vip4) && !nl.HasAddr(vip4)
			})

			// The client talks to the VIP and learns the winner's MAC.
			if conn, err := client.Dial("tcp", netip.AddrPortFrom(vip4, 9).String(), time.Second); err == nil {
				conn.Close()
			} else if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("client: dial VIP: %v", err)
			}
			if got := neighMAC(t, client, vip4); got != macW {
				t.Fatalf("client's neighbour entry for %v is %q, want the winner's %s", vip4, got, macW)
			}

			// Partition: each drops the other's VRRP; links, ARP and
			// the client's view of both stay up.
			cut := time.Now()
			nw.DropVRRPFrom(loseAddr)
			nl.DropVRRPFrom(winAddr)
			eventually(t, 2*time.Second, "split brain: both Master with the VIP", func() bool {
				_, ok := lose.entered(vrrp.StateMaster, cut)
				return ok && win.state() == vrrp.StateMaster && nw.HasAddr(vip4) && nl.HasAddr(vip4)
			})
			at, _ := lose.entered(vrrp.StateMaster, cut)
			t.Logf("split brain %v after the partition (Master_Down_Interval %v)", at.Sub(cut), vrrp.MasterDownInterval(vrrp.Version3, c.losePrio, iv))
			eventually(t, 2*time.Second, "client follows the loser's gratuitous ARP", func() bool { return neighMAC(t, client, vip4) == macL })
			// Stable for a few adverts: nobody hears the other.
			nw0 := win.transitions()
			time.Sleep(3 * iv)
			if win.state() != vrrp.StateMaster || lose.state() != vrrp.StateMaster || win.transitions() != nw0 {
				t.Fatalf("split brain not stable: winner %v, loser %v", win.state(), lose.state())
			}

			// Heal, with a capture on the client running.
			capt := listenCapture(t, client)
			garpW, garpL := win.stats().GARPBursts, lose.stats().GARPBursts
			healed := time.Now() // before: the loser may yield before nft exits
			nw.HealPartition()
			nl.HealPartition()
			// The state is stored before the notification is recorded:
			// wait for the notification.
			eventually(t, 2*time.Second, "one Master after the heal", func() bool {
				_, ok := lose.entered(vrrp.StateBackup, healed)
				return ok && win.state() == vrrp.StateMaster && lose.state() == vrrp.StateBackup &&
					nw.HasAddr(vip4) && !nl.HasAddr(vip4)
			})
			back, tr, _ := lose.enteredWith(vrrp.StateBackup, healed)
			t.Logf("loser Backup %v after the heal (%s, peer %v priority %d)", back.Sub(healed), tr.Cause, tr.Peer, tr.PeerPriority)
			// Issue #9's bound: a healed partition leaves the VIP on two
			// routers for at most one master-down interval.
			if mdi := vrrp.MasterDownInterval(vrrp.Version3, c.losePrio, iv); back.Sub(healed) > mdi {
				t.Errorf("loser yielded %v after the heal, later than one master-down interval (%v)", back.Sub(healed), mdi)
			}
			if tr.Cause != c.cause || tr.Peer != winAddr {
				t.Errorf("loser yielded to %v for %q; want %v for %q", tr.Peer, tr.Cause, winAddr, c.cause)
			}
			if _, ok := win.entered(vrrp.StateBackup, cut); ok {
				t.Error("winner went Backup")
			}
			eventually(t, 2*time.Second, "client back on the winner's MAC", func() bool { return neighMAC(t, client, vip4) == macW })
			t.Logf("client on the winner's MAC %v after the heal", time.Since(healed))
			eventually(t, time.Second, "winner re-announced the VIP", func() bool {
				return win.stats().GARPBursts > garpW
			})

			// The capture has buffered every frame since before the heal.
			g, _, senders := announcements(t, capt, time.Now().Add(300*time.Millisecond), vip4, netip.Addr{})
			if g < garp.Repeat || len(senders) != 1 || !senders[macW] {
				t.Errorf("after the heal the client saw %d gratuitous ARP from %v; want at least %d, only from the winner %s", g, senders, garp.Repeat, macW)
			}
			if d := lose.stats().GARPBursts - garpL; d != 0 {
				t.Errorf("loser sent %d announcement bursts after the heal; want none", d)
			}

			// Settled: no flapping over a few adverts.
			nw0, nl0 := win.transitions(), lose.transitions()
			time.Sleep(3 * iv)
			if win.state() != vrrp.StateMaster || lose.state() != vrrp.StateBackup ||
				win.transitions() != nw0 || lose.transitions() != nl0 || nl.HasAddr(vip4) {
				t.Errorf("not stable after the heal: winner %v, loser %v", win.state(), lose.state())
			}
		})
	}
}

// entered returns when the instance last entered state s at or after
// after, if it did.
func (x *lbd) entered(s vrrp.State, after time.Time) (time.Time, bool) {
	at, _, ok := x.enteredWith(s, after)
	return at, ok
}

// enteredWith is entered that also returns the transition.
func (x *lbd) enteredWith(s vrrp.State, after time.Time) (time.Time, vrrp.Transition, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for i := len(x.notes) - 1; i >= 0; i-- {
		n := x.notes[i]
		if n.Time.Before(after) {
			break
		}
		if n.Transition.To == s {
			return n.Time, n.Transition, true
		}
	}
	return time.Time{}, vrrp.Transition{}, false
}

// hwAddr returns the MAC address of eth0 in n.
func hwAddr(t *testing.T, n *lab.Node) string {
	t.Helper()
	var mac string
	err := n.Do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err == nil {
			mac = ifi.HardwareAddr.String()
		}
		return err
	})
	if err != nil {
		t.Fatalf("%s: %v", n.Name, err)
	}
	return mac
}

// neighMAC returns the MAC address n's neighbour table holds for ip (read
// with netlink inside the node), or "" without a usable entry.
func neighMAC(t *testing.T, n *lab.Node, ip netip.Addr) string {
	t.Helper()
	var mac string
	err := n.Do(func() error {
		neighs, err := netlink.NeighList(0, netlink.FAMILY_V4)
		if err != nil {
			return err
		}
		for _, nb := range neighs {
			a, ok := netip.AddrFromSlice(nb.IP)
			if ok && a.Unmap() == ip && nb.State&(netlink.NUD_INCOMPLETE|netlink.NUD_FAILED) == 0 {
				mac = nb.HardwareAddr.String()
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s: neighbours: %v", n.Name, err)
	}
	return mac
}
