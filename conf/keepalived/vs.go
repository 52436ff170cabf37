package keepalived

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/ipvs"
	"go.yaml.in/yaml/v3"
)

// This file converts virtual_server blocks, their real servers and checks.

// timingKeys are the check settings keepalived lets a virtual server and a
// real server default for their checkers.
var timingKeys = []string{"connect_timeout", "retry", "delay_before_retry", "delay_loop", "warmup"}

// timing holds defaults inherited by checkers: key -> converted value.
type timing map[string]*yaml.Node

func (t timing) copy() timing {
	o := timing{}
	for k, v := range t {
		o[k] = v
	}
	return o
}

// timingValue converts a timing keyword; ok false if n is not one.
func (c *converter) timingValue(n *Node) (*yaml.Node, bool) {
	switch n.Key {
	case "connect_timeout", "delay_before_retry", "delay_loop", "warmup":
		if d, ok := c.secs(n, 0); ok {
			return ydur(d), true
		}
		return nil, true
	case "retry", "nb_get_retry":
		if n.Key == "nb_get_retry" {
			c.find(n, NotApplicable, "the old name of retry (keepalived 2.2.7: \"nb_get_retry is deprecated\"); converted as retry")
		}
		if v, ok := c.intArg(n, 0, 0, 1<<30); ok {
			return yint(v), true
		}
		return nil, true
	}
	return nil, false
}

func timingKey(k string) string {
	if k == "nb_get_retry" {
		return "retry"
	}
	return k
}

// groupHasAddresses reports whether the virtual_server_group virtual
// server m names has address entries.
func (c *converter) groupHasAddresses(m ymap) bool {
	name := m.get("group")
	if name == nil {
		return false
	}
	g, ok := c.groupNodes[name.Value]
	return ok && g.get("addresses") != nil
}

// miscTimeoutKey holds, among a virtual server's timing defaults, the
// timeout keepalived gives its MISC_CHECKs without misc_timeout.
const miscTimeoutKey = "misc_timeout"

// checkConnKeywords are the connection settings of a checker block
// (install_checker_common_keywords in keepalived 2.2.7's check_api.c).
var checkConnKeywords = map[string]bool{"connect_ip": true, "connect_port": true, "bindto": true, "bind_port": true,
	"bind_if": true, "connect_timeout": true, "fwmark": true}

// ignoredIn reports, as keepalived 2.2.7 would, a keyword it knows
// elsewhere but not in block (a virtual_server, a real_server, an SMTP
// host or a checker's keyword), where it logs "Unknown keyword" and
// ignores the line, or a value it refuses there (retry 0 in a virtual
// or real server); the converted file leaves the line out too.
// nb_get_retry is an old name of retry in HTTP_GET and SSL_GET only
// (check_http.c); a real_server takes lvs_method but not lb_kind
// (check_parser.c); MISC_CHECK takes no connection settings (check_misc.c);
// FILE_CHECK takes track_file and weight only (check_file.c). Public
// configurations put nb_get_retry in TCP_CHECK often, meaning retries
// that keepalived never made.
func (c *converter) ignoredIn(n *Node, block string) bool {
	if n.Key == "retry" && (block == "virtual_server" || block == "real_server") && len(n.Args) > 0 && n.Args[0] == "0" {
		// vs_retry_handler and rs_retry_handler take 1 at least (a
		// checker's own retry may be 0).
		c.find(n, Approximated, "keepalived 2.2.7 refuses retry 0 in a "+block+" (\"retry value invalid - 0\") and ignores it; "+
			"so does the converted file: write retry 0 in the checker")
		return true
	}
	var ignored bool
	switch {
	case n.Key == "nb_get_retry":
		ignored = block != "HTTP_GET" && block != "SSL_GET"
	case n.Key == "lb_kind":
		ignored = block == "real_server" // a real server's is lvs_method only
	case block == "MISC_CHECK":
		ignored = checkConnKeywords[n.Key]
	case block == "FILE_CHECK":
		ignored = n.Key != "track_file" && n.Key != "weight" && knownKeywords[n.Key]
	}
	if !ignored {
		return false
	}
	msg := fmt.Sprintf("keepalived 2.2.7 does not know %s in %s: it logs \"Unknown keyword\" and ignores the line, "+
		"so the converted file leaves it out", n.Key, block)
	if n.Key == "nb_get_retry" {
		msg += "; write retry (in the checker, the real_server or the virtual_server) for the retries it was meant to set"
	}
	c.find(n, Unsupported, msg)
	return true
}

