package bgp

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Defaults applied to a zero field by [Config.WithDefaults].
const (
	DefaultPort     = 179
	DefaultHoldTime = 90 * time.Second
	// minHoldTime is RFC 4271's smallest non-zero hold time.
	minHoldTime = 3 * time.Second
	// maxPasswordLen is the kernel's TCP_MD5SIG_MAXKEYLEN.
	maxPasswordLen = 80
	// connectRetry and idleHoldAfterReset replace gobgp's defaults (120 s
	// and 30 s): a balancer whose session dropped must be back in the
	// routers' ECMP group in seconds.
	connectRetry       = 5 * time.Second
	idleHoldAfterReset = 5 * time.Second
)

// Family is an address family lbd announces on a session.
type Family uint8

const (
	IPv4Unicast Family = iota + 1
	IPv6Unicast
)

func (f Family) String() string {
	switch f {
	case IPv4Unicast:
		return "ipv4-unicast"
	case IPv6Unicast:
		return "ipv6-unicast"
	}
	return fmt.Sprintf("family(%d)", uint8(f))
}

// familyOf is the family a prefix is announced in.
func familyOf(a netip.Addr) Family {
	if a.Is4() {
		return IPv4Unicast
	}
	return IPv6Unicast
}

// Config is the BGP speaker's configuration.
type Config struct {
	LocalASN uint32
	RouterID netip.Addr // IPv4
	// ListenPort is the TCP port the speaker accepts sessions on; 0 does
	// not listen unless a peer is Passive, then it is DefaultPort.
	ListenPort uint16
	Peers      []PeerConfig
}

// PeerConfig is one neighbor (an upstream router).
type PeerConfig struct {
	Address netip.Addr
	ASN     uint32
	Port    uint16 // the peer's port; 0 is DefaultPort
	// HoldTime is proposed in OPEN; 0 is DefaultHoldTime. Keepalives go
	// every third of the negotiated hold time.
	HoldTime time.Duration
	Password string // TCP MD5 signature (RFC 2385); empty for none
	// Passive waits for the peer to connect (needs the listener).
	Passive bool
	// MultihopTTL is the TTL of an eBGP session whose peer is not on a
	// connected network; 0 is a single hop (TTL 1). iBGP ignores it.
	MultihopTTL uint8
	// LocalAddress is the source address of the session; invalid lets the
	// kernel choose.
	LocalAddress netip.Addr
	// Families are announced on the session; empty means the family of
	// Address. Routes of the other family need an explicit Route.NextHop.
	Families []Family
}

// WithDefaults returns a copy of c with every zero field that has a
// default filled in; c itself is not changed.
func (c Config) WithDefaults() Config {
	peers := make([]PeerConfig, len(c.Peers))
	passive := false
	for i, p := range c.Peers {
		peers[i] = p.withDefaults()
		passive = passive || p.Passive
	}
	c.Peers = peers
	if c.ListenPort == 0 && passive {
		c.ListenPort = DefaultPort
	}
	return c
}

func (p PeerConfig) withDefaults() PeerConfig {
	p.Address = p.Address.Unmap()
	p.LocalAddress = p.LocalAddress.Unmap()
	if p.Port == 0 {
		p.Port = DefaultPort
	}
	if p.HoldTime == 0 {
		p.HoldTime = DefaultHoldTime
	}
	if len(p.Families) == 0 {
		p.Families = []Family{familyOf(p.Address)}
	} else {
		p.Families = append([]Family(nil), p.Families...)
	}
	return p
}

// Validate checks c (defaults applied or not) and returns every problem,
// each naming its field.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	if c.LocalASN == 0 || c.LocalASN == 23456 || c.LocalASN == 0xffffffff {
		bad("LocalASN", "%d is reserved", c.LocalASN)
	}
	if !c.RouterID.Is4() || c.RouterID.IsUnspecified() {
		bad("RouterID", "%v is not a non-zero IPv4 address", c.RouterID)
	}
	seen := make(map[netip.Addr]int)
	for i, p := range c.Peers {
		field := func(name string) string { return fmt.Sprintf("Peers[%d].%s", i, name) }
		a := p.Address.Unmap()
		switch {
		case !a.IsValid() || a.IsUnspecified() || a.IsMulticast():
			bad(field("Address"), "%v is not a unicast address", p.Address)
		case a.Zone() != "":
			bad(field("Address"), "%v: zoned (link-local) peers are not supported", p.Address)
		default:
			if j, dup := seen[a]; dup {
				bad(field("Address"), "%v is also Peers[%d]", a, j)
			}
			seen[a] = i
		}
		if p.ASN == 0 || p.ASN == 23456 || p.ASN == 0xffffffff {
			bad(field("ASN"), "%d is reserved", p.ASN)
		}
		if p.HoldTime != 0 && (p.HoldTime < minHoldTime || p.HoldTime > 65535*time.Second || p.HoldTime%time.Second != 0) {
			bad(field("HoldTime"), "%v: want whole seconds from 3s to 65535s", p.HoldTime)
		}
		if len(p.Password) > maxPasswordLen {
			bad(field("Password"), "longer than %d bytes", maxPasswordLen)
		}
		if p.LocalAddress.IsValid() {
			la := p.LocalAddress.Unmap()
			if la.IsUnspecified() || la.IsMulticast() {
				bad(field("LocalAddress"), "%v is not a unicast address", p.LocalAddress)
			} else if a.IsValid() && la.Is4() != a.Is4() {
				bad(field("LocalAddress"), "%v is not of the family of Address %v", la, a)
			}
		}
		fams := make(map[Family]bool)
		for _, f := range p.Families {
			if f != IPv4Unicast && f != IPv6Unicast {
				bad(field("Families"), "unknown family %v", f)
			} else if fams[f] {
				bad(field("Families"), "%v listed twice", f)
			}
			fams[f] = true
		}
	}
	return errors.Join(errs...)
}

// isIBGP reports whether the session with p is internal.
func (c Config) isIBGP(p PeerConfig) bool { return p.ASN == c.LocalASN }
