package conf

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lbd-project/lbd/internal/script"
)

// validate checks values and cross-references after defaults are applied.
func (c *Config) validate() error {
	var errs ErrorList
	c.validateDaemon(&errs)
	c.checkGroups(&errs)
	scripts := map[string]bool{}
	for _, s := range c.VRRPScripts {
		switch {
		case s.Name == "":
			errs.errorf(s.Pos, "vrrp script without a name")
		case scripts[s.Name]:
			errs.errorf(s.Pos, "vrrp script %q defined twice", s.Name)
		}
		scripts[s.Name] = true
		checkCommand(&errs, s.Pos, "vrrp script "+s.Name, s.Script, s.User, true)
		if s.Weight < -253 || s.Weight > 253 {
			errs.errorf(s.Pos, "vrrp script %q: weight %d outside -253..253", s.Name, s.Weight)
		}
		if s.Timeout > s.Interval*10 {
			errs.errorf(s.Pos, "vrrp script %q: timeout %v is over ten intervals", s.Name, s.Timeout.D())
		}
	}

	instances := map[string]bool{}
	type vridKey struct {
		iface string
		v6    bool
		vrid  int
	}
	vrids := map[vridKey]string{}
	for _, in := range c.VRRPInstances {
		what := "vrrp instance " + in.Name
		switch {
		case in.Name == "":
			errs.errorf(in.Pos, "vrrp instance without a name")
		case instances[in.Name]:
			errs.errorf(in.Pos, "vrrp instance %q defined twice", in.Name)
		}
		instances[in.Name] = true
		if in.Interface == "" {
			errs.errorf(in.Pos, "%s: interface is required", what)
		}
		if in.VirtualRouterID < 1 || in.VirtualRouterID > 255 {
			errs.errorf(in.Pos, "%s: virtual_router_id %d outside 1..255", what, in.VirtualRouterID)
		}
		if in.Priority < 1 || in.Priority > 255 {
			errs.errorf(in.Pos, "%s: priority %d outside 1..255", what, in.Priority)
		}
		checkInterval(&errs, in, what)
		if in.PreemptDelay.D() > 1000*time.Second {
			errs.errorf(in.Pos, "%s: preempt_delay %v over 1000s", what, in.PreemptDelay.D())
		}
		if in.GARPMasterRepeat < 0 {
			errs.errorf(in.Pos, "%s: garp_master_repeat %d is negative", what, in.GARPMasterRepeat)
		}
		if in.GARPMasterRefreshRepeat < 0 {
			errs.errorf(in.Pos, "%s: garp_master_refresh_repeat %d is negative", what, in.GARPMasterRefreshRepeat)
		}
		if in.GARPLowerPrioRepeat < 0 {
			errs.errorf(in.Pos, "%s: garp_lower_prio_repeat %d is negative", what, in.GARPLowerPrioRepeat)
		}
		for _, iv := range []struct {
			key string
			d   *Duration
		}{{"garp_interval", in.GARPInterval}, {"gna_interval", in.GNAInterval}} {
			if iv.d.D() > time.Second {
				errs.errorf(in.Pos, "%s: %s %v over 1s", what, iv.key, iv.d.D())
			}
		}
		if p := in.FastTakeoverInterval; p != nil && *p != 0 && (p.D() < 10*time.Millisecond || p.D() > 10*time.Second) {
			errs.errorf(in.Pos, "%s: fast_takeover_interval %v outside 10ms..10s (0 turns it off)", what, p.D())
		}
		if in.FastTakeoverMisses < 1 || in.FastTakeoverMisses > 20 {
			errs.errorf(in.Pos, "%s: fast_takeover_misses %d outside 1..20", what, in.FastTakeoverMisses)
		}
		switch in.FastTakeover {
		case "icmp", "off":
		case "bfd":
			if len(in.UnicastPeers) == 0 {
				errs.errorf(in.Pos, "%s: fast_takeover bfd needs unicast_peers (a multicast master does not know its backups)", what)
			}
		default:
			errs.errorf(in.Pos, "%s: fast_takeover %q is not icmp, bfd or off", what, in.FastTakeover)
		}
		if d := in.FastTakeoverBFDInterval.D(); d < 10*time.Millisecond || d > 10*time.Second {
			errs.errorf(in.Pos, "%s: fast_takeover_bfd_interval %v outside 10ms..10s", what, d)
		}
		if m := in.FastTakeoverBFDMultiplier; m < 2 || m > 50 {
			errs.errorf(in.Pos, "%s: fast_takeover_bfd_multiplier %d outside 2..50", what, m)
		}

		if len(in.VirtualIPAddresses) == 0 {
			errs.errorf(in.Pos, "%s: no virtual_ipaddresses", what)
		}
		family := checkVIPs(&errs, in, what)
		if family.IsValid() {
			k := vridKey{in.Interface, family.Is6(), in.VirtualRouterID}
			if other, ok := vrids[k]; ok {
				errs.errorf(in.Pos, "%s: virtual_router_id %d is already used by %s on %s", what,
					in.VirtualRouterID, other, in.Interface)
			}
			vrids[k] = in.Name
			if in.Version == 2 && family.Is6() {
				errs.errorf(in.Pos, "%s: VRRPv2 is IPv4 only; set version: 3 for IPv6 addresses", what)
			}
		}

		if a := in.Authentication; a != nil {
			switch {
			case in.Version != 2:
				errs.errorf(a.Pos, "%s: authentication exists only in VRRPv2 (version: 2)", what)
			case a.Type != "PASS":
				errs.errorf(a.Pos, "%s: authentication type %q not supported (PASS only; AH is not)", what, a.Type)
			case a.Password == "" || len(a.Password) > 8:
				errs.errorf(a.Pos, "%s: password must be 1 to 8 characters", what)
			}
		}
		if in.UnicastSrcIP != nil && family.IsValid() && in.UnicastSrcIP.Is6() != family.Is6() {
			errs.errorf(in.Pos, "%s: unicast_src_ip %s is not of the virtual addresses' family", what, in.UnicastSrcIP)
		}
		if a := in.MCastSrcIP; a != nil {
			switch {
			case in.UnicastSrcIP != nil && in.UnicastSrcIP.Addr != a.Addr:
				errs.errorf(in.Pos, "%s: mcast_src_ip %s and unicast_src_ip %s both set the source of adverts; set one", what, a, in.UnicastSrcIP)
			case family.IsValid() && a.Is6() != family.Is6():
				errs.errorf(in.Pos, "%s: mcast_src_ip %s is not of the virtual addresses' family", what, a)
			case !a.IsGlobalUnicast() && !a.IsLinkLocalUnicast():
				errs.errorf(in.Pos, "%s: mcast_src_ip %s is not a unicast address", what, a)
			}
		}
		seenPeer := map[netip.Addr]bool{}
		for _, p := range in.UnicastPeers {
			if family.IsValid() && p.Is6() != family.Is6() {
				errs.errorf(in.Pos, "%s: unicast peer %s is not of the virtual addresses' family", what, p)
			}
			if seenPeer[p.Addr] {
				errs.errorf(in.Pos, "%s: unicast peer %s listed twice", what, p)
			}
			seenPeer[p.Addr] = true
		}

		checkRoutes(&errs, what, in.VirtualRoutes)
		checkRules(&errs, what, in.VirtualRules)
		for _, t := range in.TrackInterfaces {
			if t.Name == "" {
				errs.errorf(t.Pos, "%s: tracked interface without a name", what)
			}
			checkWeight(&errs, t.Pos, what, t.Weight)
		}
		for _, t := range in.TrackScripts {
			if !scripts[t.Name] {
				errs.errorf(t.Pos, "%s: track script %q is not defined in vrrp_scripts", what, t.Name)
			}
			if t.Weight != nil {
				checkWeight(&errs, t.Pos, what, *t.Weight)
			}
		}
		for _, t := range in.TrackFiles {
			if !filepath.IsAbs(t.Path) {
				errs.errorf(t.Pos, "%s: track file %q must be an absolute path", what, t.Path)
			}
			checkWeight(&errs, t.Pos, what, t.Weight)
		}
		for _, n := range []struct {
			key string
			cmd Command
		}{{"notify_master", in.NotifyMaster}, {"notify_backup", in.NotifyBackup},
			{"notify_fault", in.NotifyFault}, {"notify_stop", in.NotifyStop}, {"notify", in.Notify}} {
			checkCommand(&errs, in.Pos, what+" "+n.key, n.cmd, c.Global.ScriptUser, false)
		}
	}

	c.checkVMACs(&errs)
	if _, conflicts := c.trackFileInits(); len(conflicts) > 0 {
		for _, pos := range conflicts {
			errs.errorf(pos, "init_file: another init_file of the same file asks for another value or overwrite")
		}
	}

	member := map[string]string{}
	for _, g := range c.VRRPSyncGroups {
		if g.Name == "" {
			errs.errorf(g.Pos, "vrrp sync group without a name")
		}
		if len(g.Group) == 0 {
			errs.errorf(g.Pos, "vrrp sync group %q has no members", g.Name)
		}
		for _, m := range g.Group {
			switch {
			case !instances[m]:
				errs.errorf(g.Pos, "vrrp sync group %q: instance %q is not defined", g.Name, m)
			case member[m] != "":
				errs.errorf(g.Pos, "vrrp sync group %q: instance %q is already in group %q", g.Name, m, member[m])
			}
			member[m] = g.Name
		}
		for _, n := range []struct {
			key string
			cmd Command
		}{{"notify_master", g.NotifyMaster}, {"notify_backup", g.NotifyBackup},
			{"notify_fault", g.NotifyFault}, {"notify_stop", g.NotifyStop}, {"notify", g.Notify}} {
			checkCommand(&errs, g.Pos, "vrrp sync group "+g.Name+" "+n.key, n.cmd, c.Global.ScriptUser, false)
		}
	}
	c.validateStatic(&errs)
	c.validateLB(&errs)
	c.validateBGP(&errs)
	return errs.err()
}