func (c *converter) virtualServer(v *Node) {
	m := newMap()
	c.src[m.n] = v.Pos
	m.comment(v.Comments)
	svcPort := -1 // the service port of an address service
	isAddr, isIPv4 := false, false
	switch {
	case len(v.Args) == 2 && v.Args[0] == "fwmark":
		if n, ok := c.intArg(v, 1, 1, math.MaxUint32); ok {
			m.set("fwmark", yint(n))
		}
	case len(v.Args) == 2 && v.Args[0] == "group":
		if _, ok := c.groupNodes[v.Args[1]]; !ok {
			c.errorf(v, "virtual_server group %q: no virtual_server_group of that name (define it first)", v.Args[1])
			return
		}
		m.set("group", ystr(v.Args[1]))
	case len(v.Args) == 2:
		a, ok := c.addr(v, v.Args[0])
		if !ok {
			return
		}
		p, err := strconv.ParseUint(v.Args[1], 10, 16)
		if err != nil {
			c.errorf(v, "virtual_server: port %q is not 0..65535", v.Args[1])
			return
		}
		svcPort, isAddr, isIPv4 = int(p), true, a.Unmap().Is4()
		m.set("address", ystr(netip.AddrPortFrom(a, uint16(p)).String()))
	default:
		c.errorf(v, "virtual_server takes \"ADDRESS PORT\", \"fwmark N\" or \"group NAME\"")
		return
	}
	defaults := timing{}
	forwarding := "NAT"
	vhost := ""
	var realServers []*Node
	for _, n := range v.Children {
		if c.ignoredIn(n, "virtual_server") {
			continue
		}
		if val, ok := c.timingValue(n); ok {
			if val != nil {
				defaults[timingKey(n.Key)] = val
			}
			continue
		}
		switch n.Key {
		case "lb_algo", "lvs_sched":
			if !c.firstArg(n) {
				break
			}
			if !slices.Contains(ipvs.Schedulers, n.Args[0]) {
				// check_parser.c's lbalgo_handler: "Invalid lvs_scheduler
				// ... - ignoring", the previous one (wlc by default) stays.
				c.find(n, Approximated, fmt.Sprintf("keepalived 2.2.7 refuses the scheduler %q (\"Invalid lvs_scheduler\") "+
					"and keeps the previous one (wlc by default); so does the converted file: write one of %s if you meant it",
					n.Args[0], strings.Join(ipvs.Schedulers, " ")))
				break
			}
			m.set("scheduler", ystr(n.Args[0]), n.Comments...)
		case "lb_kind", "lvs_method":
			if f, tun, ok := c.method(n); ok {
				forwarding = f
				m.set("forwarding", ystr(f), n.Comments...)
				if tun != nil {
					m.set("tunnel", tun)
				}
			}
		case "protocol":
			if c.args(n, 1, 1) {
				switch p := strings.ToUpper(n.Args[0]); p {
				case "TCP", "UDP", "SCTP":
					if isAddr || m.get("group") != nil {
						m.set("protocol", ystr(p), n.Comments...)
					} else {
						c.find(n, NotApplicable, "keepalived 2.2.7 ignores protocol on a fwmark service (\"protocol "+
							"specified for fwmark - protocol will be ignored\"); so does the converted file")
					}
				default:
					// proto_handler: "Unknown protocol ... - ignoring".
					c.find(n, Approximated, fmt.Sprintf("keepalived 2.2.7 ignores the protocol %q (\"Unknown protocol\"); "+
						"so does the converted file: write TCP, UDP or SCTP", n.Args[0]))
				}
			}
		case "persistence_timeout":
			if len(n.Args) == 0 {
				m.set("persistence", ybool(true), n.Comments...)
			} else if n.Args[0] == "0" {
				c.find(n, NotApplicable, "keepalived 2.2.7 rejects 0 (\"persistence_timeout invalid\") and runs the service "+
					"without persistence; so does the converted file")
			} else if v, ok := c.intArg(n, 0, 1, math.MaxUint32); ok {
				m.set("persistence_timeout", ydur(time.Duration(v)*time.Second), n.Comments...)
			}
		case "persistence_granularity":
			if c.args(n, 1, 1) {
				if p, err := strconv.Atoi(n.Args[0]); err == nil && isIPv4 {
					// pgr_handler reads an IPv4 service's granularity as an
					// address (getaddrinfo): "24" is the mask 0.0.0.24.
					c.find(n, Approximated, "keepalived 2.2.7 reads "+n.Args[0]+" on an IPv4 service as the address "+
						"(mask) "+netip.AddrFrom4([4]byte{byte(p >> 24), byte(p >> 16), byte(p >> 8), byte(p)}).String()+
						", not a prefix length; lbd takes contiguous masks only, so the converted service groups clients "+
						"by their whole address (/32): write the mask (255.255.255.0) or the prefix length you meant")
				} else if err == nil {
					m.set("persistence_granularity", yint(int64(p)), n.Comments...)
				} else if a, err := netip.ParseAddr(n.Args[0]); err == nil && a.Is4() && !contiguous(a) {
					c.find(n, Approximated, "the kernel ANDs the client address with the non-contiguous mask "+n.Args[0]+
						"; lbd takes contiguous masks only, so the converted service groups clients by their whole "+
						"address (/32): write the mask as a prefix length")
				} else {
					m.set("persistence_granularity", ystr(n.Args[0]), n.Comments...)
				}
			}
		case "persistence_engine":
			if c.args(n, 1, 1) {
				m.set("persistence_engine", ystr(n.Args[0]), n.Comments...)
			}
		case "ops":
			m.set("ops", ybool(true), n.Comments...)
		case "lvs_flags", "lb_flags":
			var flags []*yaml.Node
			for _, f := range n.Args {
				switch f {
				case "sh-port", "sh-fallback", "mh-port", "mh-fallback":
					flags = append(flags, ystr(f))
				case "flag-1", "flag-2", "flag-3":
					c.find(n, Unsupported, "raw scheduler flag "+f+" is not supported; name the flag (sh-port, sh-fallback, mh-port, mh-fallback)")
				default:
					c.errorf(n, "unknown scheduler flag %q", f)
				}
			}
			if len(flags) > 0 {
				m.set("scheduler_flags", yflow(flags...), n.Comments...)
				// keepalived 2.2.7 (Debian 12) does not know lvs_flags or
				// lb_flags: it logs an unknown keyword and runs without the
				// flags, while lbd applies them.
				var names []string
				for _, f := range flags {
					names = append(names, f.Value)
				}
				c.find(n, Approximated, "keepalived 2.2.7 ignores "+n.Key+" (it takes each flag as its own keyword: "+
					strings.Join(names, ", ")+"); lbd applies "+strings.Join(names, " ")+
					", so check the file behaves as intended")
			}
		case "sh-port", "sh-fallback", "mh-port", "mh-fallback":
			// lbflags_handler sets a flag only when the scheduler read so
			// far is the flag's (sh or mh); otherwise it logs "only
			// applies to sh scheduler - ignoring", or nothing under the
			// other one of the two.
			sched := ""
			if s := m.get("scheduler"); s != nil {
				sched = s.Value
			}
			if want := n.Key[:2]; sched != want {
				c.find(n, Approximated, fmt.Sprintf("keepalived 2.2.7 ignores %s unless lb_algo %s comes before it "+
					"(here: %q); so does the converted file", n.Key, want, sched))
				break
			}
			flags := m.get("scheduler_flags")
			if flags == nil {
				flags = yflow()
				m.set("scheduler_flags", flags, n.Comments...)
			}
			flags.Content = append(flags.Content, ystr(n.Key))
		case "ip_family":
			if c.args(n, 1, 1) {
				switch n.Args[0] {
				case "inet":
				case "inet6":
					if g := m.get("group"); g != nil {
						if gm, ok := c.groupNodes[g.Value]; ok {
							gm.set("family", ystr("IPv6"))
						}
					} else if m.get("fwmark") != nil {
						m.set("family", ystr("IPv6"), n.Comments...)
					}
				default:
					c.errorf(n, "ip_family %q (inet or inet6)", n.Args[0])
				}
			}
		case "quorum":
			if q, ok := c.intArg(n, 0, 1, math.MaxInt32); ok {
				m.set("quorum", yint(q), n.Comments...)
			}
		case "hysteresis":
			if h, ok := c.intArg(n, 0, 0, math.MaxInt32); ok {
				m.set("hysteresis", yint(h), n.Comments...)
			}
		case "quorum_up", "quorum_down":
			c.setCommand(m, n.Key, n)
		case "sorry_server_inhibit", "sorry_server_lvs_method":
			// keepalived applies both to the sorry server defined above
			// them only (ssvri_handler, ss_forwarding_handler).
			if m.get("sorry_server") == nil {
				c.find(n, Approximated, "keepalived 2.2.7 ignores "+n.Key+" before or without sorry_server "+
					"(\"used before or without sorry_server\"); so does the converted file")
				continue
			}
			if n.Key == "sorry_server_inhibit" {
				m.set(n.Key, ybool(true), n.Comments...)
				continue
			}
			if f, tun, ok := c.method(n); ok {
				// A later method replaces an earlier one.
				addr := m.get("sorry_server")
				if addr.Kind == yaml.MappingNode {
					addr = ymap{addr}.get("address")
				}
				sm := newMap()
				sm.set("address", addr)
				sm.set("forwarding", ystr(f))
				if tun != nil {
					sm.set("tunnel", tun)
				}
				m.set("sorry_server", sm.n, n.Comments...)
			}
		case "alpha", "omega", "inhibit_on_failure":
			m.set(n.Key, ybool(true), n.Comments...)
		case "virtualhost":
			if c.firstArg(n) {
				vhost = n.Args[0]
			}
		case "sorry_server":
			if c.args(n, 1, 2) {
				if a, ok := c.addr(n, n.Args[0]); ok {
					s := a.String()
					if len(n.Args) == 2 {
						p, err := strconv.ParseUint(n.Args[1], 10, 16)
						if err != nil {
							c.errorf(n, "sorry_server: port %q is not 0..65535", n.Args[1])
							continue
						}
						s = netip.AddrPortFrom(a, uint16(p)).String()
					}
					// A second sorry_server replaces the first, method and all
					// (alloc_ssvr).
					m.set("sorry_server", ystr(s), n.Comments...)
				}
			}
		case "real_server":
			realServers = append(realServers, n)
		case "ha_suspend":
			c.find(n, Approximated, hints["ha_suspend"])
		default:
			c.other(n, "virtual_server")
		}
	}
	// An address service (or a group with addresses) without a protocol
	// is UDP in keepalived, the kernel's default (check_data.c); lbd's
	// default is TCP, so the converted file says UDP.
	if m.get("protocol") == nil && (isAddr || c.groupHasAddresses(m)) {
		c.find(v, Approximated, "no protocol: keepalived 2.2.7 runs the service as UDP (\"no protocol set - defaulting "+
			"to UDP\"); so does the converted file: write protocol TCP if you meant it")
		m.set("protocol", ystr("UDP"))
	}
	// keepalived runs a MISC_CHECK without misc_timeout for at most the
	// virtual server's delay_loop (60 s by default), whatever the real
	// server's or the checker's own (check_misc.c); lbd's default is
	// connect_timeout, so the converted check says it.
	defaults[miscTimeoutKey] = cmp.Or(defaults["delay_loop"], ydur(conf.DefaultDelayLoop))
	if len(realServers) == 0 {
		c.find(v, NotApplicable, "keepalived 2.2.7 ignores a virtual server without real servers "+
			"(\"has no real servers - ignoring\"); so does the converted file")
		return
	}
	var rsItems []*yaml.Node
	var checks []*yaml.Node
	for _, r := range realServers {
		item, chk := c.realServer(r, defaults, vhost, forwarding, svcPort, m.get("fwmark") != nil || m.get("group") != nil)
		if item == nil {
			continue
		}
		rsItems = append(rsItems, item)
		checks = append(checks, chk)
	}
	// One check shared by every real server goes on the virtual server.
	if len(checks) > 1 && checks[0] != nil {
		same := true
		first := nodeString(checks[0])
		for _, ch := range checks[1:] {
			if ch == nil || nodeString(ch) != first {
				same = false
				break
			}
		}
		if same {
			m.set("check", checks[0])
			for _, it := range rsItems {
				if it.Kind == yaml.MappingNode {
					ymap{it}.del("check")
				}
			}
		}
	}
	for i, it := range rsItems {
		if it.Kind == yaml.MappingNode && len(it.Content) == 2 && it.HeadComment == "" {
			c.src[it.Content[1]] = c.src[it]
			rsItems[i] = it.Content[1] // just the address: the shorthand
		}
	}
	if len(rsItems) > 0 {
		m.set("real_servers", yseq(rsItems...))
	}
	c.virtualServers = append(c.virtualServers, m.n)
}

