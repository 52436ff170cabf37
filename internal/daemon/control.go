package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/internal/control"
	"github.com/lbd-project/lbd/internal/metrics"
	"github.com/lbd-project/lbd/ipvs"
	"github.com/lbd-project/lbd/lb"
	"github.com/lbd-project/lbd/vrrp"
)

// This file holds the control-socket methods (package control, types in
// control/api.go). Each hands its work to the goroutine that owns the
// state: the daemon loop (reload, VRRP units), a unit's loop (handover),
// or the engine's (drain, enable, runtime, plan, status).

// Error codes of lbd's methods besides those of package control.
const (
	// CodeExists: "runtime add" of a real server the service has.
	CodeExists = "exists"
	// CodeConfigured: "runtime edit/delete" of a real server of the file.
	CodeConfigured = "configured"
)

// startControl listens on the control socket and serves it until ctx
// ends; it returns the function that closes it, or nil when the socket
// cannot be created (logged: VRRP and IPVS go on without it).
func (d *daemon) startControl(ctx context.Context, cfg *conf.Config) func() {
	path := cfg.Global.ControlSocket
	srv, err := control.Listen(path)
	if err != nil {
		d.log.Error("lbd: no control socket; ipvsctl's daemon commands will not work", "path", path, "err", err)
		return nil
	}
	srv.Logger = d.log
	srv.AllowUIDs = []uint32{uint32(os.Getuid())}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ctx, d.mux())
	}()
	d.log.Info("lbd: control socket ready", "path", path)
	return func() {
		srv.Close()
		<-done
	}
}

// mux maps the methods to their handlers.
func (d *daemon) mux() *control.Mux {
	m := control.NewMux()
	m.Handle(control.MethodStatus, control.Typed(func(ctx context.Context, _ control.Peer, _ struct{}) (control.StatusResult, error) {
		return d.statusResult(ctx)
	}))
	m.Handle(control.MethodReload, control.Typed(func(ctx context.Context, _ control.Peer, _ struct{}) (control.ReloadResult, error) {
		var res control.ReloadResult
		var rerr error
		if err := d.do(ctx, func() { res, rerr = d.reload() }); err != nil {
			return res, err
		}
		return res, confError(rerr)
	}))
	m.Handle(control.MethodPlan, control.Typed(d.plan))
	m.Handle(control.MethodDrain, control.Typed(func(ctx context.Context, _ control.Peer, p control.DrainParams) (control.DrainResult, error) {
		key, rs, err := refs(p.Service, p.RealServer)
		if err != nil || d.engine == nil {
			return control.DrainResult{}, lbError(err, d.engine == nil)
		}
		n, err := d.engine.Drain(ctx, key, rs, p.Timeout)
		return control.DrainResult{ActiveConns: n}, lbError(err, false)
	}))
	m.Handle(control.MethodEnable, control.Typed(func(ctx context.Context, _ control.Peer, p control.EnableParams) (any, error) {
		key, rs, err := refs(p.Service, p.RealServer)
		if err != nil || d.engine == nil {
			return nil, lbError(err, d.engine == nil)
		}
		return nil, lbError(d.engine.Enable(ctx, key, rs), false)
	}))
	m.Handle(control.MethodRuntime, control.Typed(d.runtime))
	m.Handle(control.MethodHandover, control.Typed(d.handover))
	m.Handle(control.MethodBalancer, control.Typed(d.balancer))
	return m
}

// confError turns configuration errors into invalid_params with every
// file:line:col line.
func confError(err error) error {
	if err == nil {
		return nil
	}
	var list conf.ErrorList
	if errors.As(err, &list) {
		lines := make([]string, len(list))
		for i, e := range list {
			lines[i] = e.Error()
		}
		return control.Errorf(control.CodeInvalidParams, "%s", strings.Join(lines, "\n"))
	}
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, errNoIPVS) {
		return control.Errorf(control.CodeInvalidParams, "%v", err)
	}
	return err
}

