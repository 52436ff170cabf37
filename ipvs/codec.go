package ipvs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"time"

	"github.com/mdlayher/netlink"
)

// This file converts between the package's values and IPVS netlink
// attributes. Encoders take values that passed Validate; decoders take
// whatever the kernel (or a fuzzer) sends and return errors, never panic.

// errMissing reports a required attribute the kernel did not send.
func errMissing(what string) error { return fmt.Errorf("ipvs: decode: missing %s attribute", what) }

// encodeService writes the service nest. full adds the settings that
// NEW_SERVICE and SET_SERVICE need; other commands only identify it.
func encodeService(ae *netlink.AttributeEncoder, s Service, full bool) {
	s = s.normalized()
	ae.Nested(attrService, func(nae *netlink.AttributeEncoder) error {
		nae.Uint16(svcAF, uint16(s.Family))
		if s.FWMark != 0 {
			nae.Uint32(svcFWMark, s.FWMark)
		} else {
			nae.Uint16(svcProtocol, uint16(s.Protocol))
			nae.Bytes(svcAddr, addrBytes(s.Address))
			nae.Bytes(svcPort, binary.BigEndian.AppendUint16(nil, s.Port))
		}
		if !full {
			return nil
		}
		nae.String(svcSchedName, s.Scheduler)
		if s.PEName != "" {
			// Leaving the attribute out is how SET_SERVICE removes a PE.
			nae.String(svcPEName, s.PEName)
		}
		// The mask covers every bit so that an edit replaces the flags
		// instead of merging them with the old ones.
		flags := binary.NativeEndian.AppendUint32(nil, serviceFlags(s))
		nae.Bytes(svcFlags, binary.NativeEndian.AppendUint32(flags, ^uint32(0)))
		nae.Uint32(svcTimeout, s.Timeout)
		nae.Bytes(svcNetmask, netmaskBytes(s.Family, s.Netmask))
		return nil
	})
}

// serviceFlags packs the boolean settings into IP_VS_SVC_F_* bits.
func serviceFlags(s Service) uint32 {
	f := uint32(s.SchedFlags&(SchedFlag1|SchedFlag2|SchedFlag3)) * svcFlagSched1
	if s.Persistent {
		f |= svcFlagPersistent
	}
	if s.OnePacket {
		f |= svcFlagOnePacket
	}
	return f
}

// netmaskBytes encodes the persistence netmask as the kernel keeps it: a
// network-order mask for IPv4, but the bare prefix length in host order for
// IPv6 (the kernel reads that __be32 field with a __force cast). A zero
// prefix means a single host, as in ipvsadm.
func netmaskBytes(f Family, prefix int) []byte {
	if prefix == 0 {
		prefix = f.bits()
	}
	if f == IPv6 {
		return binary.NativeEndian.AppendUint32(nil, uint32(prefix))
	}
	return binary.BigEndian.AppendUint32(nil, ^uint32(0)<<(32-prefix))
}

// decodeNetmask is the inverse of netmaskBytes.
func decodeNetmask(f Family, b []byte) (int, error) {
	if len(b) != 4 {
		return 0, fmt.Errorf("ipvs: decode: netmask has %d bytes", len(b))
	}
	if f == IPv6 {
		n := binary.NativeEndian.Uint32(b)
		if n > 128 {
			return 0, fmt.Errorf("ipvs: decode: IPv6 netmask /%d", n)
		}
		return int(n), nil
	}
	m := binary.BigEndian.Uint32(b)
	ones := bits.LeadingZeros32(^m)
	if m != ^uint32(0)<<(32-ones) {
		return 0, fmt.Errorf("ipvs: decode: non-contiguous netmask %#08x", m)
	}
	return ones, nil
}

// addrBytes encodes an address into the kernel's 16-byte union
// nf_inet_addr, an IPv4 address in the first four bytes.
func addrBytes(a netip.Addr) []byte {
	b := make([]byte, 16)
	if a.Is4() {
		v4 := a.As4()
		copy(b, v4[:])
	} else if a.Is6() {
		v6 := a.As16()
		copy(b, v6[:])
	}
	return b
}

