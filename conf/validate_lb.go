package conf

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lbd-project/lbd/healthcheck"
	"github.com/lbd-project/lbd/ipvs"
)

// validateLB checks the load-balancing part: values, cross-references and
// the combinations the kernel would silently change or reject.
func (c *Config) validateLB(errs *ErrorList) {
	instances := map[string]bool{}
	for _, in := range c.VRRPInstances {
		instances[in.Name] = true
	}
	g := c.Global
	if t := g.LVSTimeouts; t != nil {
		for _, d := range []struct {
			key string
			v   Duration
		}{{"tcp", t.TCP}, {"tcpfin", t.TCPFin}, {"udp", t.UDP}} {
			if d.v.D()%time.Second != 0 || d.v.D() > math.MaxInt32*time.Second {
				errs.errorf(t.Pos, "lvs_timeouts: %s %v must be whole seconds", d.key, d.v.D())
			}
		}
	}
	if s := g.LVSSyncDaemon; s != nil {
		switch {
		case s.Interface == "":
			errs.errorf(s.Pos, "lvs_sync_daemon: interface is required")
		case len(s.Interface) > 15:
			errs.errorf(s.Pos, "lvs_sync_daemon: interface name %q longer than 15 characters", s.Interface)
		}
		switch {
		case s.VRRPInstance == "":
			errs.errorf(s.Pos, "lvs_sync_daemon: vrrp_instance is required (the daemon is master while it is MASTER)")
		case !instances[s.VRRPInstance]:
			errs.errorf(s.Pos, "lvs_sync_daemon: vrrp instance %q is not defined in vrrp_instances", s.VRRPInstance)
		}
		if s.SyncID > 255 {
			errs.errorf(s.Pos, "lvs_sync_daemon: sync_id %d outside 0..255", s.SyncID)
		}
		if s.Group != nil && !s.Group.IsMulticast() {
			errs.errorf(s.Pos, "lvs_sync_daemon: group %s is not a multicast address", s.Group)
		}
	}

	groups := map[string]*VirtualServerGroup{}
	for i := range c.VirtualServerGroups {
		gr := &c.VirtualServerGroups[i]
		switch {
		case gr.Name == "":
			errs.errorf(gr.Pos, "virtual server group without a name")
		case groups[gr.Name] != nil:
			errs.errorf(gr.Pos, "virtual server group %q defined twice", gr.Name)
		}
		groups[gr.Name] = gr
		if len(gr.Addresses) == 0 && len(gr.FWMarks) == 0 {
			errs.errorf(gr.Pos, "virtual server group %q has no addresses or fwmarks", gr.Name)
		}
		checkFamily(errs, gr.Pos, "virtual server group "+gr.Name, gr.Family)
		for _, m := range gr.FWMarks {
			if m == 0 {
				errs.errorf(gr.Pos, "virtual server group %q: fwmark 0 marks nothing", gr.Name)
			}
		}
	}

	used := map[ipvs.ServiceKey]*VirtualServer{}
	ids := map[string]bool{}
	for i := range c.VirtualServers {
		vs := &c.VirtualServers[i]
		what := "virtual server " + vs.Name
		if ids[vs.ID()] {
			errs.errorf(vs.Pos, "%s: defined twice", what)
		}
		ids[vs.ID()] = true
		n := 0
		for _, set := range []bool{vs.Address != nil, vs.FWMark != 0, vs.Group != ""} {
			if set {
				n++
			}
		}
		if n != 1 {
			errs.errorf(vs.Pos, "%s: set exactly one of address, fwmark and group", what)
			continue
		}
		if vs.Group != "" && groups[vs.Group] == nil {
			errs.errorf(vs.Pos, "%s: group %q is not defined in virtual_server_groups", what, vs.Group)
			continue
		}
		if vs.Group == "" && vs.FWMark == 0 && vs.Family != "" {
			errs.errorf(vs.Pos, "%s: family is only for fwmark services; an address has its own", what)
		}
		if vs.Address != nil && !vs.Address.HasPort {
			errs.errorf(vs.Pos, "%s: address %s needs a port (0 for all ports, with persistence)", what, vs.Address)
		}
		if _, ok := protocols[vs.Protocol]; vs.Address != nil && !ok {
			errs.errorf(vs.Pos, "%s: protocol %q (TCP, UDP or SCTP)", what, vs.Protocol)
		}
		if vs.Protocol != "" && vs.Address == nil && vs.Group == "" {
			errs.errorf(vs.Pos, "%s: a fwmark service has no protocol", what)
		}
		checkFamily(errs, vs.Pos, what, vs.Family)
		if !slices.Contains(ipvs.Schedulers, vs.Scheduler) {
			errs.errorf(vs.Pos, "%s: unknown scheduler %q (known: %s)", what, vs.Scheduler, strings.Join(ipvs.Schedulers, " "))
		} else if _, err := ipvs.ParseSchedFlags(vs.Scheduler, joinComma(vs.SchedulerFlags)); err != nil {
			errs.errorf(vs.Pos, "%s: %s", what, strings.TrimPrefix(err.Error(), "ipvs: "))
		}
		checkMethod(errs, vs.Pos, what, vs.Forwarding, vs.Tunnel)
		if vs.Persistence {
			d := vs.PersistenceTimeout.D()
			if d%time.Second != 0 || d < time.Second || d > math.MaxUint32*time.Second {
				errs.errorf(vs.Pos, "%s: persistence_timeout %v must be whole seconds, at least 1s", what, d)
			}
		}
		if vs.PersistenceEngine != "" && vs.PersistenceEngine != "sip" {
			errs.errorf(vs.Pos, "%s: unknown persistence_engine %q (known: sip)", what, vs.PersistenceEngine)
		}
		if *vs.Quorum < 1 {
			errs.errorf(vs.Pos, "%s: quorum %d must be at least 1", what, *vs.Quorum)
		}
		if vs.SlowStart.D() > maxSlowStart {
			errs.errorf(vs.Pos, "%s: slow_start %v is over %v", what, vs.SlowStart.D(), maxSlowStart)
		}
		if vs.Hysteresis < 0 {
			errs.errorf(vs.Pos, "%s: hysteresis %d is negative", what, vs.Hysteresis)
		}
		checkCommand(errs, vs.Pos, what+" quorum_up", vs.QuorumUp, c.Global.ScriptUser, false)
		checkCommand(errs, vs.Pos, what+" quorum_down", vs.QuorumDown, c.Global.ScriptUser, false)
		if vs.VRRPInstance != "" && !instances[vs.VRRPInstance] {
			errs.errorf(vs.Pos, "%s: vrrp instance %q is not defined in vrrp_instances", what, vs.VRRPInstance)
		}
		if vs.Check != nil {
			checkCheckFields(errs, vs.Check, what, c.Global.ScriptUser)
		}

		svcs := vs.Services(groups)
		fams := map[ipvs.Family]bool{}
		for _, svc := range svcs {
			fams[svc.Key().Family] = true
			k := svc.Key()
			if other := used[k]; other != nil {
				errs.errorf(vs.Pos, "%s: service %s is already defined by virtual server %s at %s", what, k, other.Name, other.Pos)
				continue
			}
			used[k] = vs
			if g := vs.PersistenceGranularity; g != nil {
				if g.Dotted && k.Family == ipvs.IPv6 {
					errs.errorf(vs.Pos, "%s: an IPv6 service takes persistence_granularity as a prefix length, not %d-bit dotted mask", what, g.Bits)
				}
				if k.Family == ipvs.IPv4 && g.Bits > 32 {
					errs.errorf(vs.Pos, "%s: persistence_granularity /%d is longer than an IPv4 address", what, g.Bits)
				}
			}
			if err := svc.Validate(); err != nil && len(errs.byPos(vs.Pos)) == 0 {
				addIPVSProblems(errs, vs.Pos, what, err)
			}
		}
		if len(svcs) == 0 {
			continue
		}
		if len(fams) > 1 && vs.Forwarding != "TUN" {
			errs.errorf(vs.Pos, "%s: group %q mixes IPv4 and IPv6 services; only TUN forwarding carries both", what, vs.Group)
		}

		var seen destSet
		for j := range vs.RealServers {
			rs := &vs.RealServers[j]
			c.validateRealServer(errs, vs, rs, svcs, &seen)
		}
		if s := vs.SorryServer; s != nil {
			checkDestination(errs, s.Pos, label(what+" sorry server "+s.Address.String()), vs, s.Address, s.Forwarding, s.Tunnel, *s.Weight, svcs,
				func(svc ipvs.Service) ipvs.Destination { d, _ := vs.SorryDestination(svc); return d })
		}
	}
}