// method converts "lb_kind NAT|DR|TUN [type ipip|gue port N|gre] [csum]".
func (c *converter) method(n *Node) (string, *yaml.Node, bool) {
	if !c.args(n, 1, -1) {
		return "", nil, false
	}
	f := n.Args[0]
	switch f {
	case "NAT", "DR", "TUN":
	default:
		// keepalived 2.2.7 compares in upper case only and otherwise
		// logs the error and keeps the method it had (NAT by default).
		c.find(n, Approximated, fmt.Sprintf("keepalived 2.2.7 rejects the method %q (NAT, DR or TUN, in upper case) "+
			"and keeps the previous one (NAT by default); so does the converted file: write %s if you meant it",
			f, strings.ToUpper(f)))
		return "", nil, false
	}
	if len(n.Args) == 1 {
		return f, nil, true
	}
	// keepalived 2.2.7 sets the method first, then reads tunnel options
	// whatever the method; at the first it cannot read it logs an error
	// and keeps the method without any of them (svr_forwarding_handler).
	dropped := func(why string) (string, *yaml.Node, bool) {
		c.find(n, NotApplicable, fmt.Sprintf("keepalived 2.2.7 logs %q and keeps %s without tunnel options; so does the converted file",
			why, f))
		return f, nil, true
	}
	t := newMap()
	for i := 1; i < len(n.Args); i++ {
		switch a := n.Args[i]; a {
		case "type":
			if i+1 >= len(n.Args) {
				return dropped("Missing tunnel type")
			}
			i++
			t.set("type", ystr(n.Args[i]))
		case "port":
			if i+1 >= len(n.Args) {
				return dropped("Missing port")
			}
			i++
			p, err := strconv.ParseUint(n.Args[i], 10, 16)
			if err != nil || p == 0 {
				return dropped("Invalid gue tunnel port " + n.Args[i])
			}
			t.set("port", yint(int64(p)))
		case "nocsum", "csum", "remcsum":
			t.set("checksum", ystr(a))
		default:
			return dropped("Invalid tunnel option " + a)
		}
	}
	if f != "TUN" {
		c.find(n, NotApplicable, fmt.Sprintf("tunnel options apply to TUN only: keepalived 2.2.7 reads them and %s ignores them; "+
			"so does the converted file", f))
		return f, nil, true
	}
	return f, t.n, true
}

