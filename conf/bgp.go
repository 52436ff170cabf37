package conf

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults of the bgp section.
const (
	DefaultBGPPort       = 179
	DefaultBGPHoldTime   = 90 * time.Second
	DefaultBGPHoldDown   = 10 * time.Second
	DefaultBGPDrainDelay = 3 * time.Second
	DefaultVIPInterface  = "lo"
	DefaultBFDInterval   = 100 * time.Millisecond
	DefaultBFDMultiplier = 3
	// maxCommunities keeps a route's attributes well inside one UPDATE.
	maxCommunities = 64
)

// BGP announces the addresses of virtual servers with announce: bgp to
// routers, which spread their clients over every balancer that announces
// them (ECMP): active/active instead of VRRP's one master. lbd announces
// and never accepts a route.
type BGP struct {
	Pos Pos `yaml:"-"`
	// LocalASN is this balancer's autonomous system number (required).
	LocalASN uint32 `yaml:"local_asn"`
	// RouterID is the BGP identifier, an IPv4 address unique among the
	// routers and balancers (required).
	RouterID Addr `yaml:"router_id"`
	// ListenPort accepts sessions from passive peers' counterparts: 0
	// listens nowhere unless a peer is passive (then 179).
	ListenPort uint16 `yaml:"listen_port"`
	// HoldDown is how long a virtual server must have been serving again
	// before its address is announced again after a withdrawal, so a
	// flapping set of real servers cannot flap the routers. Default 10s.
	HoldDown Duration `yaml:"hold_down"`
	// DrainDelay is how long a planned drain (ipvsctl drain --balancer,
	// systemctl stop) keeps serving after the peers have been sent the
	// withdrawals, while the routers move the flows to the other
	// balancers. Default 3s.
	DrainDelay Duration `yaml:"drain_delay"`
	// VIPInterface holds the announced addresses as local addresses, so
	// the kernel accepts their traffic without answering ARP for them.
	// Default lo.
	VIPInterface string `yaml:"vip_interface"`
	// Peers are the routers lbd announces to.
	Peers []BGPPeer `yaml:"peers"`
}

// BGPPeer is one BGP session.
type BGPPeer struct {
	Pos Pos `yaml:"-"`
	// Address of the router (IPv4 or IPv6).
	Address Addr `yaml:"address"`
	// ASN is the router's autonomous system: the same as local_asn for
	// iBGP.
	ASN uint32 `yaml:"asn"`
	// Port is the router's BGP port. Default 179.
	Port uint16 `yaml:"port"`
	// HoldTime is proposed in OPEN; the session uses the smaller of both
	// sides'. 0 (the default) is 90s; otherwise at least 3s.
	HoldTime Duration `yaml:"hold_time"`
	// Password sets TCP MD5 signatures (RFC 2385); both sides must agree.
	Password string `yaml:"password"`
	// Passive waits for the router to connect instead of connecting.
	Passive bool `yaml:"passive"`
	// Multihop is the TTL of the session's packets for a router that is
	// not on a directly connected network. Default: directly connected.
	Multihop uint8 `yaml:"multihop"`
	// LocalAddress is the source address of the session. Default: chosen
	// by the routing table.
	LocalAddress Addr `yaml:"local_address"`
	// BFD runs a BFD session (RFC 5880, single hop) with the router, so a
	// dead balancer leaves the router's ECMP set in well under a second
	// rather than after the hold time. {} enables it with the defaults.
	BFD *BFD `yaml:"bfd"`
}

// BFD tunes a BFD session.
type BFD struct {
	Pos Pos `yaml:"-"`
	// MinRx is the slowest rate lbd asks the router to send at. Default 100ms.
	MinRx Duration `yaml:"min_rx"`
	// MinTx is the fastest rate lbd sends at. Default 100ms.
	MinTx Duration `yaml:"min_tx"`
	// Multiplier is how many intervals without a packet mean down. Default 3.
	Multiplier uint8 `yaml:"multiplier"`
}