func (c *Config) validateRealServer(errs *ErrorList, vs *VirtualServer, rs *RealServer, svcs []ipvs.Service, seen *destSet) {
	// Formatted only into an error: a large file has 100,000 real servers.
	what := rsWhat{vs, rs}
	if !rs.Address.Addr.IsValid() {
		errs.errorf(rs.Pos, "virtual server %s: real server without an address", vs.Name)
		return
	}
	if s := rs.SlowStart; s != nil && s.D() > maxSlowStart {
		errs.errorf(rs.Pos, "%s: slow_start %v is over %v", what, s.D(), maxSlowStart)
	}
	// Two entries that land on one destination collide in the kernel.
	d := vs.Destination(rs, svcs[0])
	key := netip.AddrPortFrom(d.Address, d.Port)
	if !seen.add(key) {
		errs.errorf(rs.Pos, "%s: listed twice (as %s)", what, key)
	}
	if rs.LThreshold > rs.UThreshold && rs.UThreshold != 0 || rs.LThreshold != 0 && rs.UThreshold == 0 {
		errs.errorf(rs.Pos, "%s: lthreshold %d needs a uthreshold above it", what, rs.LThreshold)
	}
	checkDestination(errs, rs.Pos, what, vs, rs.Address, rs.Forwarding, rs.Tunnel, *rs.Weight, svcs,
		func(svc ipvs.Service) ipvs.Destination { return vs.Destination(rs, svc) })
	if len(rs.NotifyUp) > 0 {
		checkCommand(errs, rs.Pos, what.String()+" notify_up", rs.NotifyUp, c.Global.ScriptUser, false)
	}
	if len(rs.NotifyDown) > 0 {
		checkCommand(errs, rs.Pos, what.String()+" notify_down", rs.NotifyDown, c.Global.ScriptUser, false)
	}
	if rs.Check != nil && len(rs.Checks) > 0 {
		errs.errorf(rs.Check.Pos, "%s: check and checks: give one check, or all of them in checks", what)
		return
	}
	if rs.Check != nil {
		checkCheckFields(errs, rs.Check, what.String(), c.Global.ScriptUser)
		validateRealServerCheck(errs, vs.EffectiveCheck(rs), rs.Check.Pos, rs, svcs, what)
		return
	}
	if len(rs.Checks) == 0 {
		validateRealServerCheck(errs, vs.EffectiveCheck(rs), Pos{}, rs, svcs, what)
		return
	}
	for i := range rs.Checks {
		own := &rs.Checks[i]
		checkCheckFields(errs, own, what.String(), c.Global.ScriptUser)
		validateRealServerCheck(errs, vs.mergedCheck(rs, own), own.Pos, rs, svcs, what)
	}
}

