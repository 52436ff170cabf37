package ipvs

import (
	"cmp"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Family is an address family as the kernel numbers it.
type Family uint16

// Address families IPVS supports.
const (
	IPv4 Family = unix.AF_INET
	IPv6 Family = unix.AF_INET6
)

// String returns "IPv4", "IPv6" or "family(N)".
func (f Family) String() string {
	switch f {
	case IPv4:
		return "IPv4"
	case IPv6:
		return "IPv6"
	}
	return fmt.Sprintf("family(%d)", uint16(f))
}

// bits is the address length of the family in bits, 0 if unknown.
func (f Family) bits() int {
	switch f {
	case IPv4:
		return 32
	case IPv6:
		return 128
	}
	return 0
}

// FamilyOf returns the family of a, or 0 if a is not a valid address.
// An IPv4-mapped IPv6 address is IPv6.
func FamilyOf(a netip.Addr) Family {
	switch {
	case a.Is4():
		return IPv4
	case a.Is6():
		return IPv6
	}
	return 0
}

// Protocol is the transport protocol of a virtual service.
type Protocol uint16

// Protocols IPVS balances.
const (
	TCP  Protocol = unix.IPPROTO_TCP
	UDP  Protocol = unix.IPPROTO_UDP
	SCTP Protocol = unix.IPPROTO_SCTP
)

// String returns "TCP", "UDP", "SCTP" or "protocol(N)".
func (p Protocol) String() string {
	switch p {
	case TCP:
		return "TCP"
	case UDP:
		return "UDP"
	case SCTP:
		return "SCTP"
	}
	return fmt.Sprintf("protocol(%d)", uint16(p))
}

// ForwardMethod is how packets reach a destination (IP_VS_CONN_F_*).
type ForwardMethod uint32

// Forwarding methods. Masq is the zero value, as in the kernel.
const (
	Masq   ForwardMethod = 0 // NAT
	Local  ForwardMethod = 1 // the balancer itself
	Tunnel ForwardMethod = 2 // IPIP, GUE or GRE encapsulation
	Route  ForwardMethod = 3 // direct routing
)

// String returns "Masq", "Local", "Tunnel", "Route" or "fwd(N)".
func (m ForwardMethod) String() string {
	switch m {
	case Masq:
		return "Masq"
	case Local:
		return "Local"
	case Tunnel:
		return "Tunnel"
	case Route:
		return "Route"
	}
	return fmt.Sprintf("fwd(%d)", uint32(m))
}

// TunnelType is the encapsulation of a Tunnel destination.
type TunnelType uint8

// Tunnel types (IP_VS_CONN_F_TUNNEL_TYPE_*).
const (
	IPIP TunnelType = 0
	GUE  TunnelType = 1
	GRE  TunnelType = 2
)

// String returns "ipip", "gue", "gre" or "tunnel(N)", ipvsadm's names.
func (t TunnelType) String() string {
	switch t {
	case IPIP:
		return "ipip"
	case GUE:
		return "gue"
	case GRE:
		return "gre"
	}
	return fmt.Sprintf("tunnel(%d)", uint8(t))
}

// TunnelFlags are the checksum options of a GUE or GRE tunnel
// (IP_VS_TUNNEL_ENCAP_FLAG_*). The zero value is "nocsum".
type TunnelFlags uint16

// Tunnel flags.
const (
	TunnelCsum    TunnelFlags = 1 << 0 // checksum the outer UDP/GRE header
	TunnelRemCsum TunnelFlags = 1 << 1 // remote checksum offload (GUE only)
)

// String returns ipvsadm's option word: "nocsum", "csum", "remcsum", or
// the raw value for unknown bits.
func (f TunnelFlags) String() string {
	switch f {
	case 0:
		return "nocsum"
	case TunnelCsum:
		return "csum"
	case TunnelRemCsum:
		return "remcsum"
	}
	return fmt.Sprintf("tunflags(%#x)", uint16(f))
}

// Service is the configurable part of a virtual service: what Plan compares
// and what the kernel accepts in NEW_SERVICE and SET_SERVICE.
//
// A service is identified either by Protocol, Address and Port, or by a
// non-zero FWMark (then Protocol, Address and Port stay zero and Family
// must be set). Zero values of the optional fields mean what ipvsadm does
// when the option is left out.
type Service struct {
	// Family is the address family; zero means the family of Address,
	// or IPv4 for a firewall-mark service.
	Family   Family
	Protocol Protocol
	Address  netip.Addr
	Port     uint16
	// FWMark selects packets by firewall mark instead of address and port.
	FWMark uint32

	// Scheduler is the scheduler's name; "" means "wlc".
	Scheduler string
	// SchedFlags are scheduler-specific flags (sh-port, mh-fallback, ...).
	SchedFlags SchedFlags

	// Persistent makes a client stick to one destination for Timeout
	// seconds (0 means 360, as ipvsadm -p), grouping clients by Netmask.
	Persistent bool
	Timeout    uint32
	// Netmask is the persistence granularity as a prefix length; 0 means
	// a single host (32 for IPv4, 128 for IPv6).
	Netmask int

	// OnePacket schedules every packet on its own (UDP).
	OnePacket bool
	// PEName is the persistence engine, "" or "sip".
	PEName string
}

// family is the service's effective address family. A firewall-mark
// service without one is IPv4, as in ipvsadm without -6.
func (s Service) family() Family {
	switch {
	case s.Family != 0:
		return s.Family
	case s.FWMark != 0:
		return IPv4
	}
	return FamilyOf(s.Address)
}

// Key returns the identity of the service in the kernel table.
func (s Service) Key() ServiceKey {
	if s.FWMark != 0 {
		return ServiceKey{Family: s.family(), FWMark: s.FWMark}
	}
	return ServiceKey{Family: s.family(), Protocol: s.Protocol, Address: s.Address, Port: s.Port}
}

// String returns the service's key, e.g. "TCP 192.0.2.10:80".
func (s Service) String() string { return s.Key().String() }

// normalized fills in defaults and clears what the kernel ignores, so that
// two services that behave the same compare equal with ==.
func (s Service) normalized() Service {
	s.Family = s.family()
	if s.FWMark != 0 {
		s.Protocol, s.Address, s.Port = 0, netip.Addr{}, 0
	}
	s.Scheduler = cmp.Or(s.Scheduler, "wlc")
	if !s.Persistent {
		// Timeout and netmask only matter for persistence templates.
		s.Timeout, s.Netmask = 0, 0
	} else {
		if s.Timeout == 0 {
			s.Timeout = defaultPersistTimeout
		}
		if s.Netmask == 0 {
			s.Netmask = s.Family.bits()
		}
	}
	return s
}

// ServiceKey identifies a virtual service. It is comparable, so it can key
// maps.
type ServiceKey struct {
	Family   Family
	Protocol Protocol
	Address  netip.Addr
	Port     uint16
	FWMark   uint32
}

// String returns "TCP 192.0.2.10:80", "UDP [2001:db8::1]:53", "FWM 1" or
// "FWM 1 IPv6".
func (k ServiceKey) String() string {
	if k.FWMark != 0 {
		if k.Family == IPv6 {
			return fmt.Sprintf("FWM %d IPv6", k.FWMark)
		}
		return fmt.Sprintf("FWM %d", k.FWMark)
	}
	return k.Protocol.String() + " " + netip.AddrPortFrom(k.Address, k.Port).String()
}

// Compare orders keys: address services before firewall-mark services,
// then by family, protocol, address, port and mark.
func (k ServiceKey) Compare(o ServiceKey) int {
	return cmp.Or(
		cmp.Compare(min(k.FWMark, 1), min(o.FWMark, 1)),
		cmp.Compare(k.Family, o.Family),
		cmp.Compare(k.Protocol, o.Protocol),
		k.Address.Compare(o.Address),
		cmp.Compare(k.Port, o.Port),
		cmp.Compare(k.FWMark, o.FWMark),
	)
}

// Destination is the configurable part of a real server: what Plan compares
// and what NEW_DEST and SET_DEST carry. Within a service it is identified by
// Address and Port.
type Destination struct {
	Address netip.Addr
	Port    uint16
	// Family is the address family; zero means the family of Address. It
	// differs from the service's only for Tunnel destinations.
	Family Family

	ForwardMethod ForwardMethod
	// Weight is the scheduling weight; 0 drains the destination.
	Weight int32
	// UpperThreshold and LowerThreshold bound active connections; 0 means
	// no limit.
	UpperThreshold uint32
	LowerThreshold uint32

	// Tunnel parameters, only for ForwardMethod Tunnel. TunnelPort is the
	// GUE destination port.
	TunnelType  TunnelType
	TunnelPort  uint16
	TunnelFlags TunnelFlags
}

// family is the destination's effective address family.
func (d Destination) family() Family {
	if d.Family != 0 {
		return d.Family
	}
	return FamilyOf(d.Address)
}

// String returns the destination's address and port, e.g. "192.0.2.15:80".
func (d Destination) String() string {
	return netip.AddrPortFrom(d.Address, d.Port).String()
}

// normalized fills in the family and clears tunnel parameters the kernel
// ignores, so equivalent destinations compare equal with ==.
func (d Destination) normalized() Destination {
	d.Family = d.family()
	if d.ForwardMethod != Tunnel {
		d.TunnelType, d.TunnelPort, d.TunnelFlags = 0, 0, 0
	} else if d.TunnelType != GUE {
		d.TunnelPort = 0
	}
	return d
}

// destKey identifies a destination within its service.
type destKey struct {
	addr netip.Addr
	port uint16
}

func (d Destination) key() destKey { return destKey{d.Address, d.Port} }

// compareDest orders destinations by address, then port.
func compareDest(a, b Destination) int {
	return cmp.Or(a.Address.Compare(b.Address), cmp.Compare(a.Port, b.Port))
}

// Stats are the kernel's traffic counters and rate estimates of a service
// or destination.
type Stats struct {
	Conns    uint64 // connections scheduled
	InPkts   uint64 // packets in
	OutPkts  uint64 // packets out
	InBytes  uint64 // bytes in
	OutBytes uint64 // bytes out
	CPS      uint64 // connections per second
	InPPS    uint64 // packets in per second
	OutPPS   uint64 // packets out per second
	InBPS    uint64 // bytes in per second
	OutBPS   uint64 // bytes out per second
}

// Version is the IPVS version the kernel reports, e.g. 1.2.1.
type Version struct {
	Major, Minor, Patch uint8
}

// String returns "major.minor.patch".
func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Info describes the kernel's IPVS.
type Info struct {
	Version Version
	// ConnTableSize is the number of buckets of the connection hash table.
	ConnTableSize uint32
}

// DaemonState is the role of a connection synchronisation daemon.
type DaemonState uint32

// Sync daemon roles (IP_VS_STATE_*).
const (
	Master DaemonState = 1
	Backup DaemonState = 2
)

// String returns "master", "backup" or "state(N)".
func (s DaemonState) String() string {
	switch s {
	case Master:
		return "master"
	case Backup:
		return "backup"
	}
	return fmt.Sprintf("state(%d)", uint32(s))
}

// SyncDaemon is a connection synchronisation daemon, as started by
// ipvsadm --start-daemon. Zero optional fields take the kernel's defaults.
type SyncDaemon struct {
	State DaemonState
	// McastIfn is the interface the daemon sends or listens on.
	McastIfn string
	SyncID   uint32
	// SyncMaxLen is the largest UDP payload of a sync message.
	SyncMaxLen uint16
	// McastGroup is the IPv4 or IPv6 group; zero means 224.0.0.81.
	McastGroup netip.Addr
	McastPort  uint16
	McastTTL   uint8
}

// String describes the daemon like ipvsadm --list-daemon does.
func (d SyncDaemon) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s sync daemon (mcast=%s, syncid=%d", d.State, d.McastIfn, d.SyncID)
	if d.SyncMaxLen != 0 {
		fmt.Fprintf(&b, ", maxlen=%d", d.SyncMaxLen)
	}
	if d.McastGroup.IsValid() {
		fmt.Fprintf(&b, ", group=%s", d.McastGroup)
	}
	if d.McastPort != 0 {
		fmt.Fprintf(&b, ", port=%d", d.McastPort)
	}
	if d.McastTTL != 0 {
		fmt.Fprintf(&b, ", ttl=%d", d.McastTTL)
	}
	b.WriteString(")")
	return b.String()
}

// Timeouts are the idle timeouts of IPVS connections, in whole seconds.
// In SetTimeouts a zero field leaves the kernel's value unchanged.
type Timeouts struct {
	TCP    time.Duration // established TCP
	TCPFin time.Duration // TCP after FIN
	UDP    time.Duration
}
