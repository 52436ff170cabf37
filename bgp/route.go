package bgp

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/apiutil"
	pkt "github.com/osrg/gobgp/v3/pkg/packet/bgp"
)

// maxCommunities bounds the communities of one route, keeping its path
// attributes well inside a 4096-byte UPDATE.
const maxCommunities = 64

// Route is what lbd says about one announced prefix.
type Route struct {
	// NextHop is invalid for "self": the local address of each session.
	NextHop          netip.Addr
	Communities      []uint32 // RFC 1997, ASN<<16 | value
	LargeCommunities []LargeCommunity
	MED              *uint32
	LocalPref        *uint32 // sent to iBGP peers only
}

// LargeCommunity is an RFC 8092 community, ASN:Data1:Data2.
type LargeCommunity struct{ ASN, Data1, Data2 uint32 }

func (c LargeCommunity) String() string { return fmt.Sprintf("%d:%d:%d", c.ASN, c.Data1, c.Data2) }

// validate checks that r can be announced for prefix.
func (r Route) validate(prefix netip.Prefix) error {
	if !prefix.IsValid() || prefix != prefix.Masked() {
		return fmt.Errorf("prefix %v: not a valid masked prefix", prefix)
	}
	if prefix.Addr().Zone() != "" || prefix.Addr().Is4In6() {
		return fmt.Errorf("prefix %v: zoned or IPv4-mapped", prefix)
	}
	if nh := r.NextHop; nh.IsValid() {
		if nh.IsUnspecified() || nh.IsMulticast() || nh.Zone() != "" || nh.Is4In6() || nh.Is4() != prefix.Addr().Is4() {
			return fmt.Errorf("prefix %v: next hop %v is not a unicast address of its family", prefix, nh)
		}
	}
	if len(r.Communities) > maxCommunities || len(r.LargeCommunities) > maxCommunities {
		return fmt.Errorf("prefix %v: more than %d communities", prefix, maxCommunities)
	}
	return nil
}

// clone returns a deep copy, so a caller's later edits change nothing.
func (r Route) clone() Route {
	r.Communities = slices.Clone(r.Communities)
	r.LargeCommunities = slices.Clone(r.LargeCommunities)
	if r.MED != nil {
		v := *r.MED
		r.MED = &v
	}
	if r.LocalPref != nil {
		v := *r.LocalPref
		r.LocalPref = &v
	}
	return r
}

// apiPath builds gobgp's path for prefix; withdraw makes it a withdrawal.
// An unspecified next hop is "self": gobgp puts each session's local
// address there.
func apiPath(prefix netip.Prefix, r Route, withdraw bool) (*api.Path, error) {
	a := prefix.Addr()
	nh := r.NextHop
	var nlri pkt.AddrPrefixInterface
	if a.Is4() {
		nlri = pkt.NewIPAddrPrefix(uint8(prefix.Bits()), a.String())
		if !nh.IsValid() {
			nh = netip.IPv4Unspecified()
		}
	} else {
		nlri = pkt.NewIPv6AddrPrefix(uint8(prefix.Bits()), a.String())
		if !nh.IsValid() {
			nh = netip.IPv6Unspecified()
		}
	}
	attrs := []pkt.PathAttributeInterface{pkt.NewPathAttributeOrigin(pkt.BGP_ORIGIN_ATTR_TYPE_IGP)}
	if a.Is4() {
		attrs = append(attrs, pkt.NewPathAttributeNextHop(nh.String()))
	} else {
		attrs = append(attrs, pkt.NewPathAttributeMpReachNLRI(nh.String(), []pkt.AddrPrefixInterface{nlri}))
	}
	if len(r.Communities) > 0 {
		attrs = append(attrs, pkt.NewPathAttributeCommunities(r.Communities))
	}
	if len(r.LargeCommunities) > 0 {
		lc := make([]*pkt.LargeCommunity, len(r.LargeCommunities))
		for i, c := range r.LargeCommunities {
			lc[i] = pkt.NewLargeCommunity(c.ASN, c.Data1, c.Data2)
		}
		attrs = append(attrs, pkt.NewPathAttributeLargeCommunities(lc))
	}
	if r.MED != nil {
		attrs = append(attrs, pkt.NewPathAttributeMultiExitDisc(*r.MED))
	}
	if r.LocalPref != nil {
		attrs = append(attrs, pkt.NewPathAttributeLocalPref(*r.LocalPref))
	}
	return apiutil.NewPath(nlri, withdraw, attrs, time.Now())
}
