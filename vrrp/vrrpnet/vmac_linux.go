package vrrpnet

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/lbd-project/lbd/internal/netns"
	"github.com/lbd-project/lbd/vrrp"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// This file holds the virtual-MAC interface of an instance with use_vmac
// (see vrrp.VMAC), set up as keepalived 2.2 does it (vrrp_vmac.c,
// vrrp_if_config.c):
//
//   - a macvlan in private mode on the instance's interface, with the
//     virtual router MAC address and the interface's link group (so that
//     firewall rules by group keep matching); private, so that it never
//     talks to another macvlan of the same parent;
//   - no automatic IPv6 address (addrgenmode none): two routers would
//     otherwise derive the same link-local address from the same MAC.
//     An IPv6 instance's macvlan gets the link-local address its adverts
//     and neighbour advertisements come from (the interface's, or the
//     configured source); an IPv4 instance's has IPv6 turned off;
//   - on the macvlan: arp_ignore=1 (answer ARP only for its own
//     addresses, the VIPs, never for the interface's); for IPv4 also
//     rp_filter=0 (a Backup's macvlan has no address, and a VIP's
//     clients are routed through the interface: any reverse-path
//     filtering drops the peers' adverts and the clients' packets),
//     accept_local=1 and promote_secondaries=1; for IPv6 no router
//     solicitation (router_solicitations=0);
//   - no IGMP report from the macvlan that receives the adverts: a
//     Backup's report, from the virtual MAC, would teach the switches
//     that the MAC is behind the Backup until the Master's next frame.
//     Reports for 224.0.0.0/24, which switches flood anyway (RFC 4541),
//     are turned off in the namespace (igmp_link_local_mcast_reports=0,
//     keepalived's disable_local_igmp; keepalived's default instead
//     moves them to the parent with nftables). MLD reports of an IPv6
//     macvlan are still sent: see docs/operations.md;
//   - for IPv4 on the parent, while any of lbd's macvlans needs it:
//     arp_ignore=1 and arp_filter=1, so that the parent no longer
//     answers ARP for the VIPs with its own MAC; and, when
//     net.ipv4.conf.all.rp_filter is set (the kernel applies the higher
//     of "all" and an interface's own), "default" and every interface
//     raised to it first, then "all" set to 0, which leaves every other
//     interface filtering as before. The old values come back when the
//     last of lbd's macvlans that needed them closes, unless someone
//     changed them meanwhile.

// vmacAlias starts the alias (ip link ... alias) lbd gives the macvlans it
// creates: one found with it is a leftover of lbd's (a daemon killed
// before its stop), which lbd takes as its own again and `lbd release`
// deletes.
const vmacAlias = "lbd vmac"

// vmacLink is a member's virtual-MAC interface.
type vmacLink struct {
	log     *slog.Logger
	h       *netlink.Handle
	name    string
	index   int
	created bool // lbd made it: deleted at close
	release []func()
}

// openMemberVMAC opens m's virtual-MAC interface when it has one (nil
// otherwise) and returns the interface its adverts go on. primary is the
// adverts' source.
func openMemberVMAC(log *slog.Logger, m *vrrp.MemberConfig, primary netip.Addr) (*vmacLink, string, error) {
	v := m.VMAC
	if v == nil {
		return nil, m.Interface, nil
	}
	if len(m.Peers) > 0 && !v.XmitBase {
		return nil, "", fmt.Errorf("vrrpnet: vmac %s: unicast adverts come to %s, not to the macvlan: set vmac_xmit_base",
			v.Name, m.Interface)
	}
	// An IPv6 macvlan's own source of adverts and neighbour
	// advertisements: a link-local address.
	ll := primary
	if m.IPv6 && !ll.IsLinkLocalUnicast() {
		var err error
		if ll, err = LinkLocal(m.Interface); err != nil {
			return nil, "", err
		}
	}
	vl, err := openVMAC(log, m.Name(), m.Interface, v.Name, m.Config.VRID, m.IPv6, v.XmitBase, ll)
	if err != nil || v.XmitBase {
		return vl, m.Interface, err
	}
	return vl, v.Name, nil
}

// openVMAC creates the macvlan name on base for an instance of VRID vrid
// (or adopts the one there, which must be a private-mode macvlan of base
// with the virtual MAC), sets it up and brings it up. ll is the
// link-local address an IPv6 instance sends from. It runs in the network
// namespace of the calling thread.
func openVMAC(log *slog.Logger, instance, base, name string, vrid uint8, ipv6, xmitBase bool, ll netip.Addr) (*vmacLink, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("vrrpnet: vmac %s: netlink: %w", name, err)
	}
	v := &vmacLink{log: log, h: h, name: name}
	if err := v.setup(instance, base, vrid, ipv6, xmitBase, ll); err != nil {
		v.Close()
		return nil, fmt.Errorf("vrrpnet: vmac %s on %s: %w", name, base, err)
	}
	return v, nil
}