// trueFalse reads the optional switch argument of n as keepalived 2.2.7
// does (check_true_false): none means true; an invalid one is logged
// there and the keyword ignored, which the converted file does too.
func (c *converter) trueFalse(n *Node) (bool, bool) {
	if len(n.Args) == 0 {
		return true, true
	}
	switch n.Args[0] {
	case "true", "on", "yes":
		return true, true
	case "false", "off", "no":
		return false, true
	}
	c.find(n, Approximated, fmt.Sprintf("keepalived 2.2.7 ignores %s %s (it takes true, false, on, off, yes or no); "+
		"so does the converted file", n.Key, n.Args[0]))
	return false, false
}

// firstArg checks that n has an argument, of which keepalived 2.2.7
// uses the first (its handlers copy the first word, set_value); any
// further words are noted.
func (c *converter) firstArg(n *Node) bool {
	if !c.args(n, 1, -1) {
		return false
	}
	c.findExtraWords(n, 1)
	return true
}

// findExtraWords notes the words after the first used ones of n, which
// keepalived 2.2.7 reads past without a word (its handler reads only the
// words it needs): public files put comments there ("lb_algo rr // ...").
func (c *converter) findExtraWords(n *Node, used int) {
	if len(n.Args) > used {
		c.find(n, NotApplicable, fmt.Sprintf("keepalived 2.2.7 ignores what follows %s (%q); so does the converted file",
			strings.Join(n.Args[:used], " "), strings.Join(n.Args[used:], " ")))
	}
}