// validateRealServerCheck checks the effective check chk (nil: none) of
// real server rs; pos is where the real server's own check is, zero for
// the service's.
func validateRealServerCheck(errs *ErrorList, chk *Check, pos Pos, rs *RealServer, svcs []ipvs.Service, what rsWhat) {
	if chk == nil {
		return
	}
	if pos == (Pos{}) {
		pos = chk.Pos
	}
	if chk.needsPort() {
		for _, svc := range svcs {
			if t := chk.CheckTarget(rs, svc); t.Port() == 0 {
				errs.errorf(pos, "%s: %s check would connect to port 0 (a fwmark or port-0 service gives the real "+
					"server no port): set the real server's port or connect_port", what, chk.Type)
				break
			}
		}
	}
	switch chk.Type {
	case "HTTP_GET", "SSL_GET":
		if len(chk.URLs) == 0 {
			errs.errorf(pos, "%s: %s check needs at least one url", what, chk.Type)
		}
		if chk.Type == "SSL_GET" && !chk.Verify && (chk.CAFile != "" || chk.ServerName != "") {
			errs.errorf(pos, "%s: ca_file and server_name take effect only with verify: true", what)
		}
	case "MISC":
		if len(chk.MiscPath) == 0 {
			errs.errorf(pos, "%s: MISC check needs misc_path", what)
		}
	case "FILE":
		if chk.TrackFile == "" {
			errs.errorf(pos, "%s: FILE check needs track_file", what)
		}
	}
	if chk.InitFile != nil && chk.Type != "FILE" {
		errs.errorf(chk.InitFile.Pos, "%s: init_file is for FILE checks", what)
	}
	if chk.ConnectIP != nil && chk.ConnectIP.Is6() != rs.Address.Addr.Is6() && chk.Type != "PING" {
		errs.errorf(pos, "%s: connect_ip %s is of another family than the real server", what, chk.ConnectIP)
	}
}