// lbError maps the engine's errors to codes; noEngine means lbd manages
// no service (no IPVS).
func lbError(err error, noEngine bool) error {
	switch {
	case noEngine && err == nil:
		return control.Errorf(control.CodeNotManaged, "lbd manages no IPVS service (no IPVS in the kernel)")
	case err == nil:
		return nil
	case errors.Is(err, lb.ErrNotManaged):
		return control.Errorf(control.CodeNotManaged, "%v", err)
	case errors.Is(err, lb.ErrNotFound):
		return control.Errorf(control.CodeNotFound, "%v", err)
	case errors.Is(err, lb.ErrExists):
		return control.Errorf(CodeExists, "%v", err)
	case errors.Is(err, lb.ErrConfigured):
		return control.Errorf(CodeConfigured, "%v", err)
	}
	return err
}

var protocols = map[string]ipvs.Protocol{"TCP": ipvs.TCP, "UDP": ipvs.UDP, "SCTP": ipvs.SCTP}

// serviceKey converts a ServiceRef.
func serviceKey(r control.ServiceRef) (ipvs.ServiceKey, error) {
	if r.FWMark != 0 {
		k := ipvs.ServiceKey{FWMark: r.FWMark, Family: ipvs.IPv4}
		switch strings.ToLower(r.Family) {
		case "", "ipv4", "inet":
		case "ipv6", "inet6":
			k.Family = ipvs.IPv6
		default:
			return k, control.Errorf(control.CodeInvalidParams, "service family %q: ipv4 or ipv6", r.Family)
		}
		return k, nil
	}
	proto, ok := protocols[strings.ToUpper(cmpOr(r.Protocol, "TCP"))]
	if !ok {
		return ipvs.ServiceKey{}, control.Errorf(control.CodeInvalidParams, "service protocol %q: TCP, UDP or SCTP", r.Protocol)
	}
	a, err := netip.ParseAddr(strings.Trim(r.Address, "[]"))
	if err != nil {
		return ipvs.ServiceKey{}, control.Errorf(control.CodeInvalidParams, "service address: %v", err)
	}
	a = a.Unmap()
	fam := ipvs.IPv4
	if a.Is6() {
		fam = ipvs.IPv6
	}
	return ipvs.ServiceKey{Family: fam, Protocol: proto, Address: a, Port: r.Port}, nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// refs converts a service and real server reference.
func refs(s control.ServiceRef, r control.RealServerRef) (ipvs.ServiceKey, netip.AddrPort, error) {
	key, err := serviceKey(s)
	if err != nil {
		return key, netip.AddrPort{}, err
	}
	a, err := netip.ParseAddr(strings.Trim(r.Address, "[]"))
	if err != nil {
		return key, netip.AddrPort{}, control.Errorf(control.CodeInvalidParams, "real server address: %v", err)
	}
	port := r.Port
	if port == 0 {
		port = key.Port
	}
	return key, netip.AddrPortFrom(a.Unmap(), port), nil
}

var forwardings = map[string]string{"NAT": "NAT", "MASQ": "NAT", "M": "NAT", "DR": "DR", "ROUTE": "DR", "G": "DR",
	"TUN": "TUN", "TUNNEL": "TUN", "IPIP": "TUN", "I": "TUN"}

func (d *daemon) runtime(ctx context.Context, _ control.Peer, p control.RuntimeParams) (any, error) {
	key, rs, err := refs(p.Service, p.RealServer)
	if err != nil || d.engine == nil {
		return nil, lbError(err, d.engine == nil)
	}
	op := lb.RuntimeOp{Op: p.Op, Service: key, Address: rs, UpperThreshold: p.UpperThreshold, LowerThreshold: p.LowerThreshold}
	switch p.Op {
	case "add", "edit", "delete":
	default:
		return nil, control.Errorf(control.CodeInvalidParams, "op %q: add, edit or delete", p.Op)
	}
	if p.Forwarding != "" {
		f, ok := forwardings[strings.ToUpper(p.Forwarding)]
		if !ok {
			return nil, control.Errorf(control.CodeInvalidParams, "forwarding %q: NAT, DR or TUN", p.Forwarding)
		}
		op.Forwarding = f
	}
	if p.Weight != nil {
		if *p.Weight < 0 {
			return nil, control.Errorf(control.CodeInvalidParams, "weight %d is negative", *p.Weight)
		}
		w := int(*p.Weight)
		op.Weight = &w
	}
	err = d.engine.RuntimeChange(ctx, op)
	if err == nil && op.Op == "delete" {
		d.metrics.PruneChecks()
	}
	return nil, lbError(err, false)
}

func (d *daemon) plan(ctx context.Context, _ control.Peer, p control.PlanParams) (control.PlanResult, error) {
	// A file a client names is read as root on its behalf: only a
	// bounded regular file, and no text of it goes back in errors.
	load, file := conf.Load, d.path
	if p.File != "" {
		load, file = conf.LoadClientFile, p.File
	}
	cfg, err := load(file)
	if err != nil {
		return control.PlanResult{}, confError(err)
	}
	if d.engine == nil {
		if needsIPVS(cfg) {
			return control.PlanResult{}, confError(errNoIPVS)
		}
		return control.PlanResult{Changes: []string{}}, nil
	}
	plan, err := d.engine.Plan(ctx, cfg)
	if err != nil {
		return control.PlanResult{}, err
	}
	return control.PlanResult{Changes: plan.Lines()}, nil
}

func (d *daemon) handover(ctx context.Context, _ control.Peer, p control.HandoverParams) (control.HandoverResult, error) {
	var us []*running
	if err := d.do(ctx, func() {
		for _, k := range d.order {
			r := d.units[k]
			for _, m := range r.spec.Members {
				if p.Instance == "" || m.Name() == p.Instance {
					us = append(us, r)
					break
				}
			}
		}
	}); err != nil {
		return control.HandoverResult{}, err
	}
	if len(us) == 0 && p.Instance != "" {
		return control.HandoverResult{}, control.Errorf(control.CodeNotFound, "no vrrp instance %q", p.Instance)
	}
	res := control.HandoverResult{Instances: []string{}}
	var errs []error
	for _, u := range us {
		names, err := u.r.Handover(ctx, p.Restore)
		res.Instances = append(res.Instances, names...)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", u.spec.Key, err))
		}
	}
	return res, errors.Join(errs...)
}