func (v *vmacLink) setup(instance, base string, vrid uint8, ipv6, xmitBase bool, ll netip.Addr) error {
	parent, err := v.h.LinkByName(base)
	if err != nil {
		return fmt.Errorf("interface %q: %w", base, err)
	}
	mac := vrrp.VirtualMAC(vrid, ipv6)
	link, err := v.adopt(parent, mac)
	if err != nil {
		return err
	}
	if link == nil {
		mv := &netlink.Macvlan{
			LinkAttrs: netlink.LinkAttrs{Name: v.name, ParentIndex: parent.Attrs().Index, HardwareAddr: mac,
				Group: parent.Attrs().Group},
			Mode: netlink.MACVLAN_MODE_PRIVATE,
		}
		err := v.h.LinkAdd(mv)
		if errors.Is(err, unix.EEXIST) {
			link, err = v.adopt(parent, mac) // made meanwhile
		}
		if err != nil {
			return fmt.Errorf("create macvlan: %w", err)
		}
		if link == nil {
			if link, err = v.h.LinkByName(v.name); err != nil {
				return err
			}
			v.created = true
			v.log.Info("vrrpnet: macvlan created", "vmac", v.name, "parent", parent.Attrs().Name, "mac", mac.String())
			if err := v.h.LinkSetAlias(link, vmacAlias+" of vrrp instance "+instance); err != nil {
				return fmt.Errorf("set alias: %w", err)
			}
		}
	}
	v.index = link.Attrs().Index
	// Before it is up, or the kernel derives an address from the MAC.
	if err := v.h.LinkSetIP6AddrGenMode(link, nl.IN6_ADDR_GEN_MODE_NONE); err != nil && ipv6 {
		return fmt.Errorf("addrgenmode none: %w", err)
	}
	if err := v.tune(parent.Attrs(), ipv6, xmitBase); err != nil {
		return err
	}
	if err := v.h.LinkSetUp(link); err != nil {
		return fmt.Errorf("set up: %w", err)
	}
	if ipv6 {
		a := &netlink.Addr{IPNet: &net.IPNet{IP: ll.WithZone("").AsSlice(), Mask: net.CIDRMask(64, 128)},
			Flags: unix.IFA_F_NODAD}
		if err := v.h.AddrReplace(link, a); err != nil {
			return fmt.Errorf("add link-local %v: %w", ll, err)
		}
	}
	return nil
}

// adopt returns the existing interface called v.name if it is a
// private-mode macvlan of parent with MAC mac, nil if there is none, and
// an error naming what differs otherwise.
func (v *vmacLink) adopt(parent netlink.Link, mac net.HardwareAddr) (netlink.Link, error) {
	l, err := v.h.LinkByName(v.name)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) || errors.Is(err, unix.ENODEV) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	mv, ok := l.(*netlink.Macvlan)
	switch {
	case !ok:
		return nil, fmt.Errorf("interface %s exists and is a %s, not a macvlan; lbd will not take it over (remove it, or set vmac_name)",
			v.name, l.Type())
	case mv.ParentIndex != parent.Attrs().Index:
		p := fmt.Sprintf("interface index %d", mv.ParentIndex)
		if pl, err := v.h.LinkByIndex(mv.ParentIndex); err == nil {
			p = pl.Attrs().Name
		}
		return nil, fmt.Errorf("macvlan %s exists on %s, not on %s; lbd will not take it over (remove it, or set vmac_name)",
			v.name, p, parent.Attrs().Name)
	case !bytes.Equal(mv.HardwareAddr, mac):
		return nil, fmt.Errorf("macvlan %s exists with MAC %s, not the virtual router MAC %s; lbd will not take it over "+
			"(remove it, or set vmac_name)", v.name, mv.HardwareAddr, mac)
	case mv.Mode != netlink.MACVLAN_MODE_PRIVATE:
		mode := map[netlink.MacvlanMode]string{netlink.MACVLAN_MODE_VEPA: "vepa", netlink.MACVLAN_MODE_BRIDGE: "bridge",
			netlink.MACVLAN_MODE_PASSTHRU: "passthru", netlink.MACVLAN_MODE_SOURCE: "source"}[mv.Mode]
		return nil, fmt.Errorf("macvlan %s exists in mode %s, not private; lbd will not take it over (remove it, or set vmac_name)",
			v.name, cmp.Or(mode, strconv.Itoa(int(mv.Mode))))
	}
	// A leftover of lbd's own is lbd's again: deleted at stop.
	v.created = strings.HasPrefix(l.Attrs().Alias, vmacAlias)
	v.log.Info("vrrpnet: adopting the macvlan there", "vmac", v.name, "parent", parent.Attrs().Name, "mac", mac.String(),
		"made_by_lbd", v.created)
	return l, nil
}