// checkDestination checks one real or sorry server against every service
// of its virtual server.
func checkDestination(errs *ErrorList, pos Pos, what fmt.Stringer, vs *VirtualServer, addr HostPort, fwd string, tun *Tunnel,
	weight int, svcs []ipvs.Service, build func(ipvs.Service) ipvs.Destination) {
	if fwd != "" {
		checkMethod(errs, pos, what.String(), fwd, tun)
	}
	method := methods[cmp.Or(fwd, vs.Forwarding)]
	if weight < 0 || weight > math.MaxInt32 {
		errs.errorf(pos, "%s: weight %d outside 0..2147483647", what, weight)
		return
	}
	for _, svc := range svcs {
		k := svc.Key()
		if method != ipvs.Tunnel && ipvs.FamilyOf(addr.Addr) != k.Family {
			errs.errorf(pos, "%s: an %s real server in %s service %s needs TUN forwarding", what,
				ipvs.FamilyOf(addr.Addr), k.Family, k)
			return
		}
		if (method == ipvs.Route || method == ipvs.Tunnel) && svc.FWMark == 0 && addr.HasPort && addr.Port != svc.Port {
			errs.errorf(pos, "%s: port %d differs from the service port %d; %s forwarding cannot change ports "+
				"(ipvsadm and the kernel would silently use %d): use NAT, or the service's port", what,
				addr.Port, svc.Port, map[ipvs.ForwardMethod]string{ipvs.Route: "DR", ipvs.Tunnel: "TUN"}[method], svc.Port)
			return
		}
		// The rest of ipvs.Destination.Validate is covered above and in
		// checkMethod; only the address checks remain, done here without
		// its (allocating) error text for each of 100,000 servers.
		if a := addr.Addr; a.IsUnspecified() || a.IsMulticast() || a.Is4In6() {
			if err := build(svc).Validate(svc); err != nil {
				addIPVSProblems(errs, pos, what.String(), err)
			} else {
				errs.errorf(pos, "%s: %s is not a unicast address", what, a)
			}
			return
		}
	}
}

// destSet is the destinations of one virtual server: a list, since a
// virtual server has few real servers, turning into a map past 32 (a
// 10,000-service file would otherwise build 10,000 maps per read).
type destSet struct {
	list []netip.AddrPort
	m    map[netip.AddrPort]bool
}

// add adds k and reports whether it was new.
func (s *destSet) add(k netip.AddrPort) bool {
	if s.m != nil {
		if s.m[k] {
			return false
		}
		s.m[k] = true
		return true
	}
	if slices.Contains(s.list, k) {
		return false
	}
	s.list = append(s.list, k)
	if len(s.list) > 32 {
		s.m = make(map[netip.AddrPort]bool, 2*len(s.list))
		for _, a := range s.list {
			s.m[a] = true
		}
	}
	return true
}

// rsWhat names a real server in messages.
type rsWhat struct {
	vs *VirtualServer
	rs *RealServer
}

func (w rsWhat) String() string {
	return "virtual server " + w.vs.Name + " real server " + w.rs.Address.String()
}

