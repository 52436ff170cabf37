package vrrp

import "net"

// VMAC runs a member on a virtual-MAC interface (keepalived use_vmac): a
// macvlan on top of [MemberConfig.Interface] whose MAC address is
// [VirtualMAC], so that the MAC address moves with the virtual addresses.
// The Host creates it when the member opens and deletes it when it
// closes; the runner only needs the member's VIPs to name it (VIP.Dev).
type VMAC struct {
	// Name is the macvlan's name (keepalived use_vmac NAME).
	Name string
	// XmitBase sends and receives adverts on the member's Interface
	// instead (keepalived vmac_xmit_base); the addresses stay on the
	// macvlan.
	XmitBase bool
}

// VirtualMAC returns the virtual router MAC address of RFC 5798 section
// 7.3: 00-00-5E-00-01-{VRID} for IPv4, 00-00-5E-00-02-{VRID} for IPv6.
func VirtualMAC(vrid uint8, ipv6 bool) net.HardwareAddr {
	fam := byte(0x01)
	if ipv6 {
		fam = 0x02
	}
	return net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, fam, vrid}
}