func nodeString(n *yaml.Node) string {
	b, _ := yaml.Marshal(n)
	return string(b)
}

// realServer converts one real_server; it returns the item and its check
// (also set on the item), or a nil item after an error.
func (c *converter) realServer(r *Node, vsDefaults timing, vhost, vsFwd string, svcPort int, noServicePort bool) (*yaml.Node, *yaml.Node) {
	if !c.args(r, 1, 2) {
		return nil, nil
	}
	a, ok := c.addr(r, r.Args[0])
	if !ok {
		return nil, nil
	}
	m := newMap()
	m.comment(r.Comments)
	port := -1
	if len(r.Args) == 2 {
		p, err := strconv.ParseUint(r.Args[1], 10, 16)
		if err != nil {
			c.errorf(r, "real_server: port %q is not 0..65535", r.Args[1])
			return nil, nil
		}
		port = int(p)
	}
	defaults := vsDefaults.copy()
	fwd := vsFwd
	var checkers []*Node
	for _, n := range r.Children {
		if c.ignoredIn(n, "real_server") {
			continue
		}
		if val, ok := c.timingValue(n); ok {
			if val != nil {
				defaults[timingKey(n.Key)] = val
			}
			continue
		}
		switch n.Key {
		case "weight":
			if w, ok := c.intArg(n, 0, 0, math.MaxInt32); ok {
				m.set("weight", yint(w), n.Comments...)
			}
		case "inhibit_on_failure":
			// A real server's takes true/false, on/off, yes/no and
			// overrides the virtual server's (rs_inhibit_handler).
			if v, ok := c.trueFalse(n); ok {
				m.set("inhibit_on_failure", ybool(v), n.Comments...)
			}
		case "uthreshold", "lthreshold":
			if v, ok := c.intArg(n, 0, 0, math.MaxUint32); ok {
				m.set(n.Key, yint(v), n.Comments...)
			}
		case "notify_up", "notify_down":
			c.setCommand(m, n.Key, n)
		case "lb_kind", "lvs_method":
			if f, tun, ok := c.method(n); ok {
				fwd = f
				m.set("forwarding", ystr(f), n.Comments...)
				if tun != nil {
					m.set("tunnel", tun)
				}
			}
		case "TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "PING_CHECK", "FILE_CHECK",
			"UDP_CHECK", "DNS_CHECK", "SMTP_CHECK", "BFD_CHECK":
			checkers = append(checkers, n)
		case "virtualhost":
			if c.firstArg(n) {
				vhost = n.Args[0]
			}
		default:
			c.other(n, "real_server")
		}
	}
	// Several checkers all have to pass, in keepalived as in lbd's checks.
	var chks []ymap
	for _, n := range checkers {
		if h, ok := hints[n.Key]; ok {
			c.find(n, Unsupported, h)
			continue
		}
		chks = append(chks, c.check(n, defaults, vhost)...)
	}
	// DR and TUN cannot change the port: the kernel uses the service's, but
	// keepalived's checks still go to the port written.
	addrPort := port
	if port >= 0 && svcPort >= 0 && port != svcPort && (fwd == "DR" || fwd == "TUN") {
		addrPort = svcPort
		c.find(r, NotApplicable, "DR/TUN forwarding keeps the service port "+strconv.Itoa(svcPort)+
			"; the converted real server says so, and its check keeps connecting to port "+strconv.Itoa(port))
		for _, chk := range chks {
			if t := chk.get("type").Value; chk.get("connect_port") == nil && (t == "TCP" || t == "HTTP_GET" || t == "SSL_GET" || t == "SMTP") {
				chk.set("connect_port", yint(int64(port)))
			}
		}
	}
	if addrPort < 0 && svcPort < 0 && noServicePort {
		addrPort = -1
	}
	addr := a.String()
	if addrPort >= 0 {
		addr = netip.AddrPortFrom(a, uint16(addrPort)).String()
	}
	out := newMap()
	c.src[out.n] = r.Pos
	out.comment(r.Comments)
	out.set("address", ystr(addr))
	for i := 0; i+1 < len(m.n.Content); i += 2 {
		out.n.Content = append(out.n.Content, m.n.Content[i], m.n.Content[i+1])
	}
	switch len(chks) {
	case 0:
		return out.n, nil
	case 1:
		out.set("check", chks[0].n)
		return out.n, chks[0].n
	}
	list := &yaml.Node{Kind: yaml.SequenceNode}
	for _, chk := range chks {
		list.Content = append(list.Content, chk.n)
	}
	out.set("checks", list)
	return out.n, nil // not a check the virtual server could hold
}