// decodeAddr reads a union nf_inet_addr of the given family.
func decodeAddr(f Family, b []byte) (netip.Addr, error) {
	switch {
	case f == IPv4 && len(b) >= 4:
		return netip.AddrFrom4([4]byte(b[:4])), nil
	case f == IPv6 && len(b) >= 16:
		return netip.AddrFrom16([16]byte(b[:16])), nil
	}
	return netip.Addr{}, fmt.Errorf("ipvs: decode: %d-byte address for %s", len(b), f)
}

// decodeFamily checks an AF attribute.
func decodeFamily(v uint16) (Family, error) {
	f := Family(v)
	if f != IPv4 && f != IPv6 {
		return 0, fmt.Errorf("ipvs: decode: unsupported address family %d", v)
	}
	return f, nil
}

// be16 reads a network-order 16-bit attribute (ports).
func be16(b []byte) (uint16, error) {
	if len(b) != 2 {
		return 0, fmt.Errorf("ipvs: decode: %d-byte port", len(b))
	}
	return binary.BigEndian.Uint16(b), nil
}

// decodeService reads the attributes inside an IPVS_CMD_ATTR_SERVICE nest.
func decodeService(b []byte) (ServiceEntry, error) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return ServiceEntry{}, fmt.Errorf("ipvs: decode service: %w", err)
	}
	var (
		e                                  ServiceEntry
		s                                  = &e.Service
		af                                 uint16
		addr, netmask                      []byte
		haveAF, haveProto, havePort, haveF bool
		stats32, stats64                   []byte
	)
	for ad.Next() {
		switch ad.Type() {
		case svcAF:
			af, haveAF = ad.Uint16(), true
		case svcProtocol:
			s.Protocol, haveProto = Protocol(ad.Uint16()), true
		case svcAddr:
			addr = ad.Bytes()
		case svcPort:
			ad.Do(func(b []byte) (err error) { s.Port, err = be16(b); return err })
			havePort = true
		case svcFWMark:
			s.FWMark = ad.Uint32()
		case svcSchedName:
			s.Scheduler = ad.String()
		case svcFlags:
			ad.Do(func(b []byte) error {
				if len(b) < 4 {
					return fmt.Errorf("ipvs: decode: %d-byte service flags", len(b))
				}
				f := binary.NativeEndian.Uint32(b)
				s.Persistent = f&svcFlagPersistent != 0
				s.OnePacket = f&svcFlagOnePacket != 0
				s.SchedFlags = SchedFlags(f/svcFlagSched1) & (SchedFlag1 | SchedFlag2 | SchedFlag3)
				return nil
			})
			haveF = true
		case svcTimeout:
			s.Timeout = ad.Uint32()
		case svcNetmask:
			netmask = ad.Bytes()
		case svcPEName:
			s.PEName = ad.String()
		case svcStats:
			stats32 = ad.Bytes()
		case svcStats64:
			stats64 = ad.Bytes()
		}
	}
	if err := ad.Err(); err != nil {
		return ServiceEntry{}, fmt.Errorf("ipvs: decode service: %w", err)
	}
	if !haveAF {
		return ServiceEntry{}, errMissing("service family")
	}
	if s.Family, err = decodeFamily(af); err != nil {
		return ServiceEntry{}, err
	}
	if s.FWMark == 0 {
		if !haveProto || addr == nil || !havePort {
			return ServiceEntry{}, errMissing("service protocol, address or port")
		}
		if s.Address, err = decodeAddr(s.Family, addr); err != nil {
			return ServiceEntry{}, err
		}
	} else {
		// The kernel keeps TCP as the protocol of mark services; it is
		// not part of their identity.
		s.Protocol, s.Port = 0, 0
	}
	if !haveF {
		return ServiceEntry{}, errMissing("service flags")
	}
	if netmask != nil {
		if s.Netmask, err = decodeNetmask(s.Family, netmask); err != nil {
			return ServiceEntry{}, err
		}
	}
	if e.Stats, err = pickStats(stats64, stats32); err != nil {
		return ServiceEntry{}, err
	}
	return e, nil
}

