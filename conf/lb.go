package conf

import (
	"cmp"
	"fmt"
	"net/netip"
	"time"

	"github.com/lbd-project/lbd/ipvs"
)

// This file turns virtual servers into IPVS objects. The validator and the
// engine (package lb) both use these functions, so what `lbd -t` checks is
// exactly what the daemon installs.

// applyLBDefaults fills the load-balancing part of the documented defaults.
func (c *Config) applyLBDefaults() {
	g := &c.Global
	if g.LVSDrainTimeout == 0 {
		g.LVSDrainTimeout = Duration(DefaultDrainTimeout)
	}
	if g.LVSReconcileInterval == 0 {
		g.LVSReconcileInterval = Duration(DefaultReconcileInterval)
	}
	for i := range c.VirtualServerGroups {
		gr := &c.VirtualServerGroups[i]
		gr.Family = cmp.Or(gr.Family, "IPv4")
	}
	for i := range c.VirtualServers {
		c.VirtualServers[i].applyDefaults()
	}
}

// applyDefaults fills a virtual server's documented defaults. They depend
// on nothing outside the virtual server, so Parser can keep the result.
func (vs *VirtualServer) applyDefaults() {
	if vs.Address != nil {
		vs.Protocol = cmp.Or(vs.Protocol, "TCP")
	}
	if vs.FWMark != 0 {
		vs.Family = cmp.Or(vs.Family, "IPv4")
	}
	vs.Scheduler = cmp.Or(vs.Scheduler, DefaultScheduler)
	vs.Forwarding = cmp.Or(vs.Forwarding, "NAT")
	if vs.PersistenceTimeout != 0 || vs.PersistenceGranularity != nil {
		vs.Persistence = true
	}
	if vs.Persistence && vs.PersistenceTimeout == 0 {
		vs.PersistenceTimeout = Duration(DefaultPersistenceTimeout)
	}
	if vs.Quorum == nil {
		vs.Quorum = ptr(DefaultQuorum)
	}
	if vs.Name == "" {
		vs.Name = vs.ID()
	}
	if vs.Check != nil {
		// Shared by every real server without a check of its own;
		// callers must not modify it.
		vs.defaultCheck = vs.effectiveCheck(&RealServer{})
	}
	if s := vs.SorryServer; s != nil && s.Weight == nil {
		s.Weight = ptr(DefaultWeight)
	}
	for j := range vs.RealServers {
		if vs.RealServers[j].Weight == nil {
			vs.RealServers[j].Weight = ptr(DefaultWeight)
		}
	}
}

// ID is the virtual server's identity, stable across reloads while its
// address, mark or group stays: "TCP 192.0.2.10:80", "FWM 1",
// "FWM 1 IPv6" or "group NAME". Health state is kept per ID.
func (vs *VirtualServer) ID() string {
	switch {
	case vs.Group != "":
		return "group " + vs.Group
	case vs.FWMark != 0:
		k := ipvs.ServiceKey{FWMark: vs.FWMark, Family: familyOf(vs.Family)}
		return k.String()
	case vs.Address != nil:
		return cmp.Or(vs.Protocol, "TCP") + " " + netip.AddrPortFrom(vs.Address.Addr, vs.Address.Port).String()
	}
	return "virtual server at " + vs.Pos.String()
}

func familyOf(s string) ipvs.Family {
	if s == "IPv6" {
		return ipvs.IPv6
	}
	return ipvs.IPv4
}

var protocols = map[string]ipvs.Protocol{"TCP": ipvs.TCP, "UDP": ipvs.UDP, "SCTP": ipvs.SCTP}

var methods = map[string]ipvs.ForwardMethod{"NAT": ipvs.Masq, "DR": ipvs.Route, "TUN": ipvs.Tunnel}

var tunnelTypes = map[string]ipvs.TunnelType{"": ipvs.IPIP, "ipip": ipvs.IPIP, "gue": ipvs.GUE, "gre": ipvs.GRE}

var tunnelFlags = map[string]ipvs.TunnelFlags{"": 0, "nocsum": 0, "csum": ipvs.TunnelCsum, "remcsum": ipvs.TunnelRemCsum}

