package keepalived

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lbd-project/lbd/conf"
)

// Export writes cfg (validated, from conf.Load or conf.Parse) as a
// keepalived.conf for a rollback. It covers global router_id,
// net_namespace and VRRP defaults (multicast groups and gratuitous ARP pacing included, the
// latter as garp_group blocks), static addresses, routes and rules,
// vrrp_script, vrrp_instance with its virtual routes and rules,
// vrrp_sync_group and address or
// fwmark virtual_server blocks with real_server and TCP, HTTP_GET, SSL_GET,
// MISC and PING checks; anything else is a Finding. Every value is written
// explicitly, so keepalived's defaults do not matter.
func Export(cfg *conf.Config) ([]byte, []Finding, error) {
	e := &exporter{}
	e.run(cfg)
	return []byte(e.b.String()), e.findings, nil
}

type exporter struct {
	b        strings.Builder
	findings []Finding
	depth    int
}

func (e *exporter) line(format string, args ...any) {
	e.b.WriteString(strings.Repeat("    ", e.depth))
	fmt.Fprintf(&e.b, format, args...)
	e.b.WriteByte('\n')
}

func (e *exporter) open(format string, args ...any) {
	e.line(format+" {", args...)
	e.depth++
}

func (e *exporter) close() {
	e.depth--
	e.line("}")
}

func (e *exporter) find(p conf.Pos, key string, sev Severity, msg string) {
	e.findings = append(e.findings, Finding{Pos: Pos{p.File, p.Line}, Keyword: key, Severity: sev, Message: msg})
}

func secs(d conf.Duration) string {
	return strconv.FormatFloat(d.D().Seconds(), 'f', -1, 64)
}

