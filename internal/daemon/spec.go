package daemon

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/vrrp"
)

// This file maps a conf.Config to the units the daemon runs. It reads no
// host state: the one host-dependent value, an instance's primary address
// when unicast_src_ip is not set, is looked up when the unit starts.

// unitSpec is one unit: a sync group with its members, or one instance.
type unitSpec struct {
	// Key names the unit: "group NAME" or "instance NAME".
	Key string
	// Group is the sync group name; empty for a lone instance.
	Group          string
	TrackingWeight bool
	GroupNotify    vrrp.NotifyScripts
	Members        []vrrp.MemberConfig
	// fingerprint is the unit's configuration without file positions;
	// two specs with the same fingerprint run the same way.
	fingerprint string
}

// Names of tracked objects in vrrp.Config.Tracks: one namespace per kind,
// so that an interface and a script of the same name do not collide.
func trackInterfaceName(ifname string) string { return "interface " + ifname }
func trackScriptName(name string) string      { return "script " + name }
func trackFileName(path string) string        { return "file " + path }

// units maps a validated configuration to its units, in file order: sync
// groups first, then the instances outside any group.
func units(cfg *conf.Config) ([]unitSpec, error) {
	scripts := map[string]conf.VRRPScript{}
	for _, s := range cfg.VRRPScripts {
		scripts[s.Name] = s
	}
	instances := map[string]conf.VRRPInstance{}
	for _, in := range cfg.VRRPInstances {
		instances[in.Name] = in
	}
	var out []unitSpec
	grouped := map[string]bool{}
	for _, g := range cfg.VRRPSyncGroups {
		u := unitSpec{Key: "group " + g.Name, Group: g.Name, TrackingWeight: g.TrackingWeight,
			GroupNotify: notifyScripts(g.NotifyMaster, g.NotifyBackup, g.NotifyFault, g.NotifyStop, g.Notify)}
		for _, name := range g.Group {
			in, ok := instances[name]
			if !ok {
				return nil, fmt.Errorf("sync group %q: no instance %q", g.Name, name)
			}
			grouped[name] = true
			u.Members = append(u.Members, memberOf(in, scripts, cfg.Global.VRRP))
		}
		out = append(out, u)
	}
	for _, in := range cfg.VRRPInstances {
		if !grouped[in.Name] {
			out = append(out, unitSpec{Key: "instance " + in.Name, Members: []vrrp.MemberConfig{memberOf(in, scripts, cfg.Global.VRRP)}})
		}
	}
	for i := range out {
		fp, err := fingerprint(cfg, out[i])
		if err != nil {
			return nil, err
		}
		out[i].fingerprint = fp
	}
	return out, nil
}

