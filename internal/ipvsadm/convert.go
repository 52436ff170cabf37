package ipvsadm

import (
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"strings"
	"syscall"

	"github.com/lbd-project/lbd/ipvs"
)

// This file converts between ipvsadm's raw structures and package ipvs.

func familyOf(af int) ipvs.Family {
	if af == afInet6 {
		return ipvs.IPv6
	}
	return ipvs.IPv4
}

func afOf(f ipvs.Family) int {
	if f == ipvs.IPv6 {
		return afInet6
	}
	return afInet
}

// rawAddr returns the address stored in a union nf_inet_addr.
func rawAddr(af int, b [16]byte) netip.Addr {
	if af == afInet6 {
		return netip.AddrFrom16(b)
	}
	return netip.AddrFrom4([4]byte(b[:4]))
}

func addrRaw(a netip.Addr) [16]byte {
	var b [16]byte
	if a.Is4() {
		v := a.As4()
		copy(b[:], v[:])
	} else if a.Is6() {
		b = a.As16()
	}
	return b
}

// maskPrefix converts an IPv4 mask to a prefix length.
func maskPrefix(m uint32) (int, bool) {
	ones := bits.LeadingZeros32(^m)
	if ones == 0 || (ones < 32 && m != ^uint32(0)<<(32-ones)) {
		return 0, false
	}
	return ones, true
}

func prefixMask(n int) uint32 {
	if n <= 0 || n >= 32 {
		return netmaskHost
	}
	return ^uint32(0) << (32 - n)
}

// service converts a parsed service to package ipvs. Only the persistence
// netmask can fail: package ipvs keeps prefixes, so a non-contiguous IPv4
// mask (which ipvsadm passes through) or 0.0.0.0 cannot be expressed.
func (r rawService) service() (ipvs.Service, error) {
	s := ipvs.Service{Family: familyOf(r.af)}
	if r.fwmark != 0 {
		s.FWMark = r.fwmark
	} else {
		s.Protocol = ipvs.Protocol(r.protocol)
		s.Address = rawAddr(r.af, r.addr)
		s.Port = r.port
	}
	s.Scheduler = r.sched
	s.SchedFlags = ipvs.SchedFlags(r.flags/svcFSched1) & 7
	s.OnePacket = r.flags&svcFOnePacket != 0
	s.PEName = r.pe
	if r.flags&svcFPersistent != 0 {
		s.Persistent = true
		s.Timeout = r.timeout
		if r.af == afInet6 {
			s.Netmask = int(r.netmask)
		} else {
			n, ok := maskPrefix(r.netmask)
			if !ok {
				return s, fmt.Errorf("ipvsctl: persistence netmask %s is not supported (only contiguous masks)",
					netip.AddrFrom4([4]byte{byte(r.netmask >> 24), byte(r.netmask >> 16), byte(r.netmask >> 8), byte(r.netmask)}))
			}
			s.Netmask = n
		}
	}
	return s, nil
}

// destination converts a parsed destination to package ipvs.
func (r rawDest) destination() ipvs.Destination {
	d := ipvs.Destination{
		Address:        rawAddr(r.af, r.addr),
		Port:           r.port,
		Family:         familyOf(r.af),
		ForwardMethod:  ipvs.ForwardMethod(r.connFlags & 7),
		Weight:         int32(r.weight),
		UpperThreshold: uint32(r.uThresh),
		LowerThreshold: uint32(r.lThresh),
	}
	if d.ForwardMethod == ipvs.Tunnel {
		d.TunnelType = ipvs.TunnelType(r.tunType)
		d.TunnelPort = r.tunPort
		d.TunnelFlags = ipvs.TunnelFlags(r.tunFlags)
	}
	return d
}

// rawFromService converts a kernel service back to ipvsadm's view. The
// kernel reports protocol 0 for firewall-mark services, so their
// destinations' ports are never shown as service names.
func rawFromService(s ipvs.Service) rawService {
	r := rawService{
		af:     afOf(s.Family),
		fwmark: s.FWMark,
		sched:  s.Scheduler,
		pe:     s.PEName,
	}
	if s.FWMark == 0 {
		r.protocol = uint16(s.Protocol)
		r.addr = addrRaw(s.Address)
		r.port = s.Port
	}
	r.flags = uint32(s.SchedFlags&7) * svcFSched1
	if s.Persistent {
		r.flags |= svcFPersistent
	}
	if s.OnePacket {
		r.flags |= svcFOnePacket
	}
	r.timeout = s.Timeout
	if r.af == afInet6 {
		r.netmask = uint32(s.Netmask)
		if s.Netmask == 0 {
			r.netmask = 128
		}
	} else {
		r.netmask = prefixMask(s.Netmask)
	}
	return r
}