// encodeDestination writes the destination nest. full adds the settings
// NEW_DEST and SET_DEST need; DEL_DEST only identifies it.
func encodeDestination(ae *netlink.AttributeEncoder, d Destination, full bool) {
	d = d.normalized()
	ae.Nested(attrDest, func(nae *netlink.AttributeEncoder) error {
		nae.Bytes(destAddr, addrBytes(d.Address))
		nae.Bytes(destPort, binary.BigEndian.AppendUint16(nil, d.Port))
		nae.Uint16(destAddrFamily, uint16(d.Family))
		if !full {
			return nil
		}
		nae.Uint32(destFwdMethod, uint32(d.ForwardMethod))
		nae.Uint32(destWeight, uint32(d.Weight))
		nae.Uint32(destUThresh, d.UpperThreshold)
		nae.Uint32(destLThresh, d.LowerThreshold)
		if d.ForwardMethod == Tunnel {
			// Kernels before 5.3 ignore these; newer ones default to
			// ipip without a port, the same as leaving them out.
			nae.Uint8(destTunType, uint8(d.TunnelType))
			nae.Bytes(destTunPort, binary.BigEndian.AppendUint16(nil, d.TunnelPort))
			nae.Uint16(destTunFlags, uint16(d.TunnelFlags))
		}
		return nil
	})
}

// decodeDestination reads the attributes inside an IPVS_CMD_ATTR_DEST nest.
// svcFamily is the family of the service, which kernels before 3.18 imply
// instead of sending IPVS_DEST_ATTR_ADDR_FAMILY.
func decodeDestination(b []byte, svcFamily Family) (DestinationEntry, error) {
	var (
		e                DestinationEntry
		d                = &e.Destination
		addr             []byte
		havePort         bool
		af               = uint16(svcFamily)
		stats32, stats64 []byte
	)
	// A Dump decodes one of these per real server, so this walks the
	// attributes in place instead of through netlink.AttributeDecoder,
	// which copies every attribute.
	err := walkAttrs(b, func(typ uint16, v []byte) (err error) {
		switch typ {
		case destAddr:
			addr = v
		case destPort:
			d.Port, err = be16(v)
			havePort = true
		case destAddrFamily:
			af, err = getU16(v)
		case destFwdMethod:
			var m uint32
			m, err = getU32(v)
			d.ForwardMethod = ForwardMethod(m & 0x7) // IP_VS_CONN_F_FWD_MASK
		case destWeight:
			var w uint32
			w, err = getU32(v)
			d.Weight = int32(w)
		case destUThresh:
			d.UpperThreshold, err = getU32(v)
		case destLThresh:
			d.LowerThreshold, err = getU32(v)
		case destActiveConns:
			e.ActiveConns, err = getU32(v)
		case destInactConns:
			e.InactConns, err = getU32(v)
		case destPersistConns:
			e.PersistConns, err = getU32(v)
		case destTunType:
			if len(v) != 1 {
				return fmt.Errorf("%d-byte tunnel type", len(v))
			}
			d.TunnelType = TunnelType(v[0])
		case destTunPort:
			d.TunnelPort, err = be16(v)
		case destTunFlags:
			var f uint16
			f, err = getU16(v)
			d.TunnelFlags = TunnelFlags(f)
		case destStats:
			stats32 = v
		case destStats64:
			stats64 = v
		}
		return err
	})
	if err != nil {
		return DestinationEntry{}, fmt.Errorf("ipvs: decode destination: %w", err)
	}
	if addr == nil || !havePort {
		return DestinationEntry{}, errMissing("destination address or port")
	}
	if d.Family, err = decodeFamily(af); err != nil {
		return DestinationEntry{}, err
	}
	if d.Address, err = decodeAddr(d.Family, addr); err != nil {
		return DestinationEntry{}, err
	}
	if e.Stats, err = pickStats(stats64, stats32); err != nil {
		return DestinationEntry{}, err
	}
	return e, nil
}

