//go:build linux

package vrrpnet_test

import (
	"bytes"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/vrrp"
	"github.com/lbd-project/lbd/vrrp/vrrpnet"
	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// use_vmac: two lbd routers, each with its macvlan vrrp.51 (MAC
// 00:00:5e:00:01:33, private mode, on eth0). The Master's adverts and
// gratuitous ARPs leave with the virtual MAC, and an ARP request for the
// VIP is answered with it, by the macvlan alone (eth0 answers nothing for
// it); after a failover the answer is the same MAC, from the other router.
// The routers' all.rp_filter of 1 (strict, which would make the Backup's
// address-less macvlan drop the Master's adverts) is set to 0 while their
// macvlans run, with eth0 and default raised to 1 so that they filter as
// before, and restored at stop, when lbd deletes the macvlan it created;
// no macvlan sends an IGMP report (from the virtual MAC) meanwhile.
func TestIntegrationVMAC(t *testing.T) {
	t.Parallel()
	l := lab.New(t)
	lan := l.LAN("lan")
	n1 := newNode(t, l, lan, "lb1", "192.0.2.1/24")
	n2 := newNode(t, l, lan, "lb2", "192.0.2.2/24")
	obs := newNode(t, l, lan, "observer", "192.0.2.9/24")
	waitReady(t, n1, n2, obs)
	for _, n := range []*lab.Node{n1, n2} {
		n.Sysctl("net.ipv4.conf.all.rp_filter", "1")
		n.Sysctl("net.ipv4.conf.default.rp_filter", "0")
		n.Sysctl("net.ipv4.conf.eth0.rp_filter", "0")
	}
	capt := listenCapture(t, obs)

	vmac := &vrrp.VMAC{Name: "vrrp.51"}
	mac := vrrp.VirtualMAC(51, false)
	o1 := lbdOpts{prio: 200, primary: netip.MustParseAddr("192.0.2.1"), vmac: vmac}
	o2 := lbdOpts{prio: 100, primary: netip.MustParseAddr("192.0.2.2"), vmac: vmac}
	lb1, lb2 := startLBD(t, n1, o1), startLBD(t, n2, o2)
	eventually(t, 3*time.Second, "lb1 Master with the VIP, lb2 Backup without", func() bool {
		return lb1.state() == vrrp.StateMaster && lb2.state() == vrrp.StateBackup && n1.HasAddr(vip4) && !n2.HasAddr(vip4)
	})
	// Stable: the Backup hears the Master's adverts on its macvlan.
	t2 := lb2.transitions()
	time.Sleep(600 * time.Millisecond)
	if lb1.state() != vrrp.StateMaster || lb2.state() != vrrp.StateBackup || lb2.transitions() != t2 {
		t.Fatalf("not stable: lb1 %v, lb2 %v (%d transitions, was %d)", lb1.state(), lb2.state(), lb2.transitions(), t2)
	}
	for _, n := range []*lab.Node{n1, n2} {
		checkMacvlan(t, n, "vrrp.51", mac)
	}
	if got := vipDevs(t, n1, vip4); !slices.Equal(got, []string{"vrrp.51"}) {
		t.Errorf("lb1 has %v on %v, want on vrrp.51 only", vip4, got)
	}
	for key, want := range map[string]string{"all.rp_filter": "0", "default.rp_filter": "1", "eth0.rp_filter": "1",
		"vrrp.51.rp_filter": "0", "vrrp.51.arp_ignore": "1", "eth0.arp_ignore": "1", "eth0.arp_filter": "1",
		"igmp_link_local_mcast_reports": "0"} {
		if got := ipv4Conf(t, n1, key); got != want {
			t.Errorf("lb1 net.ipv4 %s = %s, want %s", key, got, want)
		}
	}
	if d := lb2.stats().Drops; sum(d) != 0 {
		t.Errorf("lb2 dropped adverts: %v", d)
	}

	// Everything since before the start: no IGMP report from either
	// macvlan, which would pull the virtual MAC to the Backup.
	srcs, reports, _ := wireFrom(t, capt, time.Now().Add(500*time.Millisecond))
	if len(srcs) != 1 || srcs[mac.String()] == 0 {
		t.Errorf("adverts on the wire from %v, want from %s only", srcs, mac)
	}
	if reports[mac.String()] != 0 {
		t.Errorf("%d IGMP reports from %s on the wire", reports[mac.String()], mac)
	}
	if got := arpAnswers(t, obs, vip4); !slices.Equal(got, []string{mac.String()}) {
		t.Errorf("ARP for %v answered by %v, want by %s alone", vip4, got, mac)
	}

	start := time.Now()
	lb1.stop()
	eventually(t, 2*time.Second, "lb2 Master with the VIP after lb1 stopped", func() bool {
		_, ok := lb2.becameMaster(start)
		return ok && n2.HasAddr(vip4) && !n1.HasAddr(vip4)
	})
	if macvlan(t, n1, "vrrp.51") != nil {
		t.Error("lb1's macvlan is still there after lb1 stopped")
	}
	for key, want := range map[string]string{"all.rp_filter": "1", "default.rp_filter": "0", "eth0.rp_filter": "0",
		"eth0.arp_ignore": "0", "eth0.arp_filter": "0", "igmp_link_local_mcast_reports": "1"} {
		if got := ipv4Conf(t, n1, key); got != want {
			t.Errorf("after the stop, lb1 net.ipv4 %s = %s, want %s back", key, got, want)
		}
	}
	if garps := garpSenders(t, capt, time.Now().Add(300*time.Millisecond), vip4); !slices.Equal(garps, []string{mac.String()}) {
		t.Errorf("lb2's gratuitous ARP for %v from %v, want from %s", vip4, garps, mac)
	}
	if got := arpAnswers(t, obs, vip4); !slices.Equal(got, []string{mac.String()}) {
		t.Errorf("after the failover, ARP for %v answered by %v, want by %s alone", vip4, got, mac)
	}
	lb2.stop()
	if macvlan(t, n2, "vrrp.51") != nil {
		t.Error("lb2's macvlan is still there after lb2 stopped")
	}
}

// vmac_xmit_base with unicast peers: the adverts go to the peer from eth0,
// with eth0's MAC, and the Backup hears them there; the VIP is still on
// the macvlan and answered with the virtual MAC, which its gratuitous ARPs
// come from.
func TestIntegrationVMACXmitBase(t *testing.T) {
	t.Parallel()
	l := lab.New(t)
	lan := l.LAN("lan")
	n1 := newNode(t, l, lan, "lb1", "192.0.2.1/24")
	n2 := newNode(t, l, lan, "lb2", "192.0.2.2/24")
	obs := newNode(t, l, lan, "observer", "192.0.2.9/24")
	waitReady(t, n1, n2, obs)
	capt, capt2 := listenCapture(t, obs), listenCapture(t, n2) // unicast adverts reach lb2 alone
	vmac := &vrrp.VMAC{Name: "vrrp.51", XmitBase: true}
	a1, a2 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	lb1 := startLBD(t, n1, lbdOpts{prio: 200, primary: a1, peers: []netip.Addr{a2}, vmac: vmac})
	lb2 := startLBD(t, n2, lbdOpts{prio: 100, primary: a2, peers: []netip.Addr{a1}, vmac: vmac})
	eventually(t, 3*time.Second, "lb1 Master with the VIP, lb2 Backup without", func() bool {
		return lb1.state() == vrrp.StateMaster && lb2.state() == vrrp.StateBackup && n1.HasAddr(vip4) && !n2.HasAddr(vip4)
	})
	t2 := lb2.transitions()
	time.Sleep(600 * time.Millisecond)
	if lb1.state() != vrrp.StateMaster || lb2.state() != vrrp.StateBackup || lb2.transitions() != t2 {
		t.Fatalf("not stable: lb1 %v, lb2 %v", lb1.state(), lb2.state())
	}
	mac := vrrp.VirtualMAC(51, false).String()
	if got := vipDevs(t, n1, vip4); !slices.Equal(got, []string{"vrrp.51"}) {
		t.Errorf("lb1 has %v on %v, want on vrrp.51 only", vip4, got)
	}
	if srcs := advertMACs(t, capt2, time.Now().Add(300*time.Millisecond)); len(srcs) != 1 || srcs[hwAddr(t, n1)] == 0 {
		t.Errorf("adverts to lb2 from %v, want from lb1's eth0 %s only", srcs, hwAddr(t, n1))
	}
	if got := garpSenders(t, capt, time.Now().Add(10*time.Millisecond), vip4); !slices.Equal(got, []string{mac}) {
		t.Errorf("gratuitous ARP for %v from %v, want from %s", vip4, got, mac)
	}
	if got := arpAnswers(t, obs, vip4); !slices.Equal(got, []string{mac}) {
		t.Errorf("ARP for %v answered by %v, want by %s alone", vip4, got, mac)
	}
}

// An IPv6 instance's macvlan has MAC 00:00:5e:00:02:VRID and the link-local
// address of eth0 (its adverts' source), none derived from its MAC, and
// sends no router solicitation; the Master's adverts leave with the virtual
// MAC, and a neighbour solicitation for the VIP is answered with it.
func TestIntegrationVMACIPv6(t *testing.T) {
	t.Parallel()
	l := lab.New(t)
	lan := l.LAN("lan")
	n1 := newNode(t, l, lan, "lb1", "192.0.2.1/24", "2001:db8::1/64")
	obs := newNode(t, l, lan, "observer", "192.0.2.9/24", "2001:db8::9/64")
	waitReady(t, n1, obs)
	capt := listenCapture(t, obs)
	vmac := &vrrp.VMAC{Name: "vrrp6.61"}
	mac := vrrp.VirtualMAC(61, true)
	lb := startLBD(t, n1, lbdOpts{prio: 255, vrid: 61, vips: []netip.Addr{vip6}, vmac: vmac})
	eventually(t, 3*time.Second, "lb1 Master with the VIP", func() bool { return lb.state() == vrrp.StateMaster && n1.HasAddr(vip6) })
	checkMacvlan(t, n1, "vrrp6.61", mac)
	var lls []netip.Addr
	n1.Do(func() error {
		l, err := netlink.LinkByName("vrrp6.61")
		if err != nil {
			return err
		}
		addrs, err := netlink.AddrList(l, netlink.FAMILY_V6)
		for _, a := range addrs {
			if ip, _ := netip.AddrFromSlice(a.IP); ip.IsLinkLocalUnicast() {
				lls = append(lls, ip)
			}
		}
		return err
	})
	if len(lls) != 1 || lls[0] != lb.primary {
		t.Errorf("link-local addresses of vrrp6.61: %v, want only eth0's %v", lls, lb.primary)
	}
	if s := lb.stats(); s.SendErrors != 0 {
		t.Errorf("%d advert send errors", s.SendErrors)
	}
	srcs, _, solicits := wireFrom(t, capt, time.Now().Add(500*time.Millisecond))
	if len(srcs) != 1 || srcs[mac.String()] == 0 {
		t.Errorf("adverts on the wire from %v, want from %s only", srcs, mac)
	}
	if solicits[mac.String()] != 0 {
		t.Errorf("%d router solicitations from %s on the wire", solicits[mac.String()], mac)
	}
	// The observer's kernel resolves the VIP (a refused connection is an
	// answer).
	if c, err := obs.Dial("tcp", net.JoinHostPort(vip6.String(), "9"), time.Second); err == nil {
		c.Close()
	}
	if got := neighMAC6(t, obs, vip6); got != mac.String() {
		t.Errorf("observer resolved %v to %q, want %s", vip6, got, mac)
	}
	lb.stop()
	if macvlan(t, n1, "vrrp6.61") != nil {
		t.Error("the macvlan is still there after the stop")
	}
}

// The host adopts a macvlan that is already what it would make (and leaves
// it at close, unless lbd made it: its alias says so), and refuses one
// with another MAC, parent or mode, or an interface of another kind,
// saying what differs. `lbd release` deletes only lbd's own.
func TestVMACAdoptOrRefuse(t *testing.T) {
	t.Parallel()
	l := lab.New(t)
	lan := l.LAN("lan")
	n := newNode(t, l, lan, "lb1", "192.0.2.1/24")
	n.Link("eth1", l.Node("peer"), "eth1")
	mac := vrrp.VirtualMAC(51, false)
	mkMacvlan := func(parent string, hw net.HardwareAddr, mode netlink.MacvlanMode, alias string) {
		t.Helper()
		err := n.Do(func() error {
			p, err := netlink.LinkByName(parent)
			if err != nil {
				return err
			}
			mv := &netlink.Macvlan{LinkAttrs: netlink.LinkAttrs{Name: "vrrp.51", ParentIndex: p.Attrs().Index, HardwareAddr: hw}, Mode: mode}
			if err := netlink.LinkAdd(mv); err != nil {
				return err
			}
			if alias != "" {
				return netlink.LinkSetAlias(mv, alias)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("make macvlan: %v", err)
		}
	}
	del := func() {
		n.Do(func() error {
			l, err := netlink.LinkByName("vrrp.51")
			if err == nil {
				err = netlink.LinkDel(l)
			}
			return err
		})
	}
	member := vrrp.MemberConfig{
		Interface: "eth0", VMAC: &vrrp.VMAC{Name: "vrrp.51"},
		Config: vrrp.Config{Name: "VI_1", Version: vrrp.Version3, VRID: 51, Priority: 100, AdvertInterval: time.Second,
			VIPs: []netip.Addr{vip4}},
		VIPs: []vrrp.VIP{{Prefix: netip.PrefixFrom(vip4, 32), Dev: "vrrp.51"}},
	}
	open := func() (vrrp.MemberIO, error) {
		var io vrrp.MemberIO
		err := n.Do(func() (err error) {
			io, err = vrrpnet.Host{}.Open(&member)
			return err
		})
		return io, err
	}
	closeIO := func(io vrrp.MemberIO) { io.Conn.Close(); io.Close() }

	for _, tc := range []struct {
		name          string
		make          func()
		wantErr       string
		kept, adopted bool
	}{
		{"none", func() {}, "", false, false},
		{"same", func() { mkMacvlan("eth0", mac, netlink.MACVLAN_MODE_PRIVATE, "") }, "", true, true},
		{"lbd's leftover", func() { mkMacvlan("eth0", mac, netlink.MACVLAN_MODE_PRIVATE, "lbd vmac of vrrp instance VI_1") }, "", false, true},
		{"other MAC", func() { mkMacvlan("eth0", net.HardwareAddr{2, 0, 0, 0, 0, 1}, netlink.MACVLAN_MODE_PRIVATE, "") },
			"macvlan vrrp.51 exists with MAC 02:00:00:00:00:01, not the virtual router MAC 00:00:5e:00:01:33", true, false},
		{"other parent", func() { mkMacvlan("eth1", mac, netlink.MACVLAN_MODE_PRIVATE, "") },
			"macvlan vrrp.51 exists on eth1, not on eth0", true, false},
		{"bridge mode", func() { mkMacvlan("eth0", mac, netlink.MACVLAN_MODE_BRIDGE, "") },
			"macvlan vrrp.51 exists in mode bridge, not private", true, false},
		{"a bridge", func() {
			n.Do(func() error { return netlink.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "vrrp.51"}}) })
		}, "interface vrrp.51 exists and is a bridge, not a macvlan", true, false},
	} {
		tc.make()
		io, err := open()
		switch {
		case tc.wantErr != "":
			if err == nil {
				closeIO(io)
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: Open: %v, want %q", tc.name, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("%s: Open: %v", tc.name, err)
		default:
			checkMacvlan(t, n, "vrrp.51", mac)
			closeIO(io)
		}
		if got := linkExists(n, "vrrp.51"); got != tc.kept {
			t.Errorf("%s: after close, vrrp.51 there: %v, want %v", tc.name, got, tc.kept)
		}
		del()
	}

	// lbd release: lbd's own macvlan goes, another stays.
	release := func() (ok bool) {
		n.Do(func() (err error) { ok, err = vrrpnet.ReleaseVMAC("vrrp.51"); return err })
		return ok
	}
	mkMacvlan("eth0", mac, netlink.MACVLAN_MODE_PRIVATE, "")
	if release() || macvlan(t, n, "vrrp.51") == nil {
		t.Error("ReleaseVMAC deleted a macvlan lbd did not make")
	}
	del()
	mkMacvlan("eth0", mac, netlink.MACVLAN_MODE_PRIVATE, "lbd vmac of vrrp instance VI_1")
	if !release() || macvlan(t, n, "vrrp.51") != nil {
		t.Error("ReleaseVMAC left lbd's macvlan")
	}
	if release() {
		t.Error("ReleaseVMAC of an absent macvlan reports a deletion")
	}
}

// macvlan returns the macvlan called name in n, nil if there is none.
func macvlan(t *testing.T, n *lab.Node, name string) *netlink.Macvlan {
	t.Helper()
	var mv *netlink.Macvlan
	n.Do(func() error {
		l, err := netlink.LinkByName(name)
		if err == nil {
			mv, _ = l.(*netlink.Macvlan)
		}
		return nil
	})
	return mv
}

// linkExists reports whether n has an interface called name.
func linkExists(n *lab.Node, name string) bool {
	return n.Do(func() error { _, err := netlink.LinkByName(name); return err }) == nil
}

// checkMacvlan checks that n has the macvlan name, up, on eth0, in private
// mode, with MAC mac, and no IPv6 address derived from its MAC.
func checkMacvlan(t *testing.T, n *lab.Node, name string, mac net.HardwareAddr) {
	t.Helper()
	mv := macvlan(t, n, name)
	if mv == nil {
		t.Errorf("%s: no macvlan %s", n.Name, name)
		return
	}
	var parent string
	n.Do(func() error {
		p, err := netlink.LinkByIndex(mv.ParentIndex)
		if err == nil {
			parent = p.Attrs().Name
		}
		return err
	})
	if !bytes.Equal(mv.HardwareAddr, mac) || parent != "eth0" || mv.Mode != netlink.MACVLAN_MODE_PRIVATE || mv.Flags&net.FlagUp == 0 {
		t.Errorf("%s: macvlan %s: MAC %s, parent %s, mode %d, flags %v; want %s, eth0, private, up",
			n.Name, name, mv.HardwareAddr, parent, mv.Mode, mv.Flags, mac)
	}
	eui := net.IP{0xfe, 0x80, 0, 0, 0, 0, 0, 0, mac[0] ^ 2, mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]}
	n.Do(func() error {
		addrs, err := netlink.AddrList(mv, netlink.FAMILY_V6)
		for _, a := range addrs {
			if a.IP.Equal(eui) {
				t.Errorf("%s: macvlan %s has %v, derived from its MAC", n.Name, name, a.IP)
			}
		}
		return err
	})
}