// checkGroups checks the multicast groups of global.vrrp: IPv4 multicast,
// and IPv6 link-local multicast (ffX2::), as keepalived wants it.
func (c *Config) checkGroups(errs *ErrorList) {
	v := c.Global.VRRP
	if g := v.MCastGroup4; g != nil && (!g.Is4() || !g.IsMulticast()) {
		errs.errorf(c.Global.Pos, "vrrp mcast_group4 %s is not an IPv4 multicast address", g)
	}
	if g := v.MCastGroup6; g != nil && (!g.Is6() || !g.IsLinkLocalMulticast()) {
		errs.errorf(c.Global.Pos, "vrrp mcast_group6 %s is not an IPv6 link-local multicast address (ffX2::)", g)
	}
}

// checkInterval enforces the advert interval each version can carry: whole
// seconds up to 255 in v2, centiseconds up to 40.95 s in v3.
func checkInterval(errs *ErrorList, in VRRPInstance, what string) {
	d := in.AdvertInterval.D()
	switch in.Version {
	case 2:
		if d%time.Second != 0 || d < time.Second || d > 255*time.Second {
			errs.errorf(in.Pos, "%s: VRRPv2 advert_interval must be whole seconds from 1s to 255s, not %v", what, d)
		}
	case 3:
		if d%(10*time.Millisecond) != 0 || d < 10*time.Millisecond || d > 4095*10*time.Millisecond {
			errs.errorf(in.Pos, "%s: VRRPv3 advert_interval must be centiseconds from 10ms to 40.95s, not %v", what, d)
		}
	default:
		errs.errorf(in.Pos, "%s: version %d (2 or 3)", what, in.Version)
	}
}