// quote writes a command as one quoted keepalived string.
func quote(cmd conf.Command) string {
	parts := make([]string, len(cmd))
	for i, w := range cmd {
		if strings.ContainsAny(w, " \t'\"\\") || w == "" {
			w = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
		parts[i] = w
	}
	return `"` + strings.ReplaceAll(strings.Join(parts, " "), `"`, `\"`) + `"`
}

func (e *exporter) run(cfg *conf.Config) {
	g := cfg.Global
	e.line("# Exported from lbd by lbd export-keepalived.")
	e.open("global_defs")
	e.line("router_id %s", g.RouterID)
	e.line("vrrp_version %d", g.VRRP.Version)
	if d := g.VRRP.GARPMasterDelay; d != nil {
		e.line("vrrp_garp_master_delay %s", secs(*d))
	}
	e.line("vrrp_garp_master_repeat %d", g.VRRP.GARPMasterRepeat)
	if d := g.VRRP.GARPMasterRefresh; d != nil {
		e.line("vrrp_garp_master_refresh %s", secs(*d))
	}
	e.line("vrrp_garp_master_refresh_repeat %d", g.VRRP.GARPMasterRefreshRepeat)
	if d := g.VRRP.GARPLowerPrioDelay; d != nil {
		e.line("vrrp_garp_lower_prio_delay %s", secs(*d))
	}
	if g.VRRP.GARPLowerPrioRepeat != 0 {
		e.line("vrrp_garp_lower_prio_repeat %d", g.VRRP.GARPLowerPrioRepeat)
	}
	if g.VRRP.GARPInterval != 0 {
		e.line("vrrp_garp_interval %s", secs(g.VRRP.GARPInterval))
	}
	if g.VRRP.GNAInterval != 0 {
		e.line("vrrp_gna_interval %s", secs(g.VRRP.GNAInterval))
	}
	if a := g.VRRP.MCastGroup4; a != nil {
		e.line("vrrp_mcast_group4 %s", a)
	}
	if a := g.VRRP.MCastGroup6; a != nil {
		e.line("vrrp_mcast_group6 %s", a)
	}
	if t := g.LVSTimeouts; t != nil {
		e.line("lvs_timeouts tcp %s tcpfin %s udp %s", secs(t.TCP), secs(t.TCPFin), secs(t.UDP))
	}
	if g.LVSSyncDaemon != nil {
		e.find(g.LVSSyncDaemon.Pos, "lvs_sync_daemon", Unsupported, "not exported; add lvs_sync_daemon to global_defs by hand")
	}
	if g.LVSSloppyTCP != nil {
		v := 0
		if *g.LVSSloppyTCP {
			v = 1
		}
		e.find(g.Pos, "lvs_sloppy_tcp", Unsupported, fmt.Sprintf("keepalived has no equivalent; run sysctl -w net.ipv4.vs.sloppy_tcp=%d", v))
	}
	e.close()
	if g.NetNamespace != "" {
		// keepalived reads it at the top level, not in global_defs.
		e.line("net_namespace %s", g.NetNamespace)
	}
	e.static(cfg)
	e.garpGroups(cfg)
	for _, s := range cfg.VRRPScripts {
		e.line("")
		e.open("vrrp_script %s", s.Name)
		e.line("script %s", quote(s.Script))
		e.line("interval %s", secs(s.Interval))
		e.line("timeout %s", secs(s.Timeout))
		e.line("rise %d", s.Rise)
		e.line("fall %d", s.Fall)
		e.line("weight %d", s.Weight)
		if s.InitFail {
			e.line("init_fail")
		}
		if s.User != "" {
			e.line("user %s", s.User)
		}
		e.close()
	}
	for _, in := range cfg.VRRPInstances {
		e.line("")
		e.instance(in)
	}
	for _, sg := range cfg.VRRPSyncGroups {
		e.line("")
		e.open("vrrp_sync_group %s", sg.Name)
		e.open("group")
		for _, m := range sg.Group {
			e.line("%s", m)
		}
		e.close()
		if sg.TrackingWeight {
			e.line("sync_group_tracking_weight")
		}
		e.notify(sg.NotifyMaster, sg.NotifyBackup, sg.NotifyFault, sg.NotifyStop, sg.Notify)
		e.close()
	}
	for _, gr := range cfg.VirtualServerGroups {
		e.find(gr.Pos, "virtual_server_groups", Unsupported, "virtual server groups are not exported")
	}
	for i := range cfg.VirtualServers {
		e.line("")
		e.virtualServer(&cfg.VirtualServers[i])
	}
}

func (e *exporter) instance(in conf.VRRPInstance) {
	e.open("vrrp_instance %s", in.Name)
	e.line("state BACKUP")
	e.line("interface %s", in.Interface)
	if in.UseVMAC {
		e.line("use_vmac %s", in.VMACName)
		if in.VMACXmitBase {
			e.line("vmac_xmit_base")
		}
	}
	e.line("virtual_router_id %d", in.VirtualRouterID)
	e.line("priority %d", in.Priority)
	e.line("version %d", in.Version)
	e.line("advert_int %s", secs(in.AdvertInterval))
	if in.GARPMasterDelay != nil {
		e.line("garp_master_delay %s", secs(*in.GARPMasterDelay))
	}
	e.line("garp_master_repeat %d", in.GARPMasterRepeat)
	if in.GARPMasterRefresh != nil {
		e.line("garp_master_refresh %s", secs(*in.GARPMasterRefresh))
	}
	e.line("garp_master_refresh_repeat %d", in.GARPMasterRefreshRepeat)
	e.line("garp_lower_prio_delay %s", secs(*in.GARPLowerPrioDelay))
	e.line("garp_lower_prio_repeat %d", in.GARPLowerPrioRepeat)
	if in.NoPreempt {
		e.line("nopreempt")
	}
	if in.PreemptDelay != 0 {
		e.line("preempt_delay %s", secs(in.PreemptDelay))
	}
	if in.Accept != nil && *in.Accept {
		e.line("accept")
	} else {
		e.line("no_accept")
	}
	if a := in.Authentication; a != nil {
		e.open("authentication")
		e.line("auth_type %s", a.Type)
		e.line("auth_pass %s", a.Password)
		e.close()
	}
	if in.UnicastSrcIP != nil {
		e.line("unicast_src_ip %s", in.UnicastSrcIP)
	}
	if in.MCastSrcIP != nil {
		e.line("mcast_src_ip %s", in.MCastSrcIP)
	}
	if len(in.UnicastPeers) > 0 {
		e.open("unicast_peer")
		for _, p := range in.UnicastPeers {
			e.line("%s", p)
		}
		e.close()
	}
	vips := func(key string, vs []conf.VIP) {
		if len(vs) == 0 {
			return
		}
		e.open("%s", key)
		for _, v := range vs {
			s := v.Address.String()
			if v.Interface != "" && v.Interface != in.Interface {
				s += " dev " + v.Interface
			}
			if v.Label != "" {
				s += " label " + v.Label
			}
			e.line("%s", s)
		}
		e.close()
	}
	vips("virtual_ipaddress", in.VirtualIPAddresses)
	vips("virtual_ipaddress_excluded", in.VirtualIPAddressesExcluded)
	e.routes("virtual_routes", "virtual_rules", in.VirtualRoutes, in.VirtualRules)
	if len(in.TrackInterfaces) > 0 {
		e.open("track_interface")
		for _, t := range in.TrackInterfaces {
			if t.Weight != 0 {
				e.line("%s weight %d", t.Name, t.Weight)
			} else {
				e.line("%s", t.Name)
			}
		}
		e.close()
	}
	if len(in.TrackScripts) > 0 {
		e.open("track_script")
		for _, t := range in.TrackScripts {
			if t.Weight != nil {
				e.line("%s weight %d", t.Name, *t.Weight)
			} else {
				e.line("%s", t.Name)
			}
		}
		e.close()
	}
	if len(in.TrackFiles) > 0 {
		e.find(in.Pos, "track_files", Unsupported, "track files are not exported")
	}
	e.notify(in.NotifyMaster, in.NotifyBackup, in.NotifyFault, in.NotifyStop, in.Notify)
	e.close()
}

// notify writes the notify scripts of an instance or a sync group.
func (e *exporter) notify(master, backup, fault, stop, generic conf.Command) {
	for _, n := range []struct {
		key string
		cmd conf.Command
	}{{"notify_master", master}, {"notify_backup", backup}, {"notify_fault", fault},
		{"notify_stop", stop}, {"notify", generic}} {
		if len(n.cmd) > 0 {
			e.line("%s %s", n.key, quote(n.cmd))
		}
	}
}

// routes writes route and rule blocks.
func (e *exporter) routes(routeKey, ruleKey string, routes []conf.Route, rules []conf.Rule) {
	if len(routes) > 0 {
		e.open("%s", routeKey)
		for _, r := range routes {
			e.line("%s", routeLine(r))
		}
		e.close()
	}
	if len(rules) > 0 {
		e.open("%s", ruleKey)
		for _, r := range rules {
			e.line("%s", ruleLine(r))
		}
		e.close()
	}
}

// static writes the static addresses, routes and rules.
func (e *exporter) static(cfg *conf.Config) {
	if len(cfg.StaticIPAddresses) > 0 {
		e.open("static_ipaddress")
		for _, v := range cfg.StaticIPAddresses {
			s := v.Address.String() + " dev " + v.Interface
			if v.Label != "" {
				s += " label " + v.Label
			}
			e.line("%s", s)
		}
		e.close()
	}
	e.routes("static_routes", "static_rules", cfg.StaticRoutes, cfg.StaticRules)
}

// garpGroups writes a garp_group for each interface whose instances pace
// gratuitous ARP / NA otherwise than global.vrrp: keepalived sets the
// pacing per interface, lbd per instance.
func (e *exporter) garpGroups(cfg *conf.Config) {
	g := cfg.Global.VRRP
	type pacing struct{ garp, gna conf.Duration }
	byIface := map[string]pacing{}
	var order []string
	for _, in := range cfg.VRRPInstances {
		p := pacing{*in.GARPInterval, *in.GNAInterval}
		if q, ok := byIface[in.Interface]; ok {
			if q != p {
				e.find(in.Pos, "garp_interval", Approximated, "keepalived paces per interface: "+in.Interface+
					" gets the garp_interval / gna_interval of its first instance")
			}
			continue
		}
		byIface[in.Interface] = p
		order = append(order, in.Interface)
	}
	for _, iface := range order {
		p := byIface[iface]
		if p == (pacing{g.GARPInterval, g.GNAInterval}) {
			continue
		}
		e.open("garp_group")
		e.line("garp_interval %s", secs(p.garp))
		e.line("gna_interval %s", secs(p.gna))
		e.line("interface %s", iface)
		e.close()
	}
}

func (e *exporter) virtualServer(vs *conf.VirtualServer) {
	switch {
	case vs.Address != nil:
		e.open("virtual_server %s %d", vs.Address.Addr, vs.Address.Port)
		e.line("protocol %s", vs.Protocol)
	case vs.FWMark != 0:
		e.open("virtual_server fwmark %d", vs.FWMark)
		if vs.Family == "IPv6" {
			e.line("ip_family inet6")
		}
	default:
		e.find(vs.Pos, "group", Unsupported, "virtual servers of a group are not exported")
		return
	}
	e.line("lvs_sched %s", vs.Scheduler)
	// Each flag is its own keyword: keepalived 2.2.7 ignores lvs_flags.
	for _, f := range vs.SchedulerFlags {
		e.line("%s", f)
	}
	e.line("lvs_method %s", vs.Forwarding)
	if vs.Tunnel != nil {
		e.find(vs.Pos, "tunnel", Unsupported, "tunnel options are not exported")
	}
	if vs.Persistence {
		e.line("persistence_timeout %d", int64(vs.PersistenceTimeout.D()/time.Second))
		if g := vs.PersistenceGranularity; g != nil {
			e.line("persistence_granularity %d", g.Bits)
		}
	}
	if vs.PersistenceEngine != "" {
		e.line("persistence_engine %s", vs.PersistenceEngine)
	}
	if vs.OPS {
		e.line("ops")
	}
	e.line("quorum %d", *vs.Quorum)
	if vs.Hysteresis != 0 {
		e.line("hysteresis %d", vs.Hysteresis)
	}
	if len(vs.QuorumUp) > 0 {
		e.line("quorum_up %s", quote(vs.QuorumUp))
	}
	if len(vs.QuorumDown) > 0 {
		e.line("quorum_down %s", quote(vs.QuorumDown))
	}
	for _, f := range []struct {
		on  bool
		key string
	}{{vs.Alpha, "alpha"}, {vs.Omega, "omega"}, {vs.InhibitOnFailure, "inhibit_on_failure"}, {vs.SorryServerInhibit, "sorry_server_inhibit"}} {
		if f.on {
			e.line("%s", f.key)
		}
	}
	if s := vs.SorryServer; s != nil {
		port := 0
		if s.Address.HasPort {
			port = int(s.Address.Port)
		} else if vs.Address != nil {
			port = int(vs.Address.Port)
		}
		e.line("sorry_server %s %d", s.Address.Addr, port)
		if s.Forwarding != "" {
			e.line("sorry_server_lvs_method %s", s.Forwarding)
		}
	}
	if vs.VRRPInstance != "" {
		e.find(vs.Pos, "vrrp_instance", Unsupported, "keepalived installs the service on every node; ha_suspend is the nearest")
	}
	for i := range vs.RealServers {
		e.realServer(vs, &vs.RealServers[i])
	}
	e.close()
}

func (e *exporter) realServer(vs *conf.VirtualServer, rs *conf.RealServer) {
	port := rs.Address.Port
	if !rs.Address.HasPort && vs.Address != nil {
		port = vs.Address.Port
	}
	e.open("real_server %s %d", rs.Address.Addr, port)
	e.line("weight %d", *rs.Weight)
	if rs.Forwarding != "" {
		e.line("lvs_method %s", rs.Forwarding)
	}
	if rs.InhibitOnFailure != nil {
		e.line("inhibit_on_failure %t", *rs.InhibitOnFailure)
	}
	if rs.UThreshold != 0 {
		e.line("uthreshold %d", rs.UThreshold)
	}
	if rs.LThreshold != 0 {
		e.line("lthreshold %d", rs.LThreshold)
	}
	if len(rs.NotifyUp) > 0 {
		e.line("notify_up %s", quote(rs.NotifyUp))
	}
	if len(rs.NotifyDown) > 0 {
		e.line("notify_down %s", quote(rs.NotifyDown))
	}
	for _, c := range vs.EffectiveChecks(rs) {
		e.check(rs, c) // keepalived too requires every checker to pass
	}
	e.close()
}

// connection writes the connection settings of checker c.
func (e *exporter) connection(c *conf.Check) {
	if c.ConnectIP != nil {
		e.line("connect_ip %s", c.ConnectIP)
	}
	if c.ConnectPort != 0 {
		e.line("connect_port %d", c.ConnectPort)
	}
	if c.BindTo != nil {
		e.line("bindto %s", c.BindTo)
	}
	if c.BindPort != 0 {
		e.line("bind_port %d", c.BindPort)
	}
	if c.FWMark != 0 {
		e.line("fwmark %d", c.FWMark)
	}
	e.line("connect_timeout %s", secs(c.ConnectTimeout))
}

func (e *exporter) check(rs *conf.RealServer, c *conf.Check) {
	block := map[string]string{"TCP": "TCP_CHECK", "HTTP_GET": "HTTP_GET", "SSL_GET": "SSL_GET", "MISC": "MISC_CHECK",
		"PING": "PING_CHECK", "SMTP": "SMTP_CHECK"}[c.Type]
	if block == "" {
		e.find(c.Pos, c.Type, Unsupported, "check type "+c.Type+" is not exported")
		return
	}
	e.open("%s", block)
	// keepalived's MISC_CHECK knows no connection settings (it would log
	// each as an unknown keyword); its program's time is misc_timeout.
	if c.Type != "MISC" {
		e.connection(c)
	}
	e.line("retry %d", *c.Retry)
	e.line("delay_before_retry %s", secs(c.DelayBeforeRetry))
	e.line("delay_loop %s", secs(c.DelayLoop))
	if c.Warmup != nil {
		e.line("warmup %s", secs(*c.Warmup))
	}
	if c.Rise > 1 || c.Fall > 1 {
		e.find(c.Pos, "rise/fall", Unsupported, "keepalived checkers have no rise/fall; use retry")
	}
	switch c.Type {
	case "HTTP_GET", "SSL_GET":
		e.line("http_protocol %s", c.HTTPProtocol)
		if c.VirtualHost != "" {
			e.line("virtualhost %s", c.VirtualHost)
		}
		if c.EnableSNI {
			e.line("enable_sni")
		}
		for _, u := range c.URLs {
			e.open("url")
			e.line("path %s", u.Path)
			if u.Digest != "" {
				e.line("digest %s", u.Digest)
			}
			if len(u.StatusCode) > 0 {
				var codes []string
				for _, s := range u.StatusCode {
					if s.Min == s.Max {
						codes = append(codes, strconv.Itoa(s.Min))
					} else {
						codes = append(codes, fmt.Sprintf("%d-%d", s.Min, s.Max))
					}
				}
				e.line("status_code %s", strings.Join(codes, " "))
			}
			if u.VirtualHost != "" {
				e.line("virtualhost %s", u.VirtualHost)
			}
			e.close()
		}
	case "MISC":
		e.line("misc_path %s", quote(c.MiscPath))
		e.line("misc_timeout %s", secs(c.MiscTimeout))
		if c.MiscDynamic {
			e.line("misc_dynamic")
		}
		if c.User != "" {
			e.line("user %s", c.User)
		}
	case "SMTP":
		// keepalived's default is lbd's; conf allows no character that
		// would need quoting.
		if c.HeloName != "" {
			e.line("helo_name %s", c.HeloName)
		}
	}
	e.close()
}