// snapshot is the daemon loop's state for status and metrics.
type snapshot struct {
	cfg        *conf.Config
	generation uint64
	loadedAt   time.Time
	lastReload *control.ReloadOutcome
	vrrp       []vrrp.InstanceStats
	anycast    *anycast
}

func (d *daemon) snapshot(ctx context.Context) (snapshot, error) {
	var s snapshot
	err := d.do(ctx, func() {
		s = snapshot{cfg: d.cfg, generation: d.generation, loadedAt: d.loadedAt, lastReload: d.lastReload, anycast: d.anycast}
		for _, k := range d.order {
			s.vrrp = append(s.vrrp, d.units[k].r.Stats()...)
		}
	})
	return s, err
}

// metricsState is the daemon loop's part of a scrape.
func (d *daemon) metricsState(ctx context.Context) (metrics.State, error) {
	s, err := d.snapshot(ctx)
	if err != nil {
		return metrics.State{}, err
	}
	st := metrics.State{Generation: s.generation, LoadedAt: s.loadedAt, VRRP: s.vrrp}
	if a := s.anycast; a != nil {
		b, err := a.snapshot(ctx)
		if err != nil {
			return st, err
		}
		st.BGP = &metrics.BGP{Configured: b.Configured, Announced: b.Announced, Draining: b.Draining, Errors: b.Errors,
			Speaker: b.Speaker, BFD: b.BFD}
	}
	return st, nil
}

// metricsEngine is the engine the metrics read, nil without IPVS (a nil
// *lb.Engine would make a non-nil metrics.Engine).
func (d *daemon) metricsEngine() metrics.Engine {
	if d.engine == nil {
		return nil
	}
	return d.engine
}