func rawFromDest(d ipvs.Destination) rawDest {
	return rawDest{
		af:        afOf(d.Family),
		addr:      addrRaw(d.Address),
		port:      d.Port,
		connFlags: uint32(d.ForwardMethod),
		weight:    int64(d.Weight),
		uThresh:   int64(d.UpperThreshold),
		lThresh:   int64(d.LowerThreshold),
		tunType:   int(d.TunnelType),
		tunPort:   d.TunnelPort,
		tunFlags:  uint16(d.TunnelFlags),
	}
}

// libipvs functions, for ipvs_strerror's table.
const (
	fnNone = iota
	fnAddService
	fnUpdateService
	fnDelService
	fnZeroService
	fnAddDest
	fnUpdateDest
	fnDelDest
	fnStartDaemon
	fnStopDaemon
	fnGetServices
	fnGetDests
	fnGetService
	fnFlush
	fnSetTimeout
	fnGetTimeout
	fnGetDaemon
)

var strerrorTable = []struct {
	fn    int
	errno syscall.Errno
	msg   string
}{
	{fnAddService, syscall.EEXIST, "Service already exists"},
	{fnAddService, syscall.ENOENT, "Scheduler or persistence engine not found"},
	{fnUpdateService, syscall.ESRCH, "No such service"},
	{fnUpdateService, syscall.ENOENT, "Scheduler or persistence engine not found"},
	{fnDelService, syscall.ESRCH, "No such service"},
	{fnZeroService, syscall.ESRCH, "No such service"},
	{fnAddDest, syscall.ESRCH, "Service not defined"},
	{fnAddDest, syscall.EEXIST, "Destination already exists"},
	{fnUpdateDest, syscall.ESRCH, "Service not defined"},
	{fnUpdateDest, syscall.ENOENT, "No such destination"},
	{fnDelDest, syscall.ESRCH, "Service not defined"},
	{fnDelDest, syscall.ENOENT, "No such destination"},
	{fnStartDaemon, syscall.EEXIST, "Daemon has already run"},
	{fnStopDaemon, syscall.ESRCH, "No daemon is running"},
	{fnGetServices, syscall.ESRCH, "No such service"},
	{fnGetDests, syscall.ESRCH, "No such service"},
	{fnGetService, syscall.ESRCH, "No such service"},
	{fnNone, syscall.EPERM, "Permission denied (you must be root)"},
	{fnNone, syscall.EINVAL, "Invalid operation.  Possibly wrong module version, address not unicast, ..."},
	{fnNone, syscall.ENOPROTOOPT, "Protocol not available"},
	{fnNone, syscall.ENOMEM, "Memory allocation problem"},
	{fnNone, syscall.EOPNOTSUPP, "Operation not supported with IPv6"},
	{fnNone, syscall.EAFNOSUPPORT, "Operation not supported with specified address family"},
	{fnNone, syscall.EMSGSIZE, "Module is wrong version"},
}

// errnoMessage is ipvs_strerror for an errno raised in fn.
func errnoMessage(fn int, errno syscall.Errno) string {
	for _, e := range strerrorTable {
		if (e.fn == fnNone || e.fn == fn) && e.errno == errno {
			return e.msg
		}
	}
	// glibc's strerror text is Go's with a capital first letter.
	s := errno.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// strerror is ipvs_strerror for an error of package ipvs: the errno's
// message when there is one, else the error's own text.
func strerror(fn int, err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errnoMessage(fn, errno)
	}
	return err.Error()
}

// kernelErrno is what the kernel would answer for a change that package
// ipvs refuses to send, so ipvsctl prints ipvsadm's message. It returns 0
// when the change is fine or the refusal has no kernel equivalent.
func kernelErrno(fn int, svc rawService, dest rawDest) syscall.Errno {
	switch fn {
	case fnAddService, fnUpdateService:
		if !slices.Contains(ipvs.Schedulers, svc.sched) || (svc.pe != "" && svc.pe != "sip") {
			return syscall.ENOENT
		}
	case fnAddDest, fnUpdateDest:
		if dest.lThresh > dest.uThresh {
			return syscall.ERANGE
		}
		// The kernel takes only unicast destinations.
		a := rawAddr(dest.af, dest.addr)
		if a.IsUnspecified() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
			return syscall.EINVAL
		}
	}
	return 0
}
