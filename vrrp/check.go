package vrrp

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// DropReason says why a received packet was discarded. The zero value,
// ReasonNone, means the packet was accepted. Callers count drops by reason
// (the String form is meant as a metric label).
type DropReason uint8

// Drop reasons, after the receive checks of RFC 5798 section 7.1 and
// RFC 3768 section 7.1.
const (
	ReasonNone        DropReason = iota // accepted
	ReasonTTL                           // IPv4 TTL / IPv6 hop limit is not 255
	ReasonTruncated                     // shorter than the header or its address list
	ReasonAddrCount                     // longer than the address count says
	ReasonVersion                       // not the configured version (or v2 over IPv6)
	ReasonType                          // type is not advertisement
	ReasonChecksum                      // checksum mismatch
	ReasonFamily                        // source/destination family unusable
	ReasonVRID                          // no instance with this VRID
	ReasonAuthType                      // v2: auth type differs from the configured one
	ReasonAuth                          // v2: password mismatch
	ReasonInterval                      // v2: interval differs from ours; v3: interval is 0
	ReasonPeer                          // unicast: source is not a configured peer
	ReasonLoop                          // sent from our own address
	ReasonDestination                   // multicast: not sent to the VRRP group; unicast: not sent to a unicast address
	numReasons
)

var reasonNames = [numReasons]string{
	ReasonNone:        "none",
	ReasonTTL:         "ttl",
	ReasonTruncated:   "truncated",
	ReasonAddrCount:   "addr_count",
	ReasonVersion:     "version",
	ReasonType:        "type",
	ReasonChecksum:    "checksum",
	ReasonFamily:      "family",
	ReasonVRID:        "vrid",
	ReasonAuthType:    "auth_type",
	ReasonAuth:        "auth",
	ReasonInterval:    "interval",
	ReasonPeer:        "peer",
	ReasonLoop:        "loop",
	ReasonDestination: "destination",
}

// String returns a short snake_case name, stable for use as a metric label.
func (r DropReason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason_%d", uint8(r))
}

// DropReasons returns every reason except ReasonNone, so that a metric can
// be initialised with all its labels.
func DropReasons() []DropReason {
	rs := make([]DropReason, 0, numReasons-1)
	for r := ReasonTTL; r < numReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}

// ReasonOf maps an error from [Decode] to its drop reason. It returns
// ReasonNone for a nil error and ReasonTruncated for an unknown error.
func ReasonOf(err error) DropReason {
	switch {
	case err == nil:
		return ReasonNone
	case errors.Is(err, ErrTruncated):
		return ReasonTruncated
	case errors.Is(err, ErrAddrCount):
		return ReasonAddrCount
	case errors.Is(err, ErrVersion):
		return ReasonVersion
	case errors.Is(err, ErrType):
		return ReasonType
	case errors.Is(err, ErrChecksum):
		return ReasonChecksum
	case errors.Is(err, ErrFamily):
		return ReasonFamily
	case errors.Is(err, ErrInterval):
		return ReasonInterval
	case errors.Is(err, ErrAuth):
		return ReasonAuthType
	}
	return ReasonTruncated
}

// CheckConfig is what the receive checks need to know of one instance.
type CheckConfig struct {
	Version Version
	VRID    uint8
	// Interval is the configured advertisement interval. A VRRPv2 advert
	// with another interval is dropped; a VRRPv3 one is accepted and
	// flagged (the Backup adopts the Master's interval), unless its
	// interval is 0, which would make a Backup's Master_Down_Interval
	// only the skew time.
	Interval time.Duration
	// AuthType and AuthData: VRRPv2 only. Adverts must carry the same
	// type, and for AuthSimple the same 8 bytes.
	AuthType AuthType
	AuthData [8]byte
	// Addrs are the configured virtual addresses. A mismatch is flagged,
	// never dropped (RFC 5798 section 7.1: log, and go on).
	Addrs []netip.Addr
	// Unicast disables the TTL check, as keepalived does for unicast
	// peers, which may be routed, and makes Receive take adverts sent to
	// a unicast address instead of the VRRP multicast group.
	Unicast bool
	// Peers, when not empty, are the only accepted sources.
	Peers []netip.Addr
	// Self is our own source address; adverts from it are looped back
	// copies of our own and are dropped.
	Self netip.Addr
	// Group is the multicast group adverts must be sent to when not
	// Unicast (keepalived vrrp_mcast_group4 / vrrp_mcast_group6);
	// invalid: the VRRP group of the family, 224.0.0.18 or ff02::12.
	Group netip.Addr
}