// Close deletes the macvlan if lbd created it, gives back what its
// parent and the namespace were set to if no other macvlan of lbd needs
// it, and releases the netlink handle. A nil v is a no-op.
func (v *vmacLink) Close() {
	if v == nil {
		return
	}
	if v.created {
		// By index, so as not to delete an interface made since under
		// the same name.
		if l, err := v.h.LinkByIndex(v.index); err == nil && l.Attrs().Name == v.name {
			if err := v.h.LinkDel(l); err != nil {
				v.log.Warn("vrrpnet: cannot delete the macvlan", "vmac", v.name, "err", err)
			} else {
				v.log.Info("vrrpnet: macvlan deleted", "vmac", v.name)
			}
		}
	}
	for _, r := range v.release {
		r()
	}
	v.h.Close()
}

// tune sets the sysctls of the macvlan and, for IPv4, those of its parent
// and the namespace (see the top of this file).
func (v *vmacLink) tune(parent *netlink.LinkAttrs, ipv6, xmitBase bool) error {
	conf := func(dev, key string) string { return filepath.Join(ipv4Conf, dev, key) }
	if ipv6 {
		return errors.Join(writeSysctl(conf(v.name, "arp_ignore"), "1"),
			writeSysctl(filepath.Join(ipv6Conf, v.name, "router_solicitations"), "0"))
	}
	ns, err := netns.Current()
	if err != nil {
		return err
	}
	if !xmitBase {
		r, err := holdSysctls(v.log, holdKey{ns, "igmp"}, func() ([]heldSysctl, error) {
			return setSysctls(v.log, igmpLLMReports, "0")
		})
		if err != nil {
			return err
		}
		v.release = append(v.release, r)
	}
	r, err := holdSysctls(v.log, holdKey{ns, "rp_filter"}, func() ([]heldSysctl, error) { return clearAllRPFilter(v.log, v.name) })
	if err != nil {
		return err
	}
	v.release = append(v.release, r)
	r, err = holdSysctls(v.log, holdKey{ns, fmt.Sprintf("parent %d", parent.Index)}, func() ([]heldSysctl, error) {
		return setSysctls(v.log, conf(parent.Name, "arp_ignore"), "1", conf(parent.Name, "arp_filter"), "1")
	})
	if err != nil {
		return err
	}
	v.release = append(v.release, r)
	for _, kv := range [][2]string{{"arp_ignore", "1"}, {"accept_local", "1"}, {"rp_filter", "0"}, {"promote_secondaries", "1"}} {
		if err := writeSysctl(conf(v.name, kv[0]), kv[1]); err != nil {
			return err
		}
	}
	// Nothing of IPv6 goes on an IPv4 instance's macvlan; a kernel
	// without IPv6 has no such file.
	err = writeSysctl(filepath.Join(ipv6Conf, v.name, "disable_ipv6"), "1")
	if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	return err
}