// decodeStats reads the counters nested in a STATS or STATS64 attribute.
func decodeStats(b []byte) (Stats, error) {
	var st Stats
	err := walkAttrs(b, func(typ uint16, v []byte) (err error) {
		var dst *uint64
		switch typ {
		case statsConns:
			dst = &st.Conns
		case statsInPkts:
			dst = &st.InPkts
		case statsOutPkts:
			dst = &st.OutPkts
		case statsInBytes:
			dst = &st.InBytes
		case statsOutBytes:
			dst = &st.OutBytes
		case statsCPS:
			dst = &st.CPS
		case statsInPPS:
			dst = &st.InPPS
		case statsOutPPS:
			dst = &st.OutPPS
		case statsInBPS:
			dst = &st.InBPS
		case statsOutBPS:
			dst = &st.OutBPS
		default:
			return nil // IPVS_STATS_ATTR_PAD and future counters
		}
		*dst, err = uintN(v)
		return err
	})
	if err != nil {
		return Stats{}, fmt.Errorf("ipvs: decode stats: %w", err)
	}
	return st, nil
}

// uintN reads a native-endian counter of 4 or 8 bytes.
func uintN(b []byte) (uint64, error) {
	switch len(b) {
	case 4:
		return uint64(binary.NativeEndian.Uint32(b)), nil
	case 8:
		return binary.NativeEndian.Uint64(b), nil
	}
	return 0, fmt.Errorf("ipvs: decode: %d-byte counter", len(b))
}

// pickStats prefers the 64-bit counters (kernel 4.1+) over the 32-bit ones,
// whose packet counters wrap.
func pickStats(s64, s32 []byte) (Stats, error) {
	switch {
	case s64 != nil:
		return decodeStats(s64)
	case s32 != nil:
		return decodeStats(s32)
	}
	return Stats{}, nil
}

// encodeDaemon writes the sync daemon nest for NEW_DAEMON (full) or
// DEL_DAEMON (state only).
func encodeDaemon(ae *netlink.AttributeEncoder, d SyncDaemon, full bool) {
	ae.Nested(attrDaemon, func(nae *netlink.AttributeEncoder) error {
		nae.Uint32(daemonState, uint32(d.State))
		if !full {
			return nil
		}
		nae.String(daemonMcastIfn, d.McastIfn)
		nae.Uint32(daemonSyncID, d.SyncID)
		// The optional attributes (kernel 4.3+) are sent only when set so
		// the kernel keeps its defaults otherwise.
		if d.SyncMaxLen != 0 {
			nae.Uint16(daemonSyncMaxLen, d.SyncMaxLen)
		}
		switch {
		case d.McastGroup.Is4():
			v4 := d.McastGroup.As4()
			nae.Bytes(daemonMcastGroup, v4[:])
		case d.McastGroup.Is6():
			v6 := d.McastGroup.As16()
			nae.Bytes(daemonMcastGroup6, v6[:])
		}
		if d.McastPort != 0 {
			// Unlike service and destination ports, the kernel keeps
			// this one in host order (nla_get_u16).
			nae.Uint16(daemonMcastPort, d.McastPort)
		}
		if d.McastTTL != 0 {
			nae.Uint8(daemonMcastTTL, d.McastTTL)
		}
		return nil
	})
}

// decodeDaemon reads the attributes inside an IPVS_CMD_ATTR_DAEMON nest.
func decodeDaemon(b []byte) (SyncDaemon, error) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return SyncDaemon{}, fmt.Errorf("ipvs: decode sync daemon: %w", err)
	}
	var d SyncDaemon
	var haveState bool
	for ad.Next() {
		switch ad.Type() {
		case daemonState:
			d.State, haveState = DaemonState(ad.Uint32()), true
		case daemonMcastIfn:
			d.McastIfn = ad.String()
		case daemonSyncID:
			d.SyncID = ad.Uint32()
		case daemonSyncMaxLen:
			d.SyncMaxLen = ad.Uint16()
		case daemonMcastGroup:
			ad.Do(func(b []byte) (err error) { d.McastGroup, err = decodeAddr(IPv4, b); return err })
		case daemonMcastGroup6:
			ad.Do(func(b []byte) (err error) { d.McastGroup, err = decodeAddr(IPv6, b); return err })
		case daemonMcastPort:
			d.McastPort = ad.Uint16()
		case daemonMcastTTL:
			d.McastTTL = ad.Uint8()
		}
	}
	if err := ad.Err(); err != nil {
		return SyncDaemon{}, fmt.Errorf("ipvs: decode sync daemon: %w", err)
	}
	if !haveState {
		return SyncDaemon{}, errMissing("daemon state")
	}
	return d, nil
}

