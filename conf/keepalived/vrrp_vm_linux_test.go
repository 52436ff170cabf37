package keepalived

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/internal/lab/lbdrole"
)

func TestMain(m *testing.M) { lab.Main(m, lab.Roles{"lbd": lbdrole.Run}) }

// vrrpInterfaces returns the interfaces cfg's VRRP instances name (their
// own, their addresses', tracked ones) with the addresses the lab gives
// them: an instance's unicast_src_ip on its interface (a /24 where it is
// first seen, a /32 on further ones), otherwise a TEST-NET-1 address well
// away from the peers the corpus names, and an IPv6 documentation address.
func vrrpInterfaces(cfg *conf.Config) ([]string, map[string][]string) {
	var names []string
	addrs := map[string][]string{}
	add := func(name string) {
		if _, ok := addrs[name]; !ok && name != "" {
			names = append(names, name)
			addrs[name] = nil
		}
	}
	for _, in := range cfg.VRRPInstances {
		add(in.Interface)
		for _, v := range append(append([]conf.VIP{}, in.VirtualIPAddresses...), in.VirtualIPAddressesExcluded...) {
			add(v.Interface)
		}
		for _, ti := range in.TrackInterfaces {
			add(ti.Name)
		}
	}
	// A route's interface exists, and its gateway is on a subnet of it
	// (of the instance's interface when the route names none), so both
	// daemons can install it.
	routes := func(rs []conf.Route, dflt string) {
		for _, r := range rs {
			dev := r.Interface
			if dev == "" {
				dev = dflt
			}
			add(dev)
			if r.Via == nil || dev == "" {
				continue
			}
			bits := 24
			if r.Via.Addr.Is6() {
				bits = 64
			}
			// Another host of the gateway's subnet.
			via := r.Via.Addr
			host := spareHost(netip.PrefixFrom(via, bits), func(a netip.Addr) bool { return a == via })
			if s := host.String(); !contains(addrs[dev], s) {
				addrs[dev] = append(addrs[dev], s)
			}
		}
	}
	for _, in := range cfg.VRRPInstances {
		routes(in.VirtualRoutes, in.Interface)
	}
	routes(cfg.StaticRoutes, "")
	for _, a := range cfg.StaticIPAddresses {
		add(a.Interface)
	}
	seen := map[netip.Addr]bool{}
	for _, in := range cfg.VRRPInstances {
		if in.UnicastSrcIP == nil {
			continue
		}
		a := in.UnicastSrcIP.Addr
		bits := a.BitLen()
		if !seen[a] {
			if a.Is4() {
				bits = 24
			} else {
				bits = 64
			}
			seen[a] = true
		}
		p := netip.PrefixFrom(a, bits).String()
		if !contains(addrs[in.Interface], p) {
			addrs[in.Interface] = append(addrs[in.Interface], p)
		}
	}
	for i, name := range names {
		if len(addrs[name]) == 0 {
			addrs[name] = append(addrs[name], fmt.Sprintf("192.0.2.%d/24", 101+i))
		}
		addrs[name] = append(addrs[name], fmt.Sprintf("2001:db8:ffff::%d/64", 101+i))
	}
	return names, addrs
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// vrrpNode is a node alone on its own LANs, one per interface cfg names.
func vrrpNode(l *lab.Lab, name string, cfg *conf.Config) *lab.Node {
	n := l.Node(name)
	// Addresses (link-local ones included) are usable at once.
	n.Sysctl("net.ipv6.conf.all.accept_dad", "0")
	n.Sysctl("net.ipv6.conf.default.accept_dad", "0")
	names, addrs := vrrpInterfaces(cfg)
	for _, ifname := range names {
		n.Attach(l.LAN(name+"-"+ifname), ifname, addrs[ifname]...)
	}
	return n
}

// addrSet lists n's addresses as "ifname addr/len label", link-local
// IPv6 ones left out (the kernel adds them as links come up).
func addrSet(t *testing.T, n *lab.Node) map[string]bool {
	t.Helper()
	set := map[string]bool{}
	err := n.Do(func() error {
		links, err := netlink.LinkList()
		if err != nil {
			return err
		}
		for _, link := range links {
			var addrs []netlink.Addr
			for try := 0; try < 10; try++ {
				if addrs, err = netlink.AddrList(link, netlink.FAMILY_ALL); err == nil {
					break
				}
			}
			if err != nil {
				return err
			}
			for _, a := range addrs {
				ip, ok := netip.AddrFromSlice(a.IP)
				if !ok || ip.Unmap().IsLinkLocalUnicast() {
					continue
				}
				ones, _ := a.Mask.Size()
				label := ""
				if ip.Unmap().Is4() {
					label = a.Label
				}
				set[fmt.Sprintf("%s %s/%d label=%q", link.Attrs().Name, ip.Unmap(), ones, label)] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s: list addresses: %v", n.Name, err)
	}
	return set
}

// added returns the sorted entries of now missing from base.
func added(base, now map[string]bool) []string {
	var out []string
	for a := range now {
		if !base[a] {
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out
}

// vipsOf lists every address cfg's instances add.
func vipsOf(cfg *conf.Config) []netip.Addr {
	var out []netip.Addr
	for _, in := range cfg.VRRPInstances {
		for _, v := range append(append([]conf.VIP{}, in.VirtualIPAddresses...), in.VirtualIPAddressesExcluded...) {
			out = append(out, v.Address.Addr())
		}
	}
	return out
}

// waitFor polls cond every 100 ms up to limit.
func waitFor(limit time.Duration, cond func() bool) bool {
	_, ok := lab.Poll(limit, 100*time.Millisecond, cond)
	return ok
}

// vrrpUnusual says why a file's VRRP part cannot be compared, or "".
func vrrpUnusual(res Result) string {
	if ChangesBehaviour(withoutStopAndPacing(res.Findings)) {
		return "its conversion changes behaviour (see its .report: use_vmac, vrrp_strict...)"
	}
	return ""
}

// testVRRPImport runs Debian's keepalived (VRRP only) on path and lbd on
// its conversion, each in a node alone on its LANs, and compares the
// addresses each adds as master and that each removes them on SIGTERM.
func testVRRPImport(t *testing.T, path string, ids []string, yaml []byte, cfg *conf.Config) {
	abs, _ := filepath.Abs(path)
	dir := t.TempDir()
	file := filepath.Join(dir, "lbd.yaml")
	if err := os.WriteFile(file, yaml, 0o644); err != nil {
		t.Fatal(err)
	}
	l := lab.New(t)
	kn, ln := vrrpNode(l, "ka", cfg), vrrpNode(l, "lbd", cfg)
	kBase, lBase := addrSet(t, kn), addrSet(t, ln)

	args := []string{"-n", "-l", "--vrrp", "-f", abs, "-p", dir + "/k.pid", "-r", dir + "/v.pid"}
	for _, id := range ids {
		args = append(args, "-i", id)
	}
	kp := kn.Start("keepalived", args...)
	lp := ln.StartRole("lbd", "-f", file)

	vips := vipsOf(cfg)
	holds := func(n *lab.Node) func() bool {
		return func() bool {
			for _, a := range vips {
				if !n.HasAddr(a) {
					return false
				}
			}
			return true
		}
	}
	// Both started together and each is alone: each becomes master after
	// its master-down timer (3 adverts and a skew of at most one).
	wait := 10 * time.Second
	for _, in := range cfg.VRRPInstances {
		wait = max(wait, 4*in.AdvertInterval.D()+6*time.Second)
	}
	start := time.Now()
	kOK := waitFor(wait, holds(kn))
	kTook := time.Since(start)
	lOK := waitFor(wait, holds(ln))
	t.Logf("all VIPs held: keepalived after %v, lbd after %v", kTook.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if !kOK {
		t.Errorf("keepalived does not hold all of %v after %v", vips, wait)
	}
	if !lOK {
		t.Errorf("lbd does not hold all of %v after %v", vips, wait)
	}
	// Let both finish adding (a sync group's second instance, labels).
	time.Sleep(500 * time.Millisecond)
	kAdded, lAdded := added(kBase, addrSet(t, kn)), added(lBase, addrSet(t, ln))
	t.Logf("keepalived added:\n  %s", strings.Join(kAdded, "\n  "))
	t.Logf("lbd added:\n  %s", strings.Join(lAdded, "\n  "))
	if strings.Join(kAdded, "\n") != strings.Join(lAdded, "\n") {
		t.Errorf("addresses differ:\nlbd added:\n  %s\nkeepalived added:\n  %s",
			strings.Join(lAdded, "\n  "), strings.Join(kAdded, "\n  "))
	}

	for _, s := range []struct {
		name string
		n    *lab.Node
		p    *lab.Process
		base map[string]bool
	}{{"keepalived", kn, kp, kBase}, {"lbd", ln, lp, lBase}} {
		stop := time.Now()
		if err := s.p.Signal(syscall.SIGTERM); err != nil {
			t.Errorf("%s: SIGTERM: %v", s.name, err)
		}
		// lbd keeps a Master's addresses until another master is heard,
		// at most the master-down interval: here none comes.
		if err := s.p.Wait(wait); err != nil {
			t.Errorf("%s: after SIGTERM: %v", s.name, err)
		}
		var left []string
		waitFor(2*time.Second, func() bool { left = added(s.base, addrSet(t, s.n)); return len(left) == 0 })
		t.Logf("%s stopped and its addresses were gone %v after SIGTERM", s.name, time.Since(stop).Round(time.Millisecond))
		if len(left) != 0 {
			t.Errorf("%s left addresses behind after SIGTERM:\n  %s", s.name, strings.Join(left, "\n  "))
		}
	}
	if t.Failed() {
		t.Logf("keepalived output:\n%s", kp.Out.String())
		t.Logf("lbd output:\n%s", lp.Out.String())
	}
}
