package vrrpnet

// The sysctls the virtual-MAC interfaces of use_vmac need (see
// vmac_linux.go): the macvlan's and its parent's under ipv4Conf and
// ipv6Conf ("all" and "default" too, for rp_filter), and IGMP reports for
// link-local groups.
const (
	ipv4Conf       = "/proc/sys/net/ipv4/conf"
	ipv6Conf       = "/proc/sys/net/ipv6/conf"
	igmpLLMReports = "/proc/sys/net/ipv4/igmp_link_local_mcast_reports"
)

// WrittenSysctls lists the /proc/sys files and directories vrrpnet
// writes. The systemd unit makes /proc/sys read-only
// (ProtectKernelTunables) and must give write access to each;
// systemd/unit_test.go checks that it does.
var WrittenSysctls = []string{ipv4Conf + "/all/rp_filter", ipv4Conf + "/IFACE/arp_ignore", ipv6Conf + "/IFACE/disable_ipv6", igmpLLMReports}
