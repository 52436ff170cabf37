package ipvs

import (
	"encoding/binary"
	"net/netip"

	"github.com/mdlayher/netlink"
)

// Fixtures and encoders shared by the portable codec tests and the
// Linux-only fake kernel tests.

var (
	web = Service{Protocol: TCP, Address: netip.MustParseAddr("192.0.2.10"), Port: 80, Scheduler: "wlc"}
	rs1 = Destination{Address: netip.MustParseAddr("192.0.2.15"), Port: 80, ForwardMethod: Masq, Weight: 1}
)

// Byte helpers for expected attribute payloads.
func u8(v uint8) []byte    { return []byte{v} }
func u16(v uint16) []byte  { return binary.NativeEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte  { return binary.NativeEndian.AppendUint32(nil, v) }
func n16(v uint16) []byte  { return binary.BigEndian.AppendUint16(nil, v) }
func n32(v uint32) []byte  { return binary.BigEndian.AppendUint32(nil, v) }
func str(s string) []byte  { return append([]byte(s), 0) }
func in16(s string) []byte { return addrBytes(netip.MustParseAddr(s)) }

func flagsAttr(flags uint32) []byte { return append(u32(flags), u32(^uint32(0))...) }

// encodeStats64 writes counters as the kernel's STATS64 nest does.
func encodeStats64(ae *netlink.AttributeEncoder, s Stats) {
	for i, v := range []uint64{s.Conns, s.InPkts, s.OutPkts, s.InBytes, s.OutBytes, s.CPS, s.InPPS, s.OutPPS, s.InBPS, s.OutBPS} {
		ae.Uint64(uint16(i+1), v)
	}
}
