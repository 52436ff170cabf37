package vrrp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Protocol is the IP protocol number of VRRP.
const Protocol = 112

// TTL is the IPv4 TTL / IPv6 hop limit every advertisement is sent with and
// that multicast receivers require (RFC 5798 section 5.1.1.3).
const TTL = 255

// Multicast groups that VRRP advertisements are sent to.
var (
	MulticastIPv4 = netip.MustParseAddr("224.0.0.18")
	MulticastIPv6 = netip.MustParseAddr("ff02::12")
)

// Priorities with a meaning of their own (RFC 5798 section 5.2.4).
const (
	// PriorityStop is sent by a Master that stops being Master, so that a
	// Backup takes over after Skew_Time instead of Master_Down_Interval.
	PriorityStop = 0
	// PriorityOwner is the priority of the router that owns the virtual
	// addresses; it becomes Master at once on startup.
	PriorityOwner = 255
	// PriorityDefault is the default priority of a Backup router.
	PriorityDefault = 100
)

// Version is the VRRP protocol version.
type Version uint8

// VRRP versions.
const (
	Version2 Version = 2 // RFC 3768, IPv4 only, intervals in seconds
	Version3 Version = 3 // RFC 5798, IPv4 and IPv6, intervals in centiseconds
)

// typeAdvertisement is the only VRRP packet type.
const typeAdvertisement = 1

// AuthType is the VRRPv2 authentication type (RFC 3768 section 5.3.6).
type AuthType uint8

// VRRPv2 authentication types. RFC 3768 removed authentication; keepalived
// still speaks simple text passwords, so lbd does too for interop.
const (
	AuthNone   AuthType = 0 // no authentication
	AuthSimple AuthType = 1 // simple text password (keepalived "PASS")
	AuthAH     AuthType = 2 // IP Authentication Header (not supported)
)

// String returns the keepalived name of the authentication type.
func (t AuthType) String() string {
	switch t {
	case AuthNone:
		return "NONE"
	case AuthSimple:
		return "PASS"
	case AuthAH:
		return "AH"
	}
	return fmt.Sprintf("AuthType(%d)", uint8(t))
}

// Message sizes.
const (
	headerLen   = 8 // fixed VRRP header, both versions
	authDataLen = 8 // VRRPv2 authentication data after the addresses
	// MaxAddrs is the largest number of addresses an advertisement carries.
	MaxAddrs = 255
	// maxV3Interval is the largest VRRPv3 Max Advertise Interval, in
	// centiseconds (12 bits).
	maxV3Interval = 1<<12 - 1
	// maxV2Interval is the largest VRRPv2 Advertisement Interval, in
	// seconds (8 bits).
	maxV2Interval = 1<<8 - 1
)

// Advert is one VRRP advertisement: the message that follows the IP header.
// The same type holds both versions; AuthType and AuthData are used by
// version 2 only and must be zero for version 3.
type Advert struct {
	Version  Version
	VRID     uint8 // virtual router identifier, 1..255 on the wire in practice
	Priority uint8 // 0 = master stopping, 255 = address owner
	// Interval is the advertisement interval: whole seconds (1..255) for
	// version 2, centiseconds (0..4095) for version 3.
	Interval time.Duration
	AuthType AuthType // version 2 only
	AuthData [8]byte  // version 2 only; the password for AuthSimple
	// Addrs are the virtual addresses, all of the family of the packet.
	Addrs []netip.Addr
}

// Sentinel errors returned (wrapped) by [Decode] and [Advert.Marshal]. Use
// errors.Is, or [ReasonOf] to map them to a [DropReason].
var (
	ErrTruncated = errors.New("vrrp: message truncated")
	ErrAddrCount = errors.New("vrrp: address count does not match message length")
	ErrVersion   = errors.New("vrrp: unsupported version")
	ErrType      = errors.New("vrrp: not an advertisement")
	ErrChecksum  = errors.New("vrrp: bad checksum")
	ErrFamily    = errors.New("vrrp: address family mismatch")
	ErrInterval  = errors.New("vrrp: advertisement interval out of range")
	ErrAuth      = errors.New("vrrp: authentication fields invalid for version")
)