// statusResult gathers status from the daemon loop (VRRP), the engine
// (health) and the kernel (weights, connections).
func (d *daemon) statusResult(ctx context.Context) (control.StatusResult, error) {
	s, err := d.snapshot(ctx)
	if err != nil {
		return control.StatusResult{}, err
	}
	res := control.StatusResult{RouterID: s.cfg.Global.RouterID, ConfigFile: d.path, Generation: s.generation,
		LoadedAt: s.loadedAt, LastReload: s.lastReload, Events: d.events.List(),
		VirtualServers: []control.VirtualServerStatus{}, VRRPInstances: []control.VRRPInstanceStatus{}}
	for _, v := range s.vrrp {
		vs := control.VRRPInstanceStatus{Name: v.Name, Interface: v.Interface,
			VRID: int(v.VRID), State: v.State.String(), Priority: int(v.Priority),
			LastTransition: v.LastTransition, Reason: v.LastReason}
		if v.Master.IsValid() {
			vs.Master = v.Master.String()
		}
		res.VRRPInstances = append(res.VRRPInstances, vs)
	}
	if res.BGP, err = d.bgpStatus(ctx); err != nil {
		return res, err
	}
	if d.engine == nil {
		return res, nil
	}
	st, err := d.engine.Status(ctx)
	if err != nil {
		return res, err
	}
	res.DriftRepairs, res.LastError, res.SettingErrors = uint64(st.Drifts), st.LastError, st.SettingErrors
	kernel := map[ipvs.ServiceKey]map[netip.AddrPort]ipvs.DestinationEntry{}
	fingerprints := map[ipvs.ServiceKey]string{}
	if t, err := d.engine.Stats(ctx); err != nil {
		res.LastError = cmpOr(res.LastError, "cannot read the kernel table: "+err.Error())
	} else {
		for _, e := range t.Services {
			m := map[netip.AddrPort]ipvs.DestinationEntry{}
			for _, de := range e.Destinations {
				m[netip.AddrPortFrom(de.Address, de.Port)] = de
			}
			kernel[e.Key()] = m
			fingerprints[e.Key()] = ipvs.TableFingerprint(e)
		}
	}
	for _, v := range st.VirtualServers {
		for _, svc := range v.Services {
			vs := control.VirtualServerStatus{Service: serviceRef(svc), Name: v.Name, QuorumUp: v.QuorumUp,
				SorryActive: v.SorryActive, Scheduler: v.Scheduler, Forwarding: v.Forwarding,
				TableFingerprint: fingerprints[svc], RealServers: []control.RealServerStatus{}}
			for _, r := range v.RealServers {
				if r.Drained && !r.Disabled {
					continue
				}
				t := r.Target
				rs := control.RealServerStatus{RealServerRef: control.RealServerRef{Address: t.Addr().String(), Port: t.Port()},
					Weight: int32(r.Weight), Up: r.Up, Reason: r.Reason, Since: r.Since,
					Draining: r.Draining || (r.Disabled && !r.Drained), Disabled: r.Disabled, Runtime: r.Runtime}
				if r.ProbeUsers > 1 {
					rs.ProbeUsers = r.ProbeUsers
				}
				if c := r.LastCheck; c != nil {
					rs.LastCheck = &control.CheckResult{At: c.At, OK: c.OK, Reason: c.Reason, Latency: c.Latency}
				}
				if de, ok := kernel[svc][t]; ok {
					w := de.Weight
					rs.KernelWeight, rs.ActiveConns, rs.InactConns = &w, de.ActiveConns, de.InactConns
				}
				vs.RealServers = append(vs.RealServers, rs)
			}
			res.VirtualServers = append(res.VirtualServers, vs)
		}
	}
	return res, nil
}

// serviceRef converts a service key for the control protocol.
func serviceRef(k ipvs.ServiceKey) control.ServiceRef {
	if k.FWMark != 0 {
		fam := "ipv4"
		if k.Family == ipvs.IPv6 {
			fam = "ipv6"
		}
		return control.ServiceRef{FWMark: k.FWMark, Family: fam}
	}
	return control.ServiceRef{Protocol: k.Protocol.String(), Address: k.Address.String(), Port: k.Port}
}
