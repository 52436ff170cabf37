package ipvsctl

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/lbd-project/lbd/internal/control"
	"github.com/lbd-project/lbd/internal/ipvsadm"
	"github.com/lbd-project/lbd/ipvs"
)

// realServer is ipvsadm's Env.RealServer: it sends an -a/-e/-d command to
// lbd as a runtime change, or leaves it to the kernel (handled false) when
// lbd is not running, does not manage the service or does not know the
// runtime method.
func (c *cli) realServer(ctx context.Context, ch ipvsadm.RealServerChange) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	cl, err := control.DialContext(ctx, c.env.Socket)
	if errors.Is(err, control.ErrNotRunning) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	defer cl.Close()
	svc := serviceRef(ch.Service)
	if ch.HasTunnel {
		// A runtime change cannot carry tunnel options: ask whether lbd
		// manages the service before refusing.
		managed, err := manages(ctx, cl, svc)
		if err != nil {
			return true, err
		}
		if !managed {
			return false, nil
		}
		return true, fmt.Errorf("lbd manages %s: its runtime changes cannot set tunnel options; "+
			"set them in lbd's configuration, or use --kernel to change the kernel directly", formatService(svc, " "))
	}
	err = cl.Call(ctx, control.MethodRuntime, runtimeParams(ch), nil)
	if control.IsCode(err, control.CodeNotManaged) || control.IsCode(err, control.CodeUnknownMethod) {
		return false, nil
	}
	return true, err
}

// runtimeParams converts a parsed -a/-e/-d command. Only the settings
// given on the command line are sent; lbd fills in the rest from the
// service (forwarding) or the real server's current values (edit).
func runtimeParams(ch ipvsadm.RealServerChange) control.RuntimeParams {
	p := control.RuntimeParams{
		Op:         ch.Op.String(),
		Service:    serviceRef(ch.Service),
		RealServer: realServerRef(ch.Destination),
	}
	if ch.Op == ipvs.Delete {
		return p
	}
	d := ch.Destination
	if ch.HasForward {
		p.Forwarding = map[ipvs.ForwardMethod]string{ipvs.Masq: "NAT", ipvs.Route: "DR", ipvs.Tunnel: "TUN"}[d.ForwardMethod]
	}
	if ch.HasWeight {
		w := d.Weight
		p.Weight = &w
	}
	if ch.HasUpperThreshold {
		u := d.UpperThreshold
		p.UpperThreshold = &u
	}
	if ch.HasLowerThreshold {
		l := d.LowerThreshold
		p.LowerThreshold = &l
	}
	return p
}

// manages reports whether lbd's status lists svc.
func manages(ctx context.Context, cl *control.Client, svc control.ServiceRef) (bool, error) {
	var st control.StatusResult
	if err := cl.Call(ctx, control.MethodStatus, nil, &st); err != nil {
		return false, err
	}
	for _, vs := range st.VirtualServers {
		if sameService(vs.Service, svc) {
			return true, nil
		}
	}
	return false, nil
}

// sameService compares service references, spelled as they may be.
func sameService(a, b control.ServiceRef) bool {
	if a.FWMark != 0 || b.FWMark != 0 {
		return a.FWMark == b.FWMark && strings.EqualFold(family(a.Family), family(b.Family))
	}
	aa, errA := netip.ParseAddr(a.Address)
	ba, errB := netip.ParseAddr(b.Address)
	return errA == nil && errB == nil && aa == ba && a.Port == b.Port && strings.EqualFold(a.Protocol, b.Protocol)
}

func family(f string) string {
	if f == "" {
		return "ipv4"
	}
	return f
}