// checkVIPs validates the addresses and returns their common family (an
// invalid Addr when there is none to speak of).
func checkVIPs(errs *ErrorList, in VRRPInstance, what string) netip.Addr {
	var family netip.Addr
	seen := map[netip.Addr]bool{}
	check := func(v VIP, excluded bool) {
		p := v.Address.Prefix
		if !p.IsValid() {
			errs.errorf(v.Pos, "%s: virtual address without an address", what)
			return
		}
		if seen[p.Addr()] {
			errs.errorf(v.Pos, "%s: virtual address %s listed twice", what, p.Addr())
		}
		seen[p.Addr()] = true
		if v.Label != "" && p.Addr().Is6() {
			errs.errorf(v.Pos, "%s: labels exist only for IPv4 addresses (%s)", what, p)
		}
		if excluded {
			return
		}
		switch {
		case !family.IsValid():
			family = p.Addr()
		case family.Is6() != p.Addr().Is6():
			errs.errorf(v.Pos, "%s: virtual addresses mix IPv4 and IPv6 (%s); use one instance per family, "+
				"or virtual_ipaddresses_excluded", what, p)
		}
	}
	for _, v := range in.VirtualIPAddresses {
		check(v, false)
	}
	for _, v := range in.VirtualIPAddressesExcluded {
		check(v, true)
	}
	return family
}

