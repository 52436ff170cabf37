package bfd

import "fmt"

// DropReason says why a received packet was discarded. The zero value,
// ReasonNone, means the packet was accepted. Drops are counted by reason,
// and the String form is meant as a metric label.
type DropReason uint8

// Drop reasons, after the reception checks of RFC 5880 section 6.8.6 and
// the TTL check of RFC 5881 section 5.
const (
	ReasonNone         DropReason = iota // accepted
	ReasonTTL                            // IPv4 TTL / IPv6 hop limit is not 255 (or was not reported)
	ReasonVersion                        // version is not 1
	ReasonLength                         // datagram or Length under 24, Length over the datagram, or not 24 without authentication
	ReasonAuth                           // the A bit: lbd does no authentication
	ReasonDetectMult                     // Detect Mult is 0
	ReasonMultipoint                     // the M bit is set
	ReasonMyDiscr                        // My Discriminator is 0
	ReasonYourDiscr                      // Your Discriminator is 0 while the state is not Down or AdminDown
	ReasonUnknownDiscr                   // no session has this Your Discriminator
	ReasonNoSession                      // Your Discriminator is 0 and no session has this source and interface
	ReasonPeer                           // the session of Your Discriminator has another peer or interface
	numReasons
)

var reasonNames = [numReasons]string{
	ReasonNone:         "none",
	ReasonTTL:          "ttl",
	ReasonVersion:      "version",
	ReasonLength:       "length",
	ReasonAuth:         "auth",
	ReasonDetectMult:   "detect_mult",
	ReasonMultipoint:   "multipoint",
	ReasonMyDiscr:      "my_discr",
	ReasonYourDiscr:    "your_discr",
	ReasonUnknownDiscr: "unknown_discr",
	ReasonNoSession:    "no_session",
	ReasonPeer:         "peer",
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

// CheckTTL is the GTSM check of RFC 5881 section 5: a single-hop packet
// must arrive with TTL (IPv4) or Hop Limit (IPv6) 255, which no router in
// between can forge. ttl is negative when the socket did not report it.
func CheckTTL(ttl int) DropReason {
	if ttl != 255 {
		return ReasonTTL
	}
	return ReasonNone
}