// BGPRoute is what a virtual server's address is announced with.
type BGPRoute struct {
	Pos Pos `yaml:"-"`
	// Communities are standard communities, "ASN:VALUE" (RFC 1997).
	Communities []string `yaml:"communities"`
	// LargeCommunities are "ASN:DATA1:DATA2" (RFC 8092), each part 32 bits.
	LargeCommunities []string `yaml:"large_communities"`
	// MED is the multi-exit discriminator.
	MED *uint32 `yaml:"med"`
	// LocalPref is the local preference (iBGP peers only).
	LocalPref *uint32 `yaml:"local_pref"`
}

// ParseCommunity parses a standard community "ASN:VALUE", each 0..65535.
func ParseCommunity(s string) (uint32, error) {
	a, v, ok := strings.Cut(s, ":")
	hi, err1 := strconv.ParseUint(a, 10, 16)
	lo, err2 := strconv.ParseUint(v, 10, 16)
	if !ok || err1 != nil || err2 != nil {
		return 0, fmt.Errorf("community %q is not ASN:VALUE with both in 0..65535", s)
	}
	return uint32(hi)<<16 | uint32(lo), nil
}

// ParseLargeCommunity parses a large community "ASN:DATA1:DATA2".
func ParseLargeCommunity(s string) ([3]uint32, error) {
	var v [3]uint32
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return v, fmt.Errorf("large community %q is not ASN:DATA1:DATA2", s)
	}
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return v, fmt.Errorf("large community %q: %q is not a 32-bit number", s, p)
		}
		v[i] = uint32(n)
	}
	return v, nil
}

// AnnouncesBGP reports whether the virtual server's address is announced
// over BGP.
func (vs *VirtualServer) AnnouncesBGP() bool { return vs.Announce == "bgp" }

func (b *BGP) applyDefaults() {
	if b.HoldDown == 0 {
		b.HoldDown = Duration(DefaultBGPHoldDown)
	}
	if b.DrainDelay == 0 {
		b.DrainDelay = Duration(DefaultBGPDrainDelay)
	}
	b.VIPInterface = cmp.Or(b.VIPInterface, DefaultVIPInterface)
	passive := false
	for i := range b.Peers {
		p := &b.Peers[i]
		p.Port = cmp.Or(p.Port, DefaultBGPPort)
		if p.HoldTime == 0 {
			p.HoldTime = Duration(DefaultBGPHoldTime)
		}
		if f := p.BFD; f != nil {
			f.MinRx = cmp.Or(f.MinRx, Duration(DefaultBFDInterval))
			f.MinTx = cmp.Or(f.MinTx, Duration(DefaultBFDInterval))
			f.Multiplier = cmp.Or(f.Multiplier, DefaultBFDMultiplier)
		}
		passive = passive || p.Passive
	}
	if passive && b.ListenPort == 0 {
		b.ListenPort = DefaultBGPPort
	}
}