// vipDevs lists the interfaces of n that have addr.
func vipDevs(t *testing.T, n *lab.Node, addr netip.Addr) []string {
	t.Helper()
	var devs []string
	n.Do(func() error {
		addrs, err := netlink.AddrList(nil, netlink.FAMILY_ALL)
		for _, a := range addrs {
			if ip, _ := netip.AddrFromSlice(a.IP); ip.Unmap() == addr {
				if l, err := netlink.LinkByIndex(a.LinkIndex); err == nil {
					devs = append(devs, l.Attrs().Name)
				}
			}
		}
		return err
	})
	return devs
}

// ipv4Conf reads net.ipv4.conf.KEY in n, KEY being "IFACE.NAME" (the
// interface name may hold dots), or net.ipv4.KEY for a KEY without a dot.
func ipv4Conf(t *testing.T, n *lab.Node, key string) string {
	t.Helper()
	path := filepath.Join("/proc/sys/net/ipv4", key)
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		path = filepath.Join("/proc/sys/net/ipv4/conf", key[:i], key[i+1:])
	}
	var s string
	err := n.Do(func() error {
		b, err := os.ReadFile(path)
		s = strings.TrimSpace(string(b))
		return err
	})
	if err != nil {
		t.Fatalf("%s: %v", n.Name, err)
	}
	return s
}