// Services returns the IPVS services of vs: one, or one per address and
// mark of its group. groups maps group names to groups (see GroupIndex).
// Unknown names (rejected by validation) give no services.
func (vs *VirtualServer) Services(groups map[string]*VirtualServerGroup) []ipvs.Service {
	base := ipvs.Service{
		Scheduler:  vs.Scheduler,
		Persistent: vs.Persistence,
		OnePacket:  vs.OPS,
		PEName:     vs.PersistenceEngine,
	}
	base.SchedFlags, _ = ipvs.ParseSchedFlags(vs.Scheduler, joinComma(vs.SchedulerFlags))
	if vs.Persistence {
		base.Timeout = uint32(vs.PersistenceTimeout.D() / time.Second)
		if vs.PersistenceGranularity != nil {
			base.Netmask = vs.PersistenceGranularity.Bits
		}
	}
	proto := protocols[cmp.Or(vs.Protocol, "TCP")]
	var out []ipvs.Service
	switch {
	case vs.Group != "":
		g := groups[vs.Group]
		if g == nil {
			return nil
		}
		for _, r := range g.Addresses {
			for _, a := range r.Addrs() {
				s := base
				s.Protocol, s.Address, s.Port = proto, a, r.Port
				out = append(out, s)
			}
		}
		for _, m := range g.FWMarks {
			s := base
			s.FWMark, s.Family = m, familyOf(g.Family)
			out = append(out, s)
		}
	case vs.FWMark != 0:
		s := base
		s.FWMark, s.Family = vs.FWMark, familyOf(vs.Family)
		out = append(out, s)
	case vs.Address != nil:
		s := base
		s.Protocol, s.Address, s.Port = proto, vs.Address.Addr, vs.Address.Port
		out = append(out, s)
	}
	for i := range out {
		if out[i].Persistent && out[i].Netmask == 0 {
			out[i].Netmask = bitsOf(out[i])
		}
	}
	return out
}

func bitsOf(s ipvs.Service) int {
	if s.Family == ipvs.IPv6 || s.FWMark == 0 && s.Address.Is6() {
		return 128
	}
	return 32
}

func joinComma(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}

// GroupIndex maps virtual_server_groups by name.
func (c *Config) GroupIndex() map[string]*VirtualServerGroup {
	m := make(map[string]*VirtualServerGroup, len(c.VirtualServerGroups))
	for i := range c.VirtualServerGroups {
		g := &c.VirtualServerGroups[i]
		if _, dup := m[g.Name]; !dup {
			m[g.Name] = g
		}
	}
	return m
}

// destination builds an IPVS destination of svc.
func destination(addr HostPort, fwd string, tun *Tunnel, weight int, svc ipvs.Service) ipvs.Destination {
	d := ipvs.Destination{
		Address:       addr.Addr,
		Port:          svc.Port,
		ForwardMethod: methods[fwd],
		Weight:        int32(weight),
	}
	if addr.HasPort {
		d.Port = addr.Port
	}
	if d.ForwardMethod == ipvs.Route || d.ForwardMethod == ipvs.Tunnel {
		// Only NAT maps ports; validation rejects a different one for
		// address services, and in a firewall-mark service the port of a
		// DR/TUN real server only tells its checks where to connect.
		d.Port = svc.Port
	}
	if d.ForwardMethod == ipvs.Tunnel && tun != nil {
		d.TunnelType = tunnelTypes[tun.Type]
		d.TunnelFlags = tunnelFlags[tun.Checksum]
		if d.TunnelType == ipvs.GUE {
			d.TunnelPort = tun.Port
		}
	}
	return d
}

// Destination returns the IPVS destination of real server rs in svc (one
// of vs's services) with its configured weight.
func (vs *VirtualServer) Destination(rs *RealServer, svc ipvs.Service) ipvs.Destination {
	fwd := cmp.Or(rs.Forwarding, vs.Forwarding)
	tun := vs.Tunnel
	if rs.Tunnel != nil {
		tun = rs.Tunnel
	}
	d := destination(rs.Address, fwd, tun, *cmp.Or(rs.Weight, ptr(DefaultWeight)), svc)
	d.UpperThreshold, d.LowerThreshold = rs.UThreshold, rs.LThreshold
	return d
}