// Len returns the encoded length of the message: the header, 4 or 16 bytes
// per address, and for version 2 the 8 bytes of authentication data.
func (a *Advert) Len() int {
	n := headerLen
	for _, ip := range a.Addrs {
		n += ip.BitLen() / 8
	}
	if a.Version == Version2 {
		n += authDataLen
	}
	return n
}

// intervalField converts Interval to its wire value.
func (a *Advert) intervalField() (uint16, error) {
	switch a.Version {
	case Version2:
		if a.Interval < 0 || a.Interval%time.Second != 0 || a.Interval > maxV2Interval*time.Second {
			return 0, fmt.Errorf("%w: %v is not 0..255 whole seconds", ErrInterval, a.Interval)
		}
		return uint16(a.Interval / time.Second), nil
	case Version3:
		cs := 10 * time.Millisecond
		if a.Interval < 0 || a.Interval%cs != 0 || a.Interval > maxV3Interval*cs {
			return 0, fmt.Errorf("%w: %v is not 0..4095 centiseconds", ErrInterval, a.Interval)
		}
		return uint16(a.Interval / cs), nil
	}
	return 0, fmt.Errorf("%w: %d", ErrVersion, a.Version)
}

// Marshal encodes the advertisement, with its checksum, as sent from src to
// dst. For version 3 the checksum covers the IPv4 or IPv6 pseudo-header built
// from src and dst (RFC 5798 section 5.2.8); for version 2 it covers the
// VRRP message only and src/dst only fix the address family. All Addrs must
// be of the family of src and dst.
func (a *Advert) Marshal(src, dst netip.Addr) ([]byte, error) {
	return a.Append(make([]byte, 0, a.Len()), src, dst)
}

// Append is [Advert.Marshal] appending to b.
func (a *Advert) Append(b []byte, src, dst netip.Addr) ([]byte, error) {
	is4, err := family(src, dst)
	if err != nil {
		return b, err
	}
	if a.Version == Version2 && !is4 {
		return b, fmt.Errorf("%w: VRRPv2 is IPv4 only", ErrFamily)
	}
	iv, err := a.intervalField()
	if err != nil {
		return b, err
	}
	if a.Version == Version3 && (a.AuthType != AuthNone || a.AuthData != [8]byte{}) {
		return b, fmt.Errorf("%w: VRRPv3 has no authentication", ErrAuth)
	}
	if len(a.Addrs) > MaxAddrs {
		return b, fmt.Errorf("%w: %d addresses, at most %d", ErrAddrCount, len(a.Addrs), MaxAddrs)
	}
	for _, ip := range a.Addrs {
		if !ip.IsValid() || ip.Zone() != "" || ip.Is4() != is4 || ip.Is4In6() {
			return b, fmt.Errorf("%w: virtual address %v in a packet from %v", ErrFamily, ip, src)
		}
	}
	start := len(b)
	b = append(b, byte(a.Version)<<4|typeAdvertisement, a.VRID, a.Priority, byte(len(a.Addrs)))
	if a.Version == Version2 {
		b = append(b, byte(a.AuthType), byte(iv))
	} else {
		b = binary.BigEndian.AppendUint16(b, iv) // reserved bits stay zero
	}
	b = append(b, 0, 0) // checksum
	for _, ip := range a.Addrs {
		b = append(b, ip.AsSlice()...)
	}
	if a.Version == Version2 {
		b = append(b, a.AuthData[:]...)
	}
	msg := b[start:]
	binary.BigEndian.PutUint16(msg[6:], checksum(a.Version, src, dst, msg))
	return b, nil
}