// Verdict is the outcome of the receive checks.
type Verdict struct {
	Drop DropReason // ReasonNone: accepted
	// AddrMismatch: accepted, but the address list differs from ours.
	AddrMismatch bool
	// IntervalMismatch: accepted (VRRPv3), but the interval differs.
	IntervalMismatch bool
}

// OK reports whether the packet was accepted.
func (v Verdict) OK() bool { return v.Drop == ReasonNone }

// Check applies the receive checks that need the instance configuration to
// a decoded advertisement from src, received with the given TTL or hop
// limit (pass a negative ttl when the socket did not report it).
func (c *CheckConfig) Check(a *Advert, src netip.Addr, ttl int) Verdict {
	if !c.Unicast && ttl >= 0 && ttl != TTL {
		return Verdict{Drop: ReasonTTL}
	}
	if a.Version != c.Version {
		return Verdict{Drop: ReasonVersion}
	}
	if a.VRID != c.VRID {
		return Verdict{Drop: ReasonVRID}
	}
	src = src.Unmap()
	if c.Self.IsValid() && src == c.Self.Unmap() {
		return Verdict{Drop: ReasonLoop}
	}
	if len(c.Peers) > 0 && !slices.ContainsFunc(c.Peers, func(p netip.Addr) bool { return p.Unmap() == src }) {
		return Verdict{Drop: ReasonPeer}
	}
	var v Verdict
	if a.Version == Version2 {
		if a.AuthType != c.AuthType || (a.AuthType != AuthNone && a.AuthType != AuthSimple) {
			return Verdict{Drop: ReasonAuthType}
		}
		if a.AuthType == AuthSimple && subtle.ConstantTimeCompare(a.AuthData[:], c.AuthData[:]) != 1 {
			return Verdict{Drop: ReasonAuth}
		}
		if a.Interval != c.Interval {
			return Verdict{Drop: ReasonInterval}
		}
	} else if a.Interval == 0 {
		return Verdict{Drop: ReasonInterval}
	} else if a.Interval != c.Interval {
		v.IntervalMismatch = true
	}
	v.AddrMismatch = !sameAddrs(a.Addrs, c.Addrs)
	return v
}

// Receive decodes b (the IP payload from src to dst, received with the given
// TTL or hop limit) and checks it, and its destination: RFC 5798 section 7.1
// and keepalived take in multicast mode only adverts sent to the VRRP group
// (or the configured one),
// and in unicast mode only adverts sent to a unicast address (ours: the
// kernel delivers no other). On a drop the advert is nil unless the message
// decoded.
func (c *CheckConfig) Receive(b []byte, src, dst netip.Addr, ttl int) (*Advert, Verdict) {
	if !c.Unicast && ttl >= 0 && ttl != TTL {
		return nil, Verdict{Drop: ReasonTTL}
	}
	a, err := Decode(b, src, dst)
	if err != nil {
		return nil, Verdict{Drop: ReasonOf(err)}
	}
	if !c.destinationOK(dst) {
		return a, Verdict{Drop: ReasonDestination}
	}
	return a, c.Check(a, src, ttl)
}

func (c *CheckConfig) destinationOK(dst netip.Addr) bool {
	dst = dst.Unmap()
	if c.Unicast {
		return dst.IsGlobalUnicast() || dst.IsLinkLocalUnicast()
	}
	if c.Group.IsValid() {
		return dst == c.Group.Unmap()
	}
	return dst == MulticastIPv4 || dst == MulticastIPv6
}

// GroupOf returns the multicast group adverts of a family go to: group
// when it is set, else the VRRP group, 224.0.0.18 or ff02::12.
func GroupOf(group netip.Addr, ipv6 bool) netip.Addr {
	switch {
	case group.IsValid():
		return group.Unmap()
	case ipv6:
		return MulticastIPv6
	}
	return MulticastIPv4
}

// sameAddrs reports whether x and y hold the same addresses, in any order.
func sameAddrs(x, y []netip.Addr) bool {
	if len(x) != len(y) {
		return false
	}
	for _, a := range x {
		if !slices.ContainsFunc(y, func(b netip.Addr) bool { return a.Unmap() == b.Unmap() }) {
			return false
		}
	}
	return true
}