// label is a name already formatted.
type label string

func (l label) String() string { return string(l) }

func checkFamily(errs *ErrorList, pos Pos, what, fam string) {
	if fam != "" && fam != "IPv4" && fam != "IPv6" {
		errs.errorf(pos, "%s: family %q (IPv4 or IPv6)", what, fam)
	}
}

func checkMethod(errs *ErrorList, pos Pos, what, fwd string, tun *Tunnel) {
	if _, ok := methods[fwd]; !ok {
		errs.errorf(pos, "%s: forwarding %q (NAT, DR or TUN)", what, fwd)
		return
	}
	if tun == nil {
		return
	}
	if fwd != "TUN" {
		errs.errorf(tun.Pos, "%s: tunnel settings need forwarding TUN", what)
		return
	}
	typ, ok := tunnelTypes[tun.Type]
	if !ok {
		errs.errorf(tun.Pos, "%s: tunnel type %q (ipip, gue or gre)", what, tun.Type)
		return
	}
	flags, ok := tunnelFlags[tun.Checksum]
	switch {
	case !ok:
		errs.errorf(tun.Pos, "%s: tunnel checksum %q (nocsum, csum or remcsum)", what, tun.Checksum)
	case typ == ipvs.GUE && tun.Port == 0:
		errs.errorf(tun.Pos, "%s: a gue tunnel needs a port", what)
	case typ != ipvs.GUE && tun.Port != 0:
		errs.errorf(tun.Pos, "%s: tunnel port is only for gue", what)
	case typ == ipvs.IPIP && tun.Checksum != "":
		errs.errorf(tun.Pos, "%s: an ipip tunnel has no checksum option", what)
	case typ == ipvs.GRE && flags == ipvs.TunnelRemCsum:
		errs.errorf(tun.Pos, "%s: remcsum is only for gue", what)
	}
}

var checkTypes = []string{"TCP", "HTTP_GET", "SSL_GET", "MISC", "PING", "FILE", "UDP", "DNS", "SMTP", "NONE"}

// checkCheckFields checks a check block's own values, wherever it is.
// user is the global script_user, for a MISC check that names none.
func checkCheckFields(errs *ErrorList, c *Check, what, user string) {
	if c.Type != "" && !slices.Contains(checkTypes, c.Type) {
		errs.errorf(c.Pos, "%s: check type %q (%s)", what, c.Type, strings.Join(checkTypes, ", "))
	}
	if c.Retry != nil && *c.Retry < 0 {
		errs.errorf(c.Pos, "%s: retry %d is negative", what, *c.Retry)
	}
	if c.Rise < 0 || c.Fall < 0 {
		errs.errorf(c.Pos, "%s: rise and fall must be positive", what)
	}
	if c.HTTPProtocol != "" {
		if _, err := healthcheck.ParseProtocol(c.HTTPProtocol); err != nil {
			errs.errorf(c.Pos, "%s: http_protocol %q (1.0, 1.0C or 1.1)", what, c.HTTPProtocol)
		}
	}
	if c.EnableSNI && c.Type != "" && c.Type != "SSL_GET" {
		errs.errorf(c.Pos, "%s: enable_sni is for SSL_GET checks", what)
	}
	if (c.Verify || c.CAFile != "" || c.ServerName != "") && c.Type != "" && c.Type != "SSL_GET" {
		errs.errorf(c.Pos, "%s: verify, ca_file and server_name are for SSL_GET checks", what)
	}
	if c.CAFile != "" {
		if _, err := healthcheck.LoadCAFile(c.CAFile); err != nil {
			errs.errorf(c.Pos, "%s: ca_file: %v", what, err)
		}
	}
	for _, u := range c.URLs {
		if !strings.HasPrefix(u.Path, "/") {
			errs.errorf(u.Pos, "%s: url path %q must start with /", what, u.Path)
		}
		if u.Digest != "" {
			if _, err := healthcheck.ParseDigest(u.Digest); err != nil {
				errs.errorf(u.Pos, "%s: digest %q must be 32 hex digits (the MD5 genhash prints)", what, u.Digest)
			}
		}
	}
	if len(c.MiscPath) > 0 {
		checkCommand(errs, c.Pos, what+" misc_path", c.MiscPath, cmp.Or(c.User, user), true)
	}
	if c.TrackFile != "" && !filepath.IsAbs(c.TrackFile) {
		errs.errorf(c.Pos, "%s: track_file %q must be an absolute path", what, c.TrackFile)
	}
	checkUDPAndDNSFields(errs, c, what)
	checkSMTPFields(errs, c, what)
	if c.Warmup != nil && c.DelayLoop != 0 && *c.Warmup > c.DelayLoop*10 {
		errs.errorf(c.Pos, "%s: warmup %v is over ten delay_loops", what, c.Warmup.D())
	}
}