// wireFrom counts by source MAC address the frames c sees until the
// deadline: VRRP adverts (IPv4 or IPv6), IGMP and MLD reports, and router
// solicitations.
func wireFrom(t *testing.T, c *packet.Conn, until time.Time) (adverts, reports, solicits map[string]int) {
	t.Helper()
	adverts, reports, solicits = map[string]int{}, map[string]int{}, map[string]int{}
	frames(c, until, func(pkt gopacket.Packet, eth *layers.Ethernet) {
		src := eth.SrcMAC.String()
		ip4, _ := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		ip6, _ := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
		icmp6, _ := pkt.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
		switch {
		case ip4 != nil && ip4.Protocol == 112, ip6 != nil && ip6.NextHeader == 112:
			adverts[src]++
		case ip4 != nil && ip4.Protocol == layers.IPProtocolIGMP:
			reports[src]++
		case icmp6 != nil && (icmp6.TypeCode.Type() == 131 || icmp6.TypeCode.Type() == 143):
			reports[src]++
		case icmp6 != nil && icmp6.TypeCode.Type() == layers.ICMPv6TypeRouterSolicitation:
			solicits[src]++
		}
	})
	return adverts, reports, solicits
}

// advertMACs counts the VRRP adverts c sees until the deadline, by source
// MAC address.
func advertMACs(t *testing.T, c *packet.Conn, until time.Time) map[string]int {
	t.Helper()
	a, _, _ := wireFrom(t, c, until)
	return a
}

