package ipvs

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// ValidationError lists what is wrong with a service or destination. It is
// returned before any message reaches the kernel.
type ValidationError struct {
	// Object names what was checked, e.g. "service TCP 192.0.2.10:80".
	Object string
	// Problems are the individual findings, in a stable order.
	Problems []string
}

// Error returns "ipvs: invalid OBJECT: PROBLEM; PROBLEM".
func (e *ValidationError) Error() string {
	return "ipvs: invalid " + e.Object + ": " + strings.Join(e.Problems, "; ")
}

// problems accumulates findings for one object.
type problems []string

func (p *problems) addf(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p problems) err(object string) error {
	if len(p) == 0 {
		return nil
	}
	return &ValidationError{Object: object, Problems: p}
}

// checkAddr reports an address that cannot be sent to the kernel as is.
func (p *problems) checkAddr(what string, a netip.Addr) {
	switch {
	case !a.IsValid():
		p.addf("no %s address", what)
	case a.Zone() != "":
		p.addf("%s address %s has a zone", what, a)
	case a.Is4In6():
		p.addf("%s address %s is IPv4-mapped; use %s", what, a, a.Unmap())
	case a.IsUnspecified():
		p.addf("%s address %s is unspecified", what, a)
	}
}

// Validate reports everything about s that the kernel would reject or that
// would not do what it says, before any message is built.
func (s Service) Validate() error {
	var p problems
	fam := s.family()
	switch {
	case s.Family != 0 && s.Family != IPv4 && s.Family != IPv6:
		p.addf("unsupported address family %s", s.Family)
	case s.FWMark != 0:
		if s.Protocol != 0 || s.Address.IsValid() || s.Port != 0 {
			p.addf("a firewall-mark service has no protocol, address or port")
		}
	default:
		p.checkAddr("service", s.Address)
		if s.Family != 0 && s.Address.IsValid() && s.Family != FamilyOf(s.Address) {
			p.addf("family %s does not match address %s", s.Family, s.Address)
		}
		if s.Protocol != TCP && s.Protocol != UDP && s.Protocol != SCTP {
			p.addf("unsupported protocol %s", s.Protocol)
		}
		if s.Port == 0 && !s.Persistent {
			p.addf("port 0 needs persistence")
		}
	}

	sched := cmp.Or(s.Scheduler, "wlc")
	if !slices.Contains(Schedulers, sched) {
		p.addf("unknown scheduler %q (known: %s)", sched, strings.Join(Schedulers, " "))
	} else if extra := s.SchedFlags &^ validSchedFlags(sched); extra != 0 {
		p.addf("scheduler %s has no flag %s", sched, FormatSchedFlags("", extra))
	}

	if bits := fam.bits(); s.Netmask < 0 || (bits != 0 && s.Netmask > bits) {
		p.addf("persistence netmask /%d out of range for %s", s.Netmask, fam)
	}
	if !s.Persistent && (s.Timeout != 0 || s.Netmask != 0) {
		p.addf("persistence timeout or netmask without persistence")
	}
	if s.PEName != "" && s.PEName != "sip" {
		p.addf("unknown persistence engine %q (known: sip)", s.PEName)
	}
	return p.err("service " + s.String())
}

// Validate reports everything about d, as a destination of svc, that the
// kernel would reject or that would not do what it says.
func (d Destination) Validate(svc Service) error {
	var p problems
	p.checkAddr("destination", d.Address)
	if d.Family != 0 && d.Address.IsValid() && d.Family != FamilyOf(d.Address) {
		p.addf("family %s does not match address %s", d.Family, d.Address)
	}
	if df, sf := d.family(), svc.family(); df != 0 && df != sf && d.ForwardMethod != Tunnel {
		// The kernel forwards across families only by encapsulation.
		p.addf("%s destination in an %s service needs tunnel forwarding", df, sf)
	}
	if d.ForwardMethod > Route {
		p.addf("unknown forwarding method %s", d.ForwardMethod)
	}
	if (d.ForwardMethod == Route || d.ForwardMethod == Tunnel) && svc.FWMark == 0 && d.Port != svc.Port {
		// Only NAT rewrites ports; ipvsadm silently replaces this port
		// by the service's, which would make the table differ from
		// what was asked.
		p.addf("%s destination port %d must equal the service port %d (only Masq maps ports)",
			d.ForwardMethod, d.Port, svc.Port)
	}
	if d.Weight < 0 {
		p.addf("negative weight %d", d.Weight)
	}
	if d.LowerThreshold > d.UpperThreshold {
		p.addf("lower threshold %d above upper threshold %d", d.LowerThreshold, d.UpperThreshold)
	}
	if d.ForwardMethod != Tunnel {
		if d.TunnelType != 0 || d.TunnelPort != 0 || d.TunnelFlags != 0 {
			p.addf("tunnel options on a %s destination", d.ForwardMethod)
		}
	} else {
		d.checkTunnel(&p)
	}
	return p.err("destination " + d.String() + " of " + svc.String())
}

// checkTunnel checks the encapsulation options of a Tunnel destination.
func (d Destination) checkTunnel(p *problems) {
	switch d.TunnelType {
	case IPIP:
		if d.TunnelFlags != 0 {
			p.addf("ipip tunnel takes no checksum flags")
		}
	case GUE:
		if d.TunnelPort == 0 {
			p.addf("gue tunnel needs a port")
		}
	case GRE:
		if d.TunnelFlags&TunnelRemCsum != 0 {
			p.addf("remcsum is only for gue tunnels")
		}
	default:
		p.addf("unknown tunnel type %s", d.TunnelType)
	}
	if d.TunnelType != GUE && d.TunnelPort != 0 {
		p.addf("tunnel port is only for gue tunnels")
	}
	if d.TunnelFlags&^(TunnelCsum|TunnelRemCsum) != 0 {
		p.addf("unknown tunnel flags %#x", uint16(d.TunnelFlags))
	}
	if d.TunnelFlags == TunnelCsum|TunnelRemCsum {
		p.addf("csum and remcsum exclude each other")
	}
}

// validate checks what the kernel needs to start a sync daemon.
func (d SyncDaemon) validate() error {
	var p problems
	if d.State != Master && d.State != Backup {
		p.addf("state must be master or backup, not %s", d.State)
	}
	if d.McastIfn == "" || len(d.McastIfn) > ifNameMaxLen {
		p.addf("interface name %q must have 1 to %d characters", d.McastIfn, ifNameMaxLen)
	}
	if d.McastGroup.IsValid() && !d.McastGroup.Unmap().IsMulticast() {
		p.addf("group %s is not a multicast address", d.McastGroup)
	}
	return p.err("sync daemon " + d.State.String())
}