// memberOf maps one vrrp_instance (defaults already applied by conf);
// groups are global.vrrp's multicast groups.
func memberOf(in conf.VRRPInstance, scripts map[string]conf.VRRPScript, groups conf.VRRPDefaults) vrrp.MemberConfig {
	m := vrrp.MemberConfig{
		Interface: in.Interface,
		Config: vrrp.Config{
			Name:           in.Name,
			Version:        vrrp.Version(in.Version),
			VRID:           uint8(in.VirtualRouterID),
			Priority:       uint8(in.Priority),
			AdvertInterval: in.AdvertInterval.D(),
			NoPreempt:      in.NoPreempt,
			PreemptDelay:   in.PreemptDelay.D(),
			Accept:         in.Accept == nil || *in.Accept,
		},
		GARP: vrrp.GARPConfig{
			Delay:           offIfZero(in.GARPMasterDelay),
			Repeat:          in.GARPMasterRepeat,
			Refresh:         offIfZero(in.GARPMasterRefresh),
			RefreshRepeat:   in.GARPMasterRefreshRepeat,
			LowerPrioDelay:  offIfZero(in.GARPLowerPrioDelay),
			LowerPrioRepeat: in.GARPLowerPrioRepeat,
			Interval:        in.GARPInterval.D(),
			NAInterval:      in.GNAInterval.D(),
		},
		FastTakeover: vrrp.FastTakeover{Misses: in.FastTakeoverMisses},
		Notify:       notifyScripts(in.NotifyMaster, in.NotifyBackup, in.NotifyFault, in.NotifyStop, in.Notify),
	}
	switch in.FastTakeover {
	case "icmp":
		if p := in.FastTakeoverInterval; p != nil {
			m.FastTakeover.Interval = p.D()
		}
	case "bfd":
		m.FastTakeover.BFD = vrrp.BFDTimers{Interval: in.FastTakeoverBFDInterval.D(), Multiplier: uint8(in.FastTakeoverBFDMultiplier)}
	}
	for _, src := range []*conf.Addr{in.UnicastSrcIP, in.MCastSrcIP} {
		if src != nil {
			m.Config.Primary = src.Addr
		}
	}
	for _, p := range in.UnicastPeers {
		m.Peers = append(m.Peers, p.Addr)
	}
	if a := in.Authentication; a != nil && a.Type == "PASS" {
		m.AuthType = vrrp.AuthSimple
		copy(m.AuthData[:], a.Password)
	}
	if len(in.VirtualIPAddresses) > 0 {
		m.IPv6 = in.VirtualIPAddresses[0].Address.Addr().Is6()
	}
	if in.UseVMAC {
		m.VMAC = &vrrp.VMAC{Name: in.VMACName, XmitBase: in.VMACXmitBase}
	}
	for _, v := range in.VirtualIPAddresses {
		m.VIPs = append(m.VIPs, instanceVIP(v, in, m.IPv6))
		m.Config.VIPs = append(m.Config.VIPs, v.Address.Addr())
	}
	if g := groups.MCastGroup4; g != nil && !m.IPv6 {
		m.Group = g.Addr
	}
	if g := groups.MCastGroup6; g != nil && m.IPv6 {
		m.Group = g.Addr
	}
	for _, v := range in.VirtualIPAddressesExcluded {
		m.Excluded = append(m.Excluded, instanceVIP(v, in, m.IPv6))
	}
	for _, r := range in.VirtualRoutes {
		m.Routes = append(m.Routes, route(r))
	}
	for _, r := range in.VirtualRules {
		m.Rules = append(m.Rules, rule(r))
	}
	for _, t := range in.TrackInterfaces {
		name := trackInterfaceName(t.Name)
		m.TrackInterfaces = append(m.TrackInterfaces, vrrp.TrackedLink{Track: name, Interface: t.Name})
		m.Config.Tracks = append(m.Config.Tracks, vrrp.Track{Name: name, Kind: vrrp.TrackInterface, Weight: t.Weight})
	}
	for _, t := range in.TrackScripts {
		s := scripts[t.Name]
		w := s.Weight
		if t.Weight != nil {
			w = *t.Weight
		}
		name := trackScriptName(t.Name)
		m.Scripts = append(m.Scripts, vrrp.TrackedScript{
			Track: name, Name: s.Name, Args: slices.Clone(s.Script),
			Interval: s.Interval.D(), Timeout: s.Timeout.D(), Rise: s.Rise, Fall: s.Fall,
			InitFail: s.InitFail, User: s.User,
		})
		m.Config.Tracks = append(m.Config.Tracks, vrrp.Track{Name: name, Kind: vrrp.TrackScript, Weight: w, InitFail: s.InitFail})
	}
	for _, t := range in.TrackFiles {
		name := trackFileName(t.Path)
		m.Files = append(m.Files, vrrp.TrackedFile{Track: name, Path: t.Path})
		m.Config.Tracks = append(m.Config.Tracks, vrrp.Track{Name: name, Kind: vrrp.TrackFile, Weight: t.Weight, Reverse: t.Reverse})
	}
	return m
}

// notifyScripts maps the notify scripts of an instance or a sync group.
func notifyScripts(master, backup, fault, stop, generic conf.Command) vrrp.NotifyScripts {
	return vrrp.NotifyScripts{Master: slices.Clone(master), Backup: slices.Clone(backup),
		Fault: slices.Clone(fault), Stop: slices.Clone(stop), Generic: slices.Clone(generic)}
}

// offIfZero maps conf's "0 turns it off" to vrrp's negative duration.
func offIfZero(d *conf.Duration) time.Duration {
	if d == nil {
		return 0 // vrrp's default
	}
	if *d == 0 {
		return -1
	}
	return d.D()
}

func vip(v conf.VIP, dflt string) vrrp.VIP {
	dev := v.Interface
	if dev == "" {
		dev = dflt
	}
	return vrrp.VIP{Prefix: v.Address.Prefix, Dev: dev, Label: v.Label}
}