// clearAllRPFilter sets net.ipv4.conf.all.rp_filter to 0 after raising
// "default" and every interface but skip to its value, so that none
// filters less than before.
func clearAllRPFilter(log *slog.Logger, skip string) ([]heldSysctl, error) {
	const dir = ipv4Conf
	allS, err := readSysctl(filepath.Join(dir, "all", "rp_filter"))
	if err != nil {
		return nil, err
	}
	all, err := strconv.Atoi(allS)
	if err != nil || all == 0 {
		return nil, err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	var kv []string
	for _, e := range ents {
		if e.Name() == "all" || e.Name() == skip {
			continue
		}
		p := filepath.Join(dir, e.Name(), "rp_filter")
		if cur, err := readSysctl(p); err == nil {
			if n, err := strconv.Atoi(cur); err == nil && n < all {
				kv = append(kv, p, allS)
			}
		}
	}
	kv = append(kv, filepath.Join(dir, "all", "rp_filter"), "0")
	held, err := setSysctls(log, kv...)
	if err == nil {
		log.Info("vrrpnet: net.ipv4.conf.all.rp_filter set to 0 for the macvlans; default and each interface raised "+
			"to its value first, so they filter as before (as keepalived does; restored when the last IPv4 macvlan goes)",
			"all.rp_filter", all, "raised", len(held)-1)
	}
	return held, err
}

// heldSysctl is a sysctl lbd set, with the value it had; its file is
// opened in its network namespace, so restoring works from any thread.
type heldSysctl struct {
	f        *os.File
	old, set string
}

// holdKey names what a hold covers: the namespace-wide rp_filter, or one
// parent interface.
type holdKey struct {
	ns   netns.ID
	what string
}

// sysctlHolds are the sysctls lbd's macvlans hold, counted, in every
// namespace of the process (the lab runs many).
var sysctlHolds = struct {
	sync.Mutex
	m map[holdKey]*sysctlHold
}{m: map[holdKey]*sysctlHold{}}

type sysctlHold struct {
	refs int
	held []heldSysctl
}

// holdSysctls takes a reference to the hold key, calling set to make it
// when it is the first; the returned function drops the reference and,
// with the last, puts back the old values that are still what set wrote.
func holdSysctls(log *slog.Logger, key holdKey, set func() ([]heldSysctl, error)) (func(), error) {
	sysctlHolds.Lock()
	defer sysctlHolds.Unlock()
	h := sysctlHolds.m[key]
	if h == nil {
		held, err := set()
		if err != nil {
			return nil, err
		}
		h = &sysctlHold{held: held}
		sysctlHolds.m[key] = h
	}
	h.refs++
	var once sync.Once
	return func() {
		once.Do(func() {
			sysctlHolds.Lock()
			defer sysctlHolds.Unlock()
			if h.refs--; h.refs > 0 {
				return
			}
			delete(sysctlHolds.m, key)
			restore(log, h.held)
		})
	}, nil
}

// setSysctls writes each path of kv (path, value, path, value...) that
// holds another value, and returns them held, open. On error it restores
// what it wrote.
func setSysctls(log *slog.Logger, kv ...string) ([]heldSysctl, error) {
	var held []heldSysctl
	for i := 0; i+1 < len(kv); i += 2 {
		path, val := kv[i], kv[i+1]
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && !strings.Contains(path, "/all/") {
				continue // an interface gone meanwhile
			}
			restore(log, held)
			return nil, fmt.Errorf("sysctl %s: %w", path, err)
		}
		old, err := readAt(f)
		if err == nil && old == val {
			f.Close()
			continue
		}
		if err == nil {
			_, err = f.WriteAt([]byte(val), 0)
		}
		if err != nil {
			f.Close()
			restore(log, held)
			return nil, fmt.Errorf("sysctl %s=%s: %w", path, val, err)
		}
		held = append(held, heldSysctl{f: f, old: old, set: val})
	}
	return held, nil
}

// restore writes back, in reverse order, each old value whose sysctl
// still has the value lbd set, and closes the files.
func restore(log *slog.Logger, held []heldSysctl) {
	for i := len(held) - 1; i >= 0; i-- {
		s := held[i]
		if cur, err := readAt(s.f); err == nil && cur == s.set {
			if _, err := s.f.WriteAt([]byte(s.old), 0); err != nil {
				log.Warn("vrrpnet: cannot restore a sysctl", "path", s.f.Name(), "value", s.old, "err", err)
			}
		}
		s.f.Close()
	}
}

func readAt(f *os.File) (string, error) {
	b := make([]byte, 64)
	n, err := f.ReadAt(b, 0)
	if n > 0 {
		err = nil
	}
	return strings.TrimSpace(string(b[:n])), err
}

func readSysctl(path string) (string, error) {
	b, err := os.ReadFile(path)
	return strings.TrimSpace(string(b)), err
}

func writeSysctl(path, val string) error {
	if err := os.WriteFile(path, []byte(val), 0o644); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", path, val, err)
	}
	return nil
}

// ReleaseVMAC deletes the macvlan called name if lbd created it (it has
// lbd's alias), with the addresses on it, and reports whether it did; an
// interface that is absent, or not lbd's, is left alone. `lbd release`
// calls it once the daemon has exited.
func ReleaseVMAC(name string) (bool, error) {
	l, err := netlink.LinkByName(name)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) || errors.Is(err, unix.ENODEV) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("vrrpnet: vmac %s: %w", name, err)
	}
	if _, ok := l.(*netlink.Macvlan); !ok || !strings.HasPrefix(l.Attrs().Alias, vmacAlias) {
		return false, nil
	}
	if err := netlink.LinkDel(l); err != nil {
		return false, fmt.Errorf("vrrpnet: delete vmac %s: %w", name, err)
	}
	return true, nil
}