// checkTypes maps keepalived checker blocks to lbd check types.
var checkTypes = map[string]string{"TCP_CHECK": "TCP", "HTTP_GET": "HTTP_GET", "SSL_GET": "SSL_GET",
	"MISC_CHECK": "MISC", "PING_CHECK": "PING", "FILE_CHECK": "FILE", "UDP_CHECK": "UDP", "DNS_CHECK": "DNS",
	"SMTP_CHECK": "SMTP"}

// connKeys are the connection options of a checker, converted by
// connOption under the same names.
var connKeys = []string{"connect_ip", "connect_port", "bindto", "bind_port", "fwmark"}

// connOption converts n into m if it is a connection option.
func (c *converter) connOption(m ymap, n *Node) bool {
	switch key := n.Key; key {
	case "connect_ip", "bindto":
		if c.args(n, 1, 1) {
			if _, ok := c.addr(n, n.Args[0]); ok {
				m.set(key, ystr(n.Args[0]), n.Comments...)
			}
		}
	case "connect_port", "bind_port":
		if p, ok := c.intArg(n, 0, 1, 65535); ok {
			m.set(key, yint(p), n.Comments...)
		}
	case "fwmark":
		if v, ok := c.intArg(n, 0, 1, math.MaxUint32); ok {
			m.set("fwmark", yint(v), n.Comments...)
		}
	default:
		return false
	}
	return true
}