// instanceVIP maps an address of instance in, whose family is IPv6 or
// not: with use_vmac, those of that family on the instance's interface go
// on the macvlan, where keepalived puts them.
func instanceVIP(v conf.VIP, in conf.VRRPInstance, ipv6 bool) vrrp.VIP {
	out := vip(v, in.Interface)
	if in.UseVMAC && out.Dev == in.Interface && out.Addr().Is6() == ipv6 {
		out.Dev = in.VMACName
	}
	return out
}

// route maps a route of the configuration.
func route(r conf.Route) vrrp.Route {
	out := vrrp.Route{Dst: r.To.Prefix, Dev: r.Interface, Table: r.Table, Metric: r.Metric,
		Scope: r.Scope, Type: r.Type, OnLink: r.OnLink}
	if r.Via != nil {
		out.Via = r.Via.Addr
	}
	if r.Src != nil {
		out.Src = r.Src.Addr
	}
	return out
}

// rule maps a rule of the configuration; a fwmark without fwmask
// compares every bit.
func rule(r conf.Rule) vrrp.Rule {
	out := vrrp.Rule{IPv6: r.IPv6(), Priority: r.Priority, Table: r.Table, IIF: r.IIF, OIF: r.OIF}
	if r.From != nil {
		out.From = r.From.Prefix
	}
	if r.To != nil {
		out.To = r.To.Prefix
	}
	if r.FWMark != nil {
		out.Mark, out.Mask = *r.FWMark, ^uint32(0)
		if r.FWMask != nil {
			out.Mask = *r.FWMask
		}
	}
	return out
}

// fingerprint is the configuration a unit runs with, file positions left
// out: the members as written (after defaults), the vrrp_scripts they
// track, the sync group, and the multicast groups of global.vrrp. Global
// settings that the daemon applies live (notify_timeout, router_id) are
// not part of it.
func fingerprint(cfg *conf.Config, u unitSpec) (string, error) {
	var fp struct {
		Group     *conf.SyncGroup
		Instances []conf.VRRPInstance
		Scripts   []conf.VRRPScript
		MCast     [2]*conf.Addr
	}
	fp.MCast = [2]*conf.Addr{cfg.Global.VRRP.MCastGroup4, cfg.Global.VRRP.MCastGroup6}
	for _, g := range cfg.VRRPSyncGroups {
		if u.Group == g.Name {
			fp.Group = &g
		}
	}
	seen := map[string]bool{}
	for _, m := range u.Members {
		for _, in := range cfg.VRRPInstances {
			if in.Name == m.Name() {
				fp.Instances = append(fp.Instances, in)
			}
		}
		for _, s := range m.Scripts {
			if seen[s.Name] {
				continue
			}
			seen[s.Name] = true
			for _, def := range cfg.VRRPScripts {
				if def.Name == s.Name {
					fp.Scripts = append(fp.Scripts, def)
				}
			}
		}
	}
	b, err := json.Marshal(fp)
	if err != nil {
		return "", fmt.Errorf("fingerprint of %s: %w", u.Key, err)
	}
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil {
		return "", fmt.Errorf("fingerprint of %s: %w", u.Key, err)
	}
	b, err = json.Marshal(dropPos(tree)) // map keys come out sorted
	if err != nil {
		return "", fmt.Errorf("fingerprint of %s: %w", u.Key, err)
	}
	return string(b), nil
}

// dropPos removes every "Pos" key: a configuration that only moved in the
// file is the same configuration.
func dropPos(v any) any {
	switch v := v.(type) {
	case map[string]any:
		delete(v, "Pos")
		for k, x := range v {
			v[k] = dropPos(x)
		}
	case []any:
		for i, x := range v {
			v[i] = dropPos(x)
		}
	}
	return v
}

// plan is what a reload does to the running units, by key.
type plan struct {
	Keep    []string // unchanged: left running, untouched
	Restart []string // changed: stopped, then started with the new config
	Start   []string // new
	Stop    []string // gone
}

// diff compares the running units with the new configuration's.
func diff(old, new []unitSpec) plan {
	var p plan
	prev := map[string]unitSpec{}
	for _, u := range old {
		prev[u.Key] = u
	}
	next := map[string]bool{}
	for _, u := range new {
		next[u.Key] = true
		o, ok := prev[u.Key]
		switch {
		case !ok:
			p.Start = append(p.Start, u.Key)
		case o.fingerprint == u.fingerprint:
			p.Keep = append(p.Keep, u.Key)
		default:
			p.Restart = append(p.Restart, u.Key)
		}
	}
	for _, u := range old {
		if !next[u.Key] {
			p.Stop = append(p.Stop, u.Key)
		}
	}
	return p
}
