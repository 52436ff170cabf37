package ipvsadm

import (
	"context"
	"errors"
	"strings"

	"github.com/lbd-project/lbd/ipvs"
)

// This file is the seam between the ipvsadm command line and lbd: the
// parsed -a/-e/-d commands offered to Env.RealServer before the kernel is
// touched, and ParseRealServer for ipvsctl's drain and enable.

// RealServerChange is an -a, -e or -d command as parsed.
type RealServerChange struct {
	// Op is ipvs.Add (-a), ipvs.Edit (-e) or ipvs.Delete (-d).
	Op ipvs.ChangeOp
	// Service is the virtual service's identity (family, protocol,
	// address and port, or firewall mark).
	Service ipvs.Service
	// Destination is the real server as ipvsadm would send it to the
	// kernel, its defaults filled in (weight 1, direct routing, and for
	// -g and -i the service's port), except that without -g, -m or -i
	// Port is the port given with -r (the service's when -r names none):
	// the forwarding method is then not known yet.
	Destination ipvs.Destination
	// Which of the destination's settings the command line gave: -g/-m/-i,
	// -w, -x, -y, and any of --tun-type, --tun-port, --tun-*csum.
	HasForward, HasWeight, HasUpperThreshold, HasLowerThreshold, HasTunnel bool
}

// RealServerFunc is offered each -a, -e and -d command before the kernel.
// It returns handled false to let ipvsctl change the kernel as ipvsadm
// does. With handled true the command is done: a nil error is success
// (nothing printed, exit 0), any other error's text is printed to stderr
// like a kernel error and the exit status is 255.
type RealServerFunc func(ctx context.Context, c RealServerChange) (handled bool, err error)

// realServerChange builds the change for a parsed -a/-e/-d command; ok is
// false for a service package ipvs cannot express.
func realServerChange(ce *command) (RealServerChange, bool) {
	s, err := ce.svc.service()
	if err != nil {
		return RealServerChange{}, false
	}
	id := ipvs.Service{Family: s.Family, Protocol: s.Protocol, Address: s.Address, Port: s.Port, FWMark: s.FWMark}
	d := ce.dest.destination()
	c := RealServerChange{
		Service:           id,
		Destination:       d,
		HasForward:        ce.options&(1<<optForward) != 0,
		HasWeight:         ce.options&(1<<optWeight) != 0,
		HasUpperThreshold: ce.options&(1<<optUThreshold) != 0,
		HasLowerThreshold: ce.options&(1<<optLThreshold) != 0,
		HasTunnel:         ce.options&(1<<optTunType|1<<optTunPort|1<<optTunNoCsum|1<<optTunCsum|1<<optTunRemCsum) != 0,
	}
	if !c.HasForward {
		c.Destination.Port = ce.rsPort
	}
	switch ce.cmd {
	case cmdAddDest:
		c.Op = ipvs.Add
	case cmdEditDest:
		c.Op = ipvs.Edit
	default:
		c.Op = ipvs.Delete
	}
	return c, true
}

// offerRealServer hands an -a/-e/-d command to Env.RealServer.
func (r *runner) offerRealServer(ce *command) (bool, error) {
	c, ok := realServerChange(ce)
	if !ok {
		return false, nil
	}
	return r.env.RealServer(r.ctx, c)
}

// ParseRealServer parses args (without a program name) in ipvsadm's
// syntax for naming one real server of a virtual service, as for
// "ipvsadm -d": -t|-u|--sctp-service ADDRESS[:PORT] or -f FWMARK [-6],
// and -r ADDRESS[:PORT], the port defaulting to the service's. Names and
// numbers are read exactly as ipvsadm reads them, with names (nil means a
// SystemResolver). cmdName names the caller's command in error messages,
// which are ipvsadm's (without a trailing newline).
func ParseRealServer(names Resolver, cmdName string, args []string) (ipvs.Service, ipvs.Destination, error) {
	if names == nil {
		names = &SystemResolver{}
	}
	ps := parser{names: names}
	ce := &command{}
	ce.dest.weight = 1
	ce.dest.connFlags = connFDRoute
	ce.svc.netmask = netmaskHost
	argv := append([]string{"ipvsctl", "-d"}, args...)
	if e := ps.parseOptions(argv, ce); e != nil {
		return ipvs.Service{}, ipvs.Destination{}, errors.New(strings.TrimRight(e.msg, "\n"))
	}
	if e := optCheck(commandsVOptions[cmdDelDest-1], cmdName, ce.options); e != nil {
		return ipvs.Service{}, ipvs.Destination{}, errors.New(strings.TrimRight(e.msg, "\n"))
	}
	s, err := ce.svc.service()
	if err != nil {
		return ipvs.Service{}, ipvs.Destination{}, err
	}
	id := ipvs.Service{Family: s.Family, Protocol: s.Protocol, Address: s.Address, Port: s.Port, FWMark: s.FWMark}
	d := ce.dest.destination()
	return id, ipvs.Destination{Address: d.Address, Port: d.Port, Family: d.Family}, nil
}