// SorryDestination returns the sorry server as a destination of svc.
func (vs *VirtualServer) SorryDestination(svc ipvs.Service) (ipvs.Destination, bool) {
	s := vs.SorryServer
	if s == nil {
		return ipvs.Destination{}, false
	}
	fwd := cmp.Or(s.Forwarding, vs.Forwarding)
	tun := vs.Tunnel
	if s.Tunnel != nil {
		tun = s.Tunnel
	}
	return destination(s.Address, fwd, tun, *cmp.Or(s.Weight, ptr(DefaultWeight)), svc), true
}

// Inhibit reports whether a failed rs stays with weight 0.
func (vs *VirtualServer) Inhibit(rs *RealServer) bool {
	if vs.AnnouncesBGP() {
		// Every balancer must keep the same list for the same table.
		return true
	}
	if rs.InhibitOnFailure != nil {
		return *rs.InhibitOnFailure
	}
	return vs.InhibitOnFailure
}

// RealServerKey is "addr:port" of rs in the first service of vs, or the
// address alone for a port-less real server: what identifies it within
// the virtual server.
func (rs *RealServer) Key() string { return rs.Address.String() }

// EffectiveCheck merges rs's check over vs's and fills keepalived's
// defaults for the type. It returns nil when the server is not checked.
func (vs *VirtualServer) EffectiveCheck(rs *RealServer) *Check {
	if rs.Check == nil && vs.defaultCheck != nil {
		return vs.defaultCheck
	}
	return vs.effectiveCheck(rs)
}

// EffectiveChecks are rs's checks, each as EffectiveCheck merges it: its
// several checks (RealServer.Checks), or its one; none when unchecked.
func (vs *VirtualServer) EffectiveChecks(rs *RealServer) []*Check {
	if len(rs.Checks) == 0 {
		if c := vs.EffectiveCheck(rs); c != nil {
			return []*Check{c}
		}
		return nil
	}
	out := make([]*Check, 0, len(rs.Checks))
	for i := range rs.Checks {
		if c := vs.mergedCheck(rs, &rs.Checks[i]); c != nil {
			out = append(out, c)
		}
	}
	return out
}

// mergedCheck is own, one of rs's checks, merged over vs's check.
func (vs *VirtualServer) mergedCheck(rs *RealServer, own *Check) *Check {
	return vs.effectiveCheck(&RealServer{Address: rs.Address, Check: own})
}

func (vs *VirtualServer) effectiveCheck(rs *RealServer) *Check {
	var c Check
	switch {
	case vs.Check != nil && rs.Check != nil && rs.Check.Type != "" && rs.Check.Type != vs.Check.Type:
		c = *rs.Check
	case vs.Check != nil:
		c = *vs.Check
		if rs.Check != nil {
			c = mergeCheck(c, *rs.Check)
		}
	case rs.Check != nil:
		c = *rs.Check
	default:
		return nil
	}
	if c.Type == "" || c.Type == "NONE" {
		return nil
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = Duration(DefaultConnectTimeout)
	}
	if c.Retry == nil {
		r := 1
		switch c.Type {
		case "MISC":
			r = 0
		case "DNS":
			r = DefaultDNSRetry
		}
		c.Retry = &r
	}
	if c.DelayLoop == 0 {
		c.DelayLoop = Duration(DefaultDelayLoop)
	}
	if c.DelayBeforeRetry == 0 {
		switch c.Type {
		case "HTTP_GET", "SSL_GET":
			c.DelayBeforeRetry = Duration(DefaultHTTPRetryDelay)
		case "DNS":
			c.DelayBeforeRetry = c.DelayLoop // keepalived's DNS_CHECK retries a delay_loop later
		default:
			c.DelayBeforeRetry = Duration(DefaultDelayBeforeRetry)
		}
	}
	if c.Warmup == nil {
		c.Warmup = ptr(c.DelayLoop)
	}
	if c.MiscTimeout == 0 {
		c.MiscTimeout = c.ConnectTimeout
	}
	c.Rise, c.Fall = max(c.Rise, 1), max(c.Fall, 1)
	if c.HTTPProtocol == "" {
		c.HTTPProtocol = "1.0"
	}
	return &c
}