// garpSenders lists, sorted, the MAC addresses that sent the gratuitous
// ARPs for ip that c sees until the deadline.
func garpSenders(t *testing.T, c *packet.Conn, until time.Time, ip netip.Addr) []string {
	t.Helper()
	_, _, senders := announceTimes(t, c, until, ip, netip.Addr{})
	var s []string
	for m := range senders {
		s = append(s, m)
	}
	slices.Sort(s)
	return s
}

// arpAnswers sends an ARP request for ip from n's eth0 and returns the
// sender MAC addresses of the replies that come within 300ms, sorted.
func arpAnswers(t *testing.T, n *lab.Node, ip netip.Addr) []string {
	t.Helper()
	var got []string
	err := n.Do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		addrs, err := ifi.Addrs()
		if err != nil || len(addrs) == 0 {
			return err
		}
		var self netip.Addr
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
				self, _ = netip.AddrFromSlice(ipn.IP.To4())
			}
		}
		c, err := packet.Listen(ifi, packet.Raw, unix.ETH_P_ARP, nil)
		if err != nil {
			return err
		}
		defer c.Close()
		buf := gopacket.NewSerializeBuffer()
		err = gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true},
			&layers.Ethernet{SrcMAC: ifi.HardwareAddr, DstMAC: vrrpnet.BroadcastMAC, EthernetType: layers.EthernetTypeARP},
			&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
				Operation: layers.ARPRequest, SourceHwAddress: ifi.HardwareAddr, SourceProtAddress: self.AsSlice(),
				DstHwAddress: make([]byte, 6), DstProtAddress: ip.AsSlice()})
		if err != nil {
			return err
		}
		if _, err := c.WriteTo(buf.Bytes(), &packet.Addr{HardwareAddr: vrrpnet.BroadcastMAC}); err != nil {
			return err
		}
		frames(c, time.Now().Add(300*time.Millisecond), func(pkt gopacket.Packet, _ *layers.Ethernet) {
			if a, ok := pkt.Layer(layers.LayerTypeARP).(*layers.ARP); ok && a.Operation == layers.ARPReply {
				if src, _ := netip.AddrFromSlice(a.SourceProtAddress); src == ip {
					got = append(got, net.HardwareAddr(a.SourceHwAddress).String())
				}
			}
		})
		return nil
	})
	if err != nil {
		t.Fatalf("%s: ARP for %v: %v", n.Name, ip, err)
	}
	slices.Sort(got)
	return got
}

// neighMAC6 returns the MAC address n's IPv6 neighbour table holds for ip,
// or "" without a usable entry.
func neighMAC6(t *testing.T, n *lab.Node, ip netip.Addr) string {
	t.Helper()
	var mac string
	n.Do(func() error {
		neighs, err := netlink.NeighList(0, netlink.FAMILY_V6)
		for _, nb := range neighs {
			if a, ok := netip.AddrFromSlice(nb.IP); ok && a == ip && nb.State&(netlink.NUD_INCOMPLETE|netlink.NUD_FAILED) == 0 {
				mac = nb.HardwareAddr.String()
			}
		}
		return err
	})
	return mac
}