func checkWeight(errs *ErrorList, p Pos, what string, w int) {
	if w < -253 || w > 253 {
		errs.errorf(p, "%s: weight %d outside -253..253", what, w)
	}
}

// checkCommand reports a command whose program is missing, not
// executable, or unsafe to run as user ("" for the daemon's user) by
// script.Check's rules, so `lbd -t` and a reload catch it rather than the
// first failover.
func checkCommand(errs *ErrorList, p Pos, what string, cmd Command, user string, required bool) {
	if len(cmd) == 0 {
		if required {
			errs.errorf(p, "%s: script is required", what)
		}
		return
	}
	prog := cmd[0]
	if !filepath.IsAbs(prog) {
		errs.errorf(p, "%s: %q must be an absolute path", what, prog)
		return
	}
	st, err := os.Stat(prog)
	switch {
	case err != nil:
		errs.errorf(p, "%s: %v", what, err)
	case !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0:
		errs.errorf(p, "%s: %s is not an executable file", what, prog)
	default:
		if err := script.Check(script.Spec{Argv: cmd, User: user}); err != nil {
			errs.errorf(p, "%s: %v", what, err)
		}
	}
}

// validateDaemon checks the daemon's own global settings.
func (c *Config) validateDaemon(errs *ErrorList) {
	g := &c.Global
	if !filepath.IsAbs(g.ControlSocket) {
		errs.errorf(g.Pos, "control_socket %q is not an absolute path", g.ControlSocket)
	}
	if !filepath.IsAbs(g.StateDir) {
		errs.errorf(g.Pos, "state_dir %q is not an absolute path", g.StateDir)
	}
	if a := *g.MetricsAddress; a != "" {
		if _, err := netip.ParseAddrPort(a); err != nil {
			errs.errorf(g.Pos, "metrics_address %q: want IP:port, e.g. 127.0.0.1:9274 or [::1]:9274 (or \"\" for none)", a)
		}
	}
	if n := g.NetNamespace; n != "" && !validNetnsName(n) {
		errs.errorf(g.Pos, "net_namespace %q is not a namespace name as ip netns takes it: "+
			"a file name in /var/run/netns, at most %d bytes, without '/' and not . or ..", n, maxNetnsName)
	}
}

// maxNetnsName is NAME_MAX, the longest name ip netns accepts.
const maxNetnsName = 255

// validNetnsName reports whether ip netns accepts name: one file name in
// /var/run/netns (no '/', not . or .., at most NAME_MAX bytes; and no NUL,
// which no file name has).
func validNetnsName(name string) bool {
	return name != "" && len(name) <= maxNetnsName && name != "." && name != ".." &&
		!strings.ContainsAny(name, "/\x00")
}