// mergeCheck overlays the fields o sets on base (same type).
func mergeCheck(base, o Check) Check {
	base.Pos = o.Pos
	base.ConnectIP = cmp.Or(o.ConnectIP, base.ConnectIP)
	base.ConnectPort = cmp.Or(o.ConnectPort, base.ConnectPort)
	base.BindTo = cmp.Or(o.BindTo, base.BindTo)
	base.BindPort = cmp.Or(o.BindPort, base.BindPort)
	base.FWMark = cmp.Or(o.FWMark, base.FWMark)
	base.ConnectTimeout = cmp.Or(o.ConnectTimeout, base.ConnectTimeout)
	base.Retry = cmp.Or(o.Retry, base.Retry)
	base.DelayBeforeRetry = cmp.Or(o.DelayBeforeRetry, base.DelayBeforeRetry)
	base.DelayLoop = cmp.Or(o.DelayLoop, base.DelayLoop)
	base.Warmup = cmp.Or(o.Warmup, base.Warmup)
	base.Rise = cmp.Or(o.Rise, base.Rise)
	base.Fall = cmp.Or(o.Fall, base.Fall)
	base.HTTPProtocol = cmp.Or(o.HTTPProtocol, base.HTTPProtocol)
	base.VirtualHost = cmp.Or(o.VirtualHost, base.VirtualHost)
	base.EnableSNI = base.EnableSNI || o.EnableSNI
	base.Verify = base.Verify || o.Verify
	base.CAFile = cmp.Or(o.CAFile, base.CAFile)
	base.ServerName = cmp.Or(o.ServerName, base.ServerName)
	if len(o.URLs) > 0 {
		base.URLs = o.URLs
	}
	if len(o.MiscPath) > 0 {
		base.MiscPath = o.MiscPath
	}
	base.MiscTimeout = cmp.Or(o.MiscTimeout, base.MiscTimeout)
	base.MiscDynamic = base.MiscDynamic || o.MiscDynamic
	base.User = cmp.Or(o.User, base.User)
	base.TrackFile = cmp.Or(o.TrackFile, base.TrackFile)
	base.Weight = cmp.Or(o.Weight, base.Weight)
	base.Reverse = base.Reverse || o.Reverse
	base.Dynamic = base.Dynamic || o.Dynamic
	if o.InitFile != nil {
		base.InitFile = o.InitFile
	}
	base.Payload = cmp.Or(o.Payload, base.Payload)
	base.RequireReply = base.RequireReply || o.RequireReply
	base.Reply = cmp.Or(o.Reply, base.Reply)
	base.MinReplyLength = cmp.Or(o.MinReplyLength, base.MinReplyLength)
	base.MaxReplyLength = cmp.Or(o.MaxReplyLength, base.MaxReplyLength)
	base.QueryType = cmp.Or(o.QueryType, base.QueryType)
	base.QueryName = cmp.Or(o.QueryName, base.QueryName)
	base.HeloName = cmp.Or(o.HeloName, base.HeloName)
	return base
}

// CheckTarget is the address and port a check of rs in svc connects to:
// the real server's address and port (the service's when it has none),
// overridden by connect_ip and connect_port.
func (c *Check) CheckTarget(rs *RealServer, svc ipvs.Service) netip.AddrPort {
	a, p := rs.Address.Addr, svc.Port
	if rs.Address.HasPort {
		p = rs.Address.Port
	}
	if c.ConnectIP != nil {
		a = c.ConnectIP.Addr
	}
	if c.ConnectPort != 0 {
		p = c.ConnectPort
	}
	return netip.AddrPortFrom(a, p)
}

// needsPort reports whether the check type connects to a port.
func (c *Check) needsPort() bool {
	switch c.Type {
	case "TCP", "HTTP_GET", "SSL_GET", "UDP", "DNS", "SMTP":
		return true
	}
	return false
}

// String describes the check for logs.
func (c *Check) String() string { return fmt.Sprintf("%s check", c.Type) }