// Decode parses and validates one VRRP message (the IP payload) received
// from src and sent to dst. It checks, in this order: the fixed header is
// present, the version is 2 or 3 (2 only over IPv4), the type is
// advertisement, the address count matches the length, and the checksum
// (pseudo-header for version 3). Errors wrap the sentinel errors above.
// Decode does not check the TTL, VRID, authentication or interval against a
// configuration: that is [CheckConfig.Check].
//
// The 4 reserved bits of a VRRPv3 message are ignored, as RFC 5798 requires.
func Decode(b []byte, src, dst netip.Addr) (*Advert, error) {
	is4, err := family(src, dst)
	if err != nil {
		return nil, err
	}
	if len(b) < headerLen {
		return nil, fmt.Errorf("%w: %d bytes, header is %d", ErrTruncated, len(b), headerLen)
	}
	v := Version(b[0] >> 4)
	switch {
	case v == Version3:
	case v == Version2 && is4:
	case v == Version2:
		return nil, fmt.Errorf("%w: VRRPv2 over IPv6", ErrVersion)
	default:
		return nil, fmt.Errorf("%w: %d", ErrVersion, v)
	}
	if t := b[0] & 0x0f; t != typeAdvertisement {
		return nil, fmt.Errorf("%w: type %d", ErrType, t)
	}
	alen := 16
	if is4 {
		alen = 4
	}
	count := int(b[3])
	want := headerLen + count*alen
	if v == Version2 {
		want += authDataLen
	}
	switch {
	case len(b) < want:
		return nil, fmt.Errorf("%w: %d addresses need %d bytes, have %d", ErrTruncated, count, want, len(b))
	case len(b) > want:
		return nil, fmt.Errorf("%w: %d addresses need %d bytes, have %d", ErrAddrCount, count, want, len(b))
	}
	if c := checksum(v, src, dst, b); c != 0 {
		return nil, fmt.Errorf("%w: field 0x%04x, sum 0x%04x", ErrChecksum, binary.BigEndian.Uint16(b[6:]), c)
	}
	a := &Advert{Version: v, VRID: b[1], Priority: b[2]}
	if v == Version2 {
		a.AuthType = AuthType(b[4])
		a.Interval = time.Duration(b[5]) * time.Second
		copy(a.AuthData[:], b[want-authDataLen:])
	} else {
		a.Interval = time.Duration(binary.BigEndian.Uint16(b[4:])&maxV3Interval) * 10 * time.Millisecond
	}
	if count > 0 {
		a.Addrs = make([]netip.Addr, count)
		for i := range a.Addrs {
			p := b[headerLen+i*alen:]
			if is4 {
				a.Addrs[i] = netip.AddrFrom4([4]byte(p[:4]))
			} else {
				a.Addrs[i] = netip.AddrFrom16([16]byte(p[:16]))
			}
		}
	}
	return a, nil
}

// family reports whether src and dst are IPv4, and fails unless both are
// valid addresses of one family.
func family(src, dst netip.Addr) (is4 bool, err error) {
	src, dst = src.Unmap(), dst.Unmap()
	if !src.IsValid() || !dst.IsValid() || src.Is4() != dst.Is4() {
		return false, fmt.Errorf("%w: source %v, destination %v", ErrFamily, src, dst)
	}
	return src.Is4(), nil
}

// checksum returns the Internet checksum (RFC 1071) of msg, preceded for
// version 3 by the pseudo-header of src and dst. Over a message whose
// checksum field is zero it yields the value to store; over a received
// message it yields 0 when the stored checksum is right.
func checksum(v Version, src, dst netip.Addr, msg []byte) uint16 {
	var sum uint32
	if v == Version3 {
		src, dst = src.Unmap(), dst.Unmap()
		sum = sumBytes(sum, src.AsSlice())
		sum = sumBytes(sum, dst.AsSlice())
		// IPv4: zero, protocol, 16-bit length. IPv6: 32-bit length,
		// 3 zero bytes, next header. Both add up to the same 16-bit words.
		sum += Protocol + uint32(len(msg))
	}
	sum = sumBytes(sum, msg)
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// sumBytes adds b as big-endian 16-bit words to sum, padding an odd byte.
func sumBytes(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
		if sum > 0xffff {
			sum = sum&0xffff + sum>>16
		}
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}