// checkUDPAndDNSFields checks the UDP and DNS checks' own keys, which
// belong to their type only.
func checkUDPAndDNSFields(errs *ErrorList, c *Check, what string) {
	udp := c.Payload != "" || c.RequireReply || c.Reply != "" || c.MinReplyLength != 0 || c.MaxReplyLength != 0
	if udp && c.Type != "" && c.Type != "UDP" {
		errs.errorf(c.Pos, "%s: payload, require_reply, reply, min_reply_length and max_reply_length are for UDP checks", what)
	}
	if (c.QueryType != "" || c.QueryName != "") && c.Type != "" && c.Type != "DNS" {
		errs.errorf(c.Pos, "%s: query_type and query_name are for DNS checks", what)
	}
	if c.Payload != "" {
		if _, _, err := healthcheck.ParseHex(c.Payload, false); err != nil {
			errs.errorf(c.Pos, "%s: payload: %s", what, strings.TrimPrefix(err.Error(), "healthcheck: "))
		}
	}
	if c.Reply != "" {
		if _, _, err := healthcheck.ParseHex(c.Reply, true); err != nil {
			errs.errorf(c.Pos, "%s: reply: %s", what, strings.TrimPrefix(err.Error(), "healthcheck: "))
		}
	}
	if c.MinReplyLength < 0 || c.MaxReplyLength < 0 || c.MaxReplyLength > 65535 ||
		c.MaxReplyLength != 0 && c.MinReplyLength > c.MaxReplyLength {
		errs.errorf(c.Pos, "%s: min_reply_length %d and max_reply_length %d must satisfy 0 <= min <= max <= 65535",
			what, c.MinReplyLength, c.MaxReplyLength)
	}
	if c.QueryType != "" {
		if _, err := healthcheck.ParseDNSType(c.QueryType); err != nil {
			errs.errorf(c.Pos, "%s: query_type %q (A, NS, CNAME, SOA, MX, TXT or AAAA)", what, c.QueryType)
		}
	}
}

// checkSMTPFields checks the SMTP check's own key: helo_name goes into
// the HELO command, so what would change the command is refused here
// rather than failing every check.
func checkSMTPFields(errs *ErrorList, c *Check, what string) {
	if c.HeloName == "" {
		return
	}
	if c.Type != "" && c.Type != "SMTP" {
		errs.errorf(c.Pos, "%s: helo_name is for SMTP checks", what)
	}
	if err := healthcheck.ValidHeloName(c.HeloName); err != nil {
		errs.errorf(c.Pos, "%s: %s", what, strings.TrimPrefix(err.Error(), "healthcheck: "))
	}
}

// addIPVSProblems reports the findings of the ipvs package's validation.
func addIPVSProblems(errs *ErrorList, pos Pos, what string, err error) {
	var v *ipvs.ValidationError
	if errors.As(err, &v) {
		for _, p := range v.Problems {
			errs.errorf(pos, "%s: %s", what, p)
		}
		return
	}
	errs.errorf(pos, "%s: %v", what, err)
}

// byPos returns the errors recorded at p.
func (l ErrorList) byPos(p Pos) []*Error {
	var out []*Error
	for _, e := range l {
		if e.Pos == p {
			out = append(out, e)
		}
	}
	return out
}

// maxSlowStart bounds slow_start: a ramp longer than an hour is a typo
// for a shorter one, and the engine steps every ramp once a second.
const maxSlowStart = time.Hour