// check converts checker block k into lbd checks: one, or for an
// SMTP_CHECK with host blocks one per checker keepalived makes of it.
func (c *converter) check(k *Node, defaults timing, vhost string) []ymap {
	m := newMap()
	c.src[m.n] = k.Pos
	typ := checkTypes[k.Key]
	m.set("type", ystr(typ))
	t := defaults.copy()
	var urls []*yaml.Node
	var hosts []smtpHost
	// ownConn: the block sets a connection option of its own, which
	// keepalived's SMTP_CHECK takes as a reason to check the real server
	// itself beside its host blocks.
	ownConn := false
	for _, n := range k.Children {
		if c.ignoredIn(n, k.Key) {
			continue
		}
		if val, ok := c.timingValue(n); ok {
			if val != nil {
				t[timingKey(n.Key)] = val
			}
			ownConn = ownConn || n.Key == "connect_timeout"
			continue
		}
		if c.connOption(m, n) {
			ownConn = true
			continue
		}
		switch key := n.Key; {
		case key == "url" && (typ == "HTTP_GET" || typ == "SSL_GET"):
			if u := c.url(n); u != nil {
				urls = append(urls, u)
			}
		case key == "http_protocol" && (typ == "HTTP_GET" || typ == "SSL_GET"):
			if c.args(n, 1, 1) {
				m.set("http_protocol", ystr(n.Args[0]), n.Comments...)
			}
		case key == "virtualhost" && (typ == "HTTP_GET" || typ == "SSL_GET"):
			if c.firstArg(n) {
				vhost = n.Args[0]
			}
		case key == "enable_sni" && typ == "SSL_GET":
			if v, ok := c.trueFalse(n); ok {
				m.set("enable_sni", ybool(v), n.Comments...)
			}
		case key == "misc_path" && typ == "MISC":
			c.setCommand(m, "misc_path", n)
		case key == "misc_timeout" && typ == "MISC":
			if d, ok := c.wholeSecs(n); ok {
				m.set("misc_timeout", ydur(d), n.Comments...)
			}
		case key == "misc_dynamic" && typ == "MISC":
			m.set("misc_dynamic", ybool(true), n.Comments...)
		case key == "user" && typ == "MISC":
			if c.args(n, 1, 2) {
				m.set("user", ystr(n.Args[0]), n.Comments...)
			}
		case key == "track_file" && typ == "FILE":
			if c.args(n, 1, 1) {
				def := c.trackFiles[n.Args[0]]
				if def == nil {
					c.errorf(n, "track_file %q: no track_file block of that name", n.Args[0])
					continue
				}
				for _, d := range def.Children {
					switch d.Key {
					case "file":
						if c.args(d, 1, 1) {
							m.set("track_file", ystr(d.Args[0]))
						}
					case "weight":
						// The FILE_CHECK's own weight wins, reverse and all
						// (file_end_handler).
						if m.get("weight") != nil {
							break
						}
						if v, ok := c.intArg(d, 0, math.MinInt32, math.MaxInt32); ok {
							m.set("weight", yint(v))
						}
						if len(d.Args) > 1 && d.Args[1] == "reverse" {
							m.set("reverse", ybool(true))
						}
					case "init_file":
						if in := c.initFile(d); in != nil {
							m.set("init_file", in)
						}
					default:
						c.other(d, "track_file")
					}
				}
			}
		case key == "weight" && typ == "FILE":
			// track_file_weight_handler: "weight N [reverse|noreverse]",
			// not reversed unless it says so, whatever the track_file
			// block says; an unknown option drops the line.
			reverse := len(n.Args) > 1 && n.Args[1] == "reverse"
			if len(n.Args) > 1 && !reverse && n.Args[1] != "noreverse" {
				c.find(n, Approximated, "keepalived 2.2.7 ignores this weight (\"unknown track file weight option "+n.Args[1]+
					"\"); so does the converted file")
				continue
			}
			if v, ok := c.intArg(n, 0, math.MinInt32, math.MaxInt32); ok {
				m.set("weight", yint(v), n.Comments...)
				if reverse {
					m.set("reverse", ybool(true))
				} else {
					m.del("reverse")
				}
			}
		case key == "payload" && typ == "UDP":
			if c.args(n, 1, math.MaxInt) {
				m.set("payload", ystr(strings.Join(n.Args, " ")), n.Comments...)
			}
		case key == "require_reply" && typ == "UDP":
			if len(n.Args) == 0 {
				m.set("require_reply", ybool(true), n.Comments...)
			} else {
				m.set("reply", ystr(strings.Join(n.Args, " ")), n.Comments...)
			}
		case (key == "min_reply_length" || key == "max_reply_length") && typ == "UDP":
			if v, ok := c.intArg(n, 0, 0, 65535); ok {
				m.set(key, yint(v), n.Comments...)
			}
		case (key == "type" || key == "name") && typ == "DNS":
			if c.args(n, 1, 1) {
				m.set("query_"+key, ystr(n.Args[0]), n.Comments...)
			}
		case key == "helo_name" && typ == "SMTP":
			if c.args(n, 1, 1) {
				m.set("helo_name", ystr(n.Args[0]), n.Comments...)
			}
		case key == "host" && typ == "SMTP":
			hosts = append(hosts, c.smtpHost(n, t))
		case key == "alpha":
			c.findAlpha(n)
		default:
			ownConn = ownConn || key == "bind_if"
			c.other(n, k.Key)
		}
	}
	for _, key := range timingKeys {
		if v := t[key]; v != nil {
			m.set(key, v)
		}
	}
	if v := t[miscTimeoutKey]; typ == "MISC" && v != nil && m.get("misc_timeout") == nil {
		m.set("misc_timeout", v, "keepalived: the virtual server's delay_loop when misc_timeout is not set")
	}
	if vhost != "" && (typ == "HTTP_GET" || typ == "SSL_GET") {
		m.set("virtualhost", ystr(vhost))
	}
	if len(urls) > 0 {
		m.set("urls", yseq(urls...))
	} else if typ == "HTTP_GET" || typ == "SSL_GET" {
		// http_get_check_end: the checker is dropped, so the real
		// server is not checked by it.
		c.find(k, Approximated, "keepalived 2.2.7 drops an "+k.Key+" without url (\"has no urls specified - ignoring\"); "+
			"so does the converted file: the real server is not checked by it")
		return nil
	}
	if len(hosts) > 0 {
		return c.smtpChecks(k, m, hosts, ownConn)
	}
	return []ymap{m}
}

