package vrrpnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/lbd-project/lbd/vrrp"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// VIPs adds and removes virtual addresses over rtnetlink. It implements
// vrrp.VIPManager. IPv6 addresses are added with IFA_F_NODAD, so that a
// new Master can use them at once, and all addresses with the scope that
// the kernel derives (global for TEST-NET and public ranges).
//
// With a Lease, addresses are installed with that valid and preferred
// lifetime instead of forever, and every AddVIP renews it: a Master that
// renews on each advert keeps its addresses, and a Master that is killed
// outright (SIGKILL, a crash, nobody left to remove them) loses them when
// the lease runs out, instead of answering for them beside the new
// Master until someone restarts it.
type VIPs struct {
	h   *netlink.Handle
	dev string
	// Lease is the addresses' lifetime, in whole seconds (the kernel's
	// unit, checked about once a second); 0 installs them forever.
	Lease time.Duration
}

var _ vrrp.VIPManager = (*VIPs)(nil)

// NewVIPs opens a netlink handle in the network namespace of the calling
// thread. dev is the interface used for a VIP without one of its own.
func NewVIPs(dev string) (*VIPs, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("vrrpnet: netlink: %w", err)
	}
	return &VIPs{h: h, dev: dev}, nil
}

// Close releases the netlink handle.
func (m *VIPs) Close() { m.h.Close() }

func (m *VIPs) link(v vrrp.VIP) (netlink.Link, error) {
	dev := v.Dev
	if dev == "" {
		dev = m.dev
	}
	l, err := m.h.LinkByName(dev)
	if err != nil {
		return nil, fmt.Errorf("vrrpnet: VIP %v: interface %q: %w", v.Prefix, dev, err)
	}
	return l, nil
}

func nlAddr(v vrrp.VIP) *netlink.Addr {
	p := v.Prefix
	a := &netlink.Addr{
		IPNet: &net.IPNet{IP: p.Addr().Unmap().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().Unmap().BitLen())},
		Label: v.Label,
	}
	if p.Addr().Unmap().Is6() {
		a.Flags = unix.IFA_F_NODAD
	}
	return a
}

// leaseSeconds rounds a lease up to the kernel's whole seconds.
func leaseSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

// AddVIP installs v. Without a lease an address already there is left as
// it is; with one, the address is replaced (added if missing), which
// renews its lifetime without disturbing routes or connections.
func (m *VIPs) AddVIP(v vrrp.VIP) error {
	l, err := m.link(v)
	if err != nil {
		return err
	}
	if m.Lease > 0 {
		a := nlAddr(v)
		a.ValidLft = leaseSeconds(m.Lease)
		a.PreferedLft = a.ValidLft
		if err := m.h.AddrReplace(l, a); err != nil {
			return fmt.Errorf("vrrpnet: add %v to %s with a %ds lease: %w", v.Prefix, l.Attrs().Name, a.ValidLft, err)
		}
		return nil
	}
	if _, ok, err := m.find(l, v.Addr()); err != nil || ok {
		return err
	}
	if err := m.h.AddrAdd(l, nlAddr(v)); err != nil && !isExist(err) {
		return fmt.Errorf("vrrpnet: add %v to %s: %w", v.Prefix, l.Attrs().Name, err)
	}
	return nil
}

// RemoveVIP removes v (whatever its prefix length on the link) if present;
// an address on an interface that is gone is gone with it.
func (m *VIPs) RemoveVIP(v vrrp.VIP) (bool, error) {
	l, err := m.link(v)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	a, ok, err := m.find(l, v.Addr())
	if err != nil || !ok {
		return false, err
	}
	if err := m.h.AddrDel(l, &a); err != nil {
		if errors.Is(err, unix.EADDRNOTAVAIL) {
			return false, nil // gone meanwhile
		}
		return false, fmt.Errorf("vrrpnet: remove %v from %s: %w", a.IPNet, l.Attrs().Name, err)
	}
	return true, nil
}

// HasVIP reports whether the address of v is on its interface.
func (m *VIPs) HasVIP(v vrrp.VIP) (bool, error) {
	l, err := m.link(v)
	if err != nil {
		return false, err
	}
	_, ok, err := m.find(l, v.Addr())
	return ok, err
}

func (m *VIPs) find(l netlink.Link, ip netip.Addr) (netlink.Addr, bool, error) {
	ip = ip.Unmap()
	fam := netlink.FAMILY_V4
	if ip.Is6() {
		fam = netlink.FAMILY_V6
	}
	// The kernel interrupts a dump that races with an address change
	// (another instance or daemon adding its VIP) and asks for a retry.
	addrs, err := m.h.AddrList(l, fam)
	for try := 0; errors.Is(err, netlink.ErrDumpInterrupted) && try < 10; try++ {
		addrs, err = m.h.AddrList(l, fam)
	}
	if err != nil {
		return netlink.Addr{}, false, fmt.Errorf("vrrpnet: list addresses of %s: %w", l.Attrs().Name, err)
	}
	for _, a := range addrs {
		if got, ok := netip.AddrFromSlice(a.IP); ok && got.Unmap() == ip {
			return a, true, nil
		}
	}
	return netlink.Addr{}, false, nil
}

func isExist(err error) bool { return errors.Is(err, unix.EEXIST) }