// validateBGP checks the bgp section and the virtual servers that
// announce over it.
func (c *Config) validateBGP(errs *ErrorList) {
	b := c.BGP
	var announced []*VirtualServer
	for i := range c.VirtualServers {
		vs := &c.VirtualServers[i]
		switch {
		case vs.AnnouncesBGP():
			announced = append(announced, vs)
		case vs.Announce != "":
			errs.errorf(vs.Pos, "virtual server %s: announce %q (bgp, or none to follow vrrp_instance)", vs.Name, vs.Announce)
		case vs.BGPRoute != nil:
			errs.errorf(vs.BGPRoute.Pos, "virtual server %s: bgp_route without announce: bgp", vs.Name)
		}
	}
	if b == nil {
		for _, vs := range announced {
			errs.errorf(vs.Pos, "virtual server %s: announce: bgp needs a bgp section", vs.Name)
		}
		return
	}
	if b.LocalASN == 0 {
		errs.errorf(b.Pos, "bgp: local_asn is required")
	}
	if !b.RouterID.Is4() {
		errs.errorf(b.Pos, "bgp: router_id must be an IPv4 address")
	}
	if len(b.Peers) == 0 {
		errs.errorf(b.Pos, "bgp: no peers")
	}
	seen := map[netip.Addr]bool{}
	for _, p := range b.Peers {
		what := "bgp peer " + p.Address.String()
		switch {
		case !p.Address.IsValid():
			errs.errorf(p.Pos, "bgp peer: address is required")
		case seen[p.Address.Addr]:
			errs.errorf(p.Pos, "%s: listed twice", what)
		}
		seen[p.Address.Addr] = true
		if p.ASN == 0 {
			errs.errorf(p.Pos, "%s: asn is required", what)
		}
		if p.HoldTime.D() < 3*time.Second {
			errs.errorf(p.Pos, "%s: hold_time %v is under 3s (RFC 4271)", what, p.HoldTime.D())
		}
		if len(p.Password) > 80 {
			errs.errorf(p.Pos, "%s: password is longer than TCP MD5's 80 bytes", what)
		}
		if p.LocalAddress.IsValid() && p.LocalAddress.Is4() != p.Address.Is4() {
			errs.errorf(p.Pos, "%s: local_address %s is of the other address family", what, p.LocalAddress)
		}
		if f := p.BFD; f != nil {
			if f.MinRx.D() < 10*time.Millisecond || f.MinTx.D() < 10*time.Millisecond {
				errs.errorf(f.Pos, "%s: bfd min_rx and min_tx must be at least 10ms", what)
			}
			if p.Multihop > 1 {
				errs.errorf(f.Pos, "%s: bfd is single hop (RFC 5881); the peer is multihop", what)
			}
		}
	}
	vrrpVIPs := map[netip.Addr]string{}
	for _, in := range c.VRRPInstances {
		for _, v := range in.VirtualIPAddresses {
			vrrpVIPs[v.Address.Addr()] = in.Name
		}
	}
	routes := map[netip.Addr]*VirtualServer{}
	for _, vs := range announced {
		switch {
		case vs.Address == nil:
			errs.errorf(vs.Pos, "virtual server %s: announce: bgp needs an address (not fwmark or group)", vs.Name)
			continue
		case vs.VRRPInstance != "":
			errs.errorf(vs.Pos, "virtual server %s: announce: bgp and vrrp_instance %s: the address is either on every "+
				"balancer (bgp) or on the VRRP master", vs.Name, vs.VRRPInstance)
		}
		for _, rs := range vs.RealServers {
			if f := rs.InhibitOnFailure; f != nil && !*f {
				errs.errorf(rs.Pos, "virtual server %s: inhibit_on_failure: false with announce: bgp: a failed real server "+
					"keeps its place (weight 0) so that every balancer's table is the same", vs.Name)
			}
		}
		vip := vs.Address.Addr
		if in, ok := vrrpVIPs[vip]; ok {
			errs.errorf(vs.Pos, "virtual server %s: %s is announced over bgp and is a virtual_ipaddress of vrrp instance %s", vs.Name, vip, in)
		}
		if r := vs.BGPRoute; r != nil {
			for _, s := range r.Communities {
				if _, err := ParseCommunity(s); err != nil {
					errs.errorf(r.Pos, "virtual server %s: bgp_route: %v", vs.Name, err)
				}
			}
			for _, s := range r.LargeCommunities {
				if _, err := ParseLargeCommunity(s); err != nil {
					errs.errorf(r.Pos, "virtual server %s: bgp_route: %v", vs.Name, err)
				}
			}
			if n := len(r.Communities) + len(r.LargeCommunities); n > maxCommunities {
				errs.errorf(r.Pos, "virtual server %s: bgp_route: %d communities, more than %d", vs.Name, n, maxCommunities)
			}
		}
		// One address is one route: every virtual server on it must
		// announce it alike.
		if o, ok := routes[vip]; ok && !sameRoute(o.BGPRoute, vs.BGPRoute) {
			errs.errorf(vs.Pos, "virtual server %s: bgp_route differs from virtual server %s's on the same address %s", vs.Name, o.Name, vip)
		}
		routes[vip] = vs
	}
}

func sameRoute(a, b *BGPRoute) bool {
	if a == nil || b == nil {
		return a == b
	}
	eq := func(x, y *uint32) bool { return x == nil && y == nil || x != nil && y != nil && *x == *y }
	return slices.Equal(a.Communities, b.Communities) && slices.Equal(a.LargeCommunities, b.LargeCommunities) &&
		eq(a.MED, b.MED) && eq(a.LocalPref, b.LocalPref)
}