// findAlpha reports a checker's alpha, which lbd has per virtual server.
func (c *converter) findAlpha(n *Node) {
	c.find(n, Approximated, "checker-level alpha: lbd applies alpha per virtual server; set it there")
}

func (c *converter) url(u *Node) *yaml.Node {
	m := newMap()
	for _, n := range u.Children {
		switch n.Key {
		case "path":
			if c.firstArg(n) {
				m.set("path", ystr(n.Args[0]), n.Comments...)
			}
		case "digest":
			if c.firstArg(n) {
				m.set("digest", ystr(strings.ToLower(n.Args[0])), n.Comments...)
			}
		case "status_code":
			if !c.args(n, 1, -1) {
				continue
			}
			var codes []*yaml.Node
			for _, s := range n.Args {
				if v, err := strconv.Atoi(s); err == nil {
					codes = append(codes, yint(int64(v)))
				} else {
					codes = append(codes, ystr(s))
				}
			}
			m.set("status_code", yflow(codes...), n.Comments...)
		case "virtualhost":
			if c.firstArg(n) {
				m.set("virtualhost", ystr(n.Args[0]), n.Comments...)
			}
		case "regex", "regex_no_match", "regex_options", "regex_stack", "regex_min_offset", "regex_max_offset":
			c.find(n, Unsupported, hints["regex"])
		default:
			c.other(n, "url")
		}
	}
	if m.get("path") == nil {
		c.find(u, Approximated, "keepalived 2.2.7 drops a url without a path (\"url has no path - ignoring\"); "+
			"so does the converted file")
		return nil
	}
	return m.n
}

// contiguous reports whether an IPv4 netmask's ones come before its zeros.
func contiguous(a netip.Addr) bool {
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	return v&(^v>>1) == 0 // no 0 followed by a 1
}