// nested returns the payload of the first top-level attribute of type typ
// in a generic netlink message body.
func nested(data []byte, typ uint16) ([]byte, error) {
	var found []byte
	err := walkAttrs(data, func(t uint16, v []byte) error {
		if t == typ && found == nil {
			found = v
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ipvs: decode: %w", err)
	}
	if found == nil {
		return nil, errNoNest
	}
	return found, nil
}

// walkAttrs calls fn with the type and payload of each netlink attribute
// in b, in order, without copying: payloads alias b. The nested and
// byte-order flag bits are cleared from the type.
func walkAttrs(b []byte, fn func(typ uint16, v []byte) error) error {
	for len(b) > 0 {
		if len(b) < 4 {
			return fmt.Errorf("%d trailing bytes", len(b))
		}
		l := int(binary.NativeEndian.Uint16(b))
		if l < 4 || l > len(b) {
			return fmt.Errorf("attribute length %d out of range (%d bytes left)", l, len(b))
		}
		if err := fn(binary.NativeEndian.Uint16(b[2:])&^(netlink.Nested|netlink.NetByteOrder), b[4:l]); err != nil {
			return err
		}
		// The last attribute may come without its padding.
		b = b[min(len(b), (l+3)&^3):]
	}
	return nil
}

func getU16(b []byte) (uint16, error) {
	if len(b) != 2 {
		return 0, fmt.Errorf("%d-byte u16", len(b))
	}
	return binary.NativeEndian.Uint16(b), nil
}

func getU32(b []byte) (uint32, error) {
	if len(b) != 4 {
		return 0, fmt.Errorf("%d-byte u32", len(b))
	}
	return binary.NativeEndian.Uint32(b), nil
}

var errNoNest = errors.New("ipvs: decode: reply without the expected nested attribute")

// decodeInfo reads a GET_INFO reply body.
func decodeInfo(data []byte) (Info, error) {
	ad, err := netlink.NewAttributeDecoder(data)
	if err != nil {
		return Info{}, fmt.Errorf("ipvs: decode info: %w", err)
	}
	var info Info
	var haveVersion bool
	for ad.Next() {
		switch ad.Type() {
		case infoVersion:
			v := ad.Uint32()
			info.Version = Version{Major: uint8(v >> 16), Minor: uint8(v >> 8), Patch: uint8(v)}
			haveVersion = true
		case infoConnTabSize:
			info.ConnTableSize = ad.Uint32()
		}
	}
	if err := ad.Err(); err != nil {
		return Info{}, fmt.Errorf("ipvs: decode info: %w", err)
	}
	if !haveVersion {
		return Info{}, errMissing("version")
	}
	return info, nil
}

// decodeTimeouts reads a GET_CONFIG reply body.
func decodeTimeouts(data []byte) (Timeouts, error) {
	ad, err := netlink.NewAttributeDecoder(data)
	if err != nil {
		return Timeouts{}, fmt.Errorf("ipvs: decode timeouts: %w", err)
	}
	var t Timeouts
	for ad.Next() {
		switch ad.Type() {
		case attrTimeoutTCP:
			t.TCP = seconds(ad.Uint32())
		case attrTimeoutTCPFin:
			t.TCPFin = seconds(ad.Uint32())
		case attrTimeoutUDP:
			t.UDP = seconds(ad.Uint32())
		}
	}
	if err := ad.Err(); err != nil {
		return Timeouts{}, fmt.Errorf("ipvs: decode timeouts: %w", err)
	}
	return t, nil
}

// encodeTimeouts writes SET_CONFIG attributes, leaving zero fields out so
// the kernel keeps them.
func encodeTimeouts(ae *netlink.AttributeEncoder, t Timeouts) {
	if t.TCP != 0 {
		ae.Uint32(attrTimeoutTCP, uint32(t.TCP/time.Second))
	}
	if t.TCPFin != 0 {
		ae.Uint32(attrTimeoutTCPFin, uint32(t.TCPFin/time.Second))
	}
	if t.UDP != 0 {
		ae.Uint32(attrTimeoutUDP, uint32(t.UDP/time.Second))
	}
}

func seconds(s uint32) time.Duration { return time.Duration(s) * time.Second }
