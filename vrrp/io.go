package vrrp

import (
	"net/netip"
	"time"
)

// This file holds the runner's seams to the host: the packet conn, the
// virtual addresses, the announcer, and the GARP settings.

// Packet is one received VRRP packet: the IP payload and what the IP layer
// reported about it.
type Packet struct {
	Src, Dst netip.Addr // without zone
	// TTL is the IPv4 TTL or IPv6 hop limit; negative when the socket did
	// not report it.
	TTL     int
	Payload []byte // the VRRP message (IP payload)
}

// Conn sends and receives VRRP messages of one address family on one link.
// Implementations must send from the instance's [Config.Primary] (the
// checksum of VRRPv3 covers it) with TTL / hop limit 255.
type Conn interface {
	// Send sends one VRRP message, checksum included, to dst (the
	// multicast group or a unicast peer).
	Send(msg []byte, dst netip.Addr) error
	// Receive blocks until a packet arrives. After Close it returns an
	// error (wrapping net.ErrClosed for sockets).
	Receive() (Packet, error)
	// Close releases the conn and unblocks Receive.
	Close() error
}

// VIP is a virtual address and how it is installed on the host.
type VIP struct {
	// Prefix is the address with its prefix length; a /32 (IPv4) or
	// /128 (IPv6) host route unless configured otherwise.
	Prefix netip.Prefix
	// Dev is the interface; empty means the [VIPManager]'s default, the
	// instance's interface.
	Dev string
	// Label is the optional IPv4 address label (keepalived "label"); the
	// kernel wants it to start with the interface name.
	Label string
}

// Addr returns the virtual address.
func (v VIP) Addr() netip.Addr { return v.Prefix.Addr() }

// String returns the prefix, and the interface when set.
func (v VIP) String() string {
	if v.Dev == "" {
		return v.Prefix.String()
	}
	return v.Prefix.String() + " dev " + v.Dev
}

// VIPManager adds and removes virtual addresses on the host.
type VIPManager interface {
	// AddVIP installs v; an address already present is not an error.
	AddVIP(v VIP) error
	// RemoveVIP removes v if present and reports whether it was; an
	// absent address is not an error.
	RemoveVIP(v VIP) (removed bool, err error)
	// HasVIP reports whether v is installed.
	HasVIP(v VIP) (bool, error)
}

// Announcer sends one gratuitous ARP (IPv4) or unsolicited neighbour
// advertisement (IPv6) per address. The runner calls it Repeat times per
// burst.
type Announcer interface {
	Announce(addrs []netip.Addr) error
	// Watch calls heard, from a goroutine of its own, each time another
	// host announces one of addrs on the interface (a gratuitous ARP, an
	// ARP reply or an unsolicited neighbour advertisement whose sender is
	// not this interface), until stop is called; heard is not called
	// after stop returns. A Master that hands over watches for the new
	// Master's announcements before it lets its addresses go.
	Watch(addrs []netip.Addr, heard func()) (stop func(), err error)
}

// Notification reports one state change of an instance, from the runner
// goroutine, to [RunnerConfig.OnTransition].
type Notification struct {
	Instance   string
	VRID       uint8
	Transition Transition
	Reason     string    // why, as status reports it (InstanceStats.LastReason)
	Priority   uint8     // our effective priority after the change
	Time       time.Time // when the runner carried it out
}

// GARP defaults. lbd refreshes by default, unlike keepalived (where
// garp_master_refresh is off): switches age out forwarding entries and
// hosts keep stale ARP entries after a split brain, and one gratuitous ARP
// a minute costs nothing.
const (
	DefaultGARPDelay         = 5 * time.Second  // keepalived garp_master_delay
	DefaultGARPRepeat        = 5                // keepalived garp_master_repeat
	DefaultGARPRefresh       = 60 * time.Second // keepalived garp_master_refresh (off there)
	DefaultGARPRefreshRepeat = 1                // keepalived garp_master_refresh_repeat
)

// GARPConfig says when a Master announces its addresses. A zero field means
// its default; a negative duration turns that part off.
type GARPConfig struct {
	// Delay: a second burst this long after becoming Master (keepalived
	// garp_master_delay, default 5 s).
	Delay time.Duration
	// Repeat: announcements per address in a burst (keepalived
	// garp_master_repeat, default 5).
	Repeat int
	// Refresh: while Master, a burst this often (keepalived
	// garp_master_refresh; lbd default 60 s). On each refresh the runner
	// also re-adds virtual addresses removed behind its back.
	Refresh time.Duration
	// RefreshRepeat: announcements per address in a refresh burst
	// (keepalived garp_master_refresh_repeat, default 1).
	RefreshRepeat int
	// LowerPrioRepeat: announcements per address in the burst that
	// answers a lower-priority Master's advert (keepalived
	// garp_lower_prio_repeat); 0: Repeat.
	LowerPrioRepeat int
	// LowerPrioDelay: a second such burst this long after it (keepalived
	// garp_lower_prio_delay); 0: Delay, negative: none.
	LowerPrioDelay time.Duration
	// Interval: the gap after each gratuitous ARP before the next
	// announcement of the member (keepalived garp_interval); NAInterval
	// the same after each unsolicited NA (keepalived gna_interval). 0:
	// back to back. For switches that cannot take a flood of them.
	Interval, NAInterval time.Duration
}

func (g GARPConfig) withDefaults() GARPConfig {
	if g.Delay == 0 {
		g.Delay = DefaultGARPDelay
	}
	if g.Repeat <= 0 {
		g.Repeat = DefaultGARPRepeat
	}
	if g.Refresh == 0 {
		g.Refresh = DefaultGARPRefresh
	}
	if g.RefreshRepeat <= 0 {
		g.RefreshRepeat = DefaultGARPRefreshRepeat
	}
	if g.LowerPrioRepeat <= 0 {
		g.LowerPrioRepeat = g.Repeat
	}
	if g.LowerPrioDelay == 0 {
		g.LowerPrioDelay = g.Delay
	}
	return g
}
