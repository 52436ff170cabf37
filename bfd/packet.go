package bfd

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Version is the BFD protocol version this package speaks (RFC 5880).
const Version = 1

// HeaderLen is the length of the mandatory section of a Control packet;
// without authentication it is the whole packet.
const HeaderLen = 24

// minAuthLen is the shortest packet whose A bit is set: the mandatory
// section plus the two-byte head of an authentication section.
const minAuthLen = HeaderLen + 2

// State is a session state as carried in the Sta field.
type State uint8

// Session states (RFC 5880 section 4.1).
const (
	StateAdminDown State = 0
	StateDown      State = 1
	StateInit      State = 2
	StateUp        State = 3
)

var stateNames = [...]string{"AdminDown", "Down", "Init", "Up"}

// String returns the RFC name of the state.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Diag is the diagnostic code: why the sender's session last left Up.
type Diag uint8

// Diagnostic codes (RFC 5880 section 4.1). lbd sets only DiagNone,
// DiagControlExpired, DiagNeighborDown and DiagAdminDown; the others are
// decoded so that the peer's reason can be reported.
const (
	DiagNone              Diag = 0
	DiagControlExpired    Diag = 1
	DiagEchoFailed        Diag = 2
	DiagNeighborDown      Diag = 3
	DiagForwardingReset   Diag = 4
	DiagPathDown          Diag = 5
	DiagConcatenatedDown  Diag = 6
	DiagAdminDown         Diag = 7
	DiagReverseConcatDown Diag = 8
)

var diagNames = [...]string{
	"none", "control_detection_time_expired", "echo_function_failed",
	"neighbor_signaled_session_down", "forwarding_plane_reset", "path_down",
	"concatenated_path_down", "administratively_down", "reverse_concatenated_path_down",
}

// String returns a snake_case name, stable for logs and metric labels.
func (d Diag) String() string {
	if int(d) < len(diagNames) {
		return diagNames[d]
	}
	return fmt.Sprintf("diag_%d", uint8(d))
}

// Control is a BFD Control packet without authentication section. The
// intervals are carried on the wire in microseconds; Marshal truncates
// them to whole microseconds and clamps them to the 32-bit field.
type Control struct {
	Diag       Diag
	State      State
	Poll       bool // P
	Final      bool // F
	CPI        bool // C: control plane independent
	Auth       bool // A: an authentication section follows (never sent by lbd)
	Demand     bool // D
	Multipoint bool // M: reserved, must be zero
	DetectMult uint8
	// Length is the Length field as decoded; Marshal writes HeaderLen.
	Length            uint8
	MyDiscr           uint32
	YourDiscr         uint32
	DesiredMinTx      time.Duration
	RequiredMinRx     time.Duration
	RequiredMinEchoRx time.Duration
}

const (
	flagPoll       = 0x20
	flagFinal      = 0x10
	flagCPI        = 0x08
	flagAuth       = 0x04
	flagDemand     = 0x02
	flagMultipoint = 0x01
)

// Marshal appends the packet's wire form (HeaderLen bytes) to b.
func (c *Control) Marshal(b []byte) []byte {
	flags := byte(c.State&3) << 6
	for _, f := range []struct {
		set bool
		bit byte
	}{{c.Poll, flagPoll}, {c.Final, flagFinal}, {c.CPI, flagCPI}, {c.Auth, flagAuth}, {c.Demand, flagDemand}, {c.Multipoint, flagMultipoint}} {
		if f.set {
			flags |= f.bit
		}
	}
	b = append(b, Version<<5|byte(c.Diag&0x1f), flags, c.DetectMult, HeaderLen)
	b = binary.BigEndian.AppendUint32(b, c.MyDiscr)
	b = binary.BigEndian.AppendUint32(b, c.YourDiscr)
	b = binary.BigEndian.AppendUint32(b, micros(c.DesiredMinTx))
	b = binary.BigEndian.AppendUint32(b, micros(c.RequiredMinRx))
	return binary.BigEndian.AppendUint32(b, micros(c.RequiredMinEchoRx))
}

// micros converts d to the wire's microseconds, clamped to 32 bits.
func micros(d time.Duration) uint32 {
	us := d.Microseconds()
	switch {
	case us < 0:
		return 0
	case us > 0xffffffff:
		return 0xffffffff
	}
	return uint32(us)
}

// Unmarshal decodes a Control packet (a UDP payload) and applies the
// reception checks of RFC 5880 section 6.8.6 that need no session: it
// returns ReasonNone and the packet, or the reason to drop it. Bytes after
// Length are ignored (the UDP payload may be padded). lbd does no
// authentication, so a packet with the A bit is dropped (ReasonAuth), as
// is one with A clear whose Length is not HeaderLen. Looking the session
// up (ReasonUnknownDiscr, ReasonNoSession) and the TTL check (ReasonTTL)
// are the caller's.
func Unmarshal(b []byte) (Control, DropReason) {
	if len(b) == 0 {
		return Control{}, ReasonLength
	}
	if b[0]>>5 != Version {
		return Control{}, ReasonVersion
	}
	if len(b) < HeaderLen {
		return Control{}, ReasonLength
	}
	flags := b[1]
	c := Control{
		Diag:              Diag(b[0] & 0x1f),
		State:             State(flags >> 6),
		Poll:              flags&flagPoll != 0,
		Final:             flags&flagFinal != 0,
		CPI:               flags&flagCPI != 0,
		Auth:              flags&flagAuth != 0,
		Demand:            flags&flagDemand != 0,
		Multipoint:        flags&flagMultipoint != 0,
		DetectMult:        b[2],
		Length:            b[3],
		MyDiscr:           binary.BigEndian.Uint32(b[4:]),
		YourDiscr:         binary.BigEndian.Uint32(b[8:]),
		DesiredMinTx:      time.Duration(binary.BigEndian.Uint32(b[12:])) * time.Microsecond,
		RequiredMinRx:     time.Duration(binary.BigEndian.Uint32(b[16:])) * time.Microsecond,
		RequiredMinEchoRx: time.Duration(binary.BigEndian.Uint32(b[20:])) * time.Microsecond,
	}
	n := int(c.Length)
	switch {
	case n > len(b), n < HeaderLen, c.Auth && n < minAuthLen:
		return Control{}, ReasonLength
	case c.Auth:
		return Control{}, ReasonAuth
	case n != HeaderLen:
		return Control{}, ReasonLength
	case c.DetectMult == 0:
		return Control{}, ReasonDetectMult
	case c.Multipoint:
		return Control{}, ReasonMultipoint
	case c.MyDiscr == 0:
		return Control{}, ReasonMyDiscr
	case c.YourDiscr == 0 && c.State != StateDown && c.State != StateAdminDown:
		return Control{}, ReasonYourDiscr
	}
	return c, ReasonNone
}
