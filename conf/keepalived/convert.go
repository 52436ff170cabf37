package keepalived

import (
	"fmt"
	"math"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lbd-project/lbd/conf"
	"go.yaml.in/yaml/v3"
)

// Options tune Import.
type Options struct {
	ParseOptions
}

// Result is a converted configuration.
type Result struct {
	// YAML is the lbd configuration; it passes conf.Parse unless a
	// finding says otherwise.
	YAML []byte
	// Findings list every keyword not converted one to one, in file order.
	Findings []Finding
}

// Import reads the keepalived configuration at path (with its includes)
// and converts it to lbd YAML. Syntax errors, bad values and unknown
// keywords that open a block are returned as an ErrorList naming
// file:line; keywords lbd cannot express, and what keepalived itself
// ignores or changes with a warning, are Findings.
func Import(path string) (Result, error) { return ImportWith(path, Options{}) }

// ImportWith is Import with options.
func ImportWith(path string, opts Options) (Result, error) {
	var dropped []Finding
	po := opts.ParseOptions
	if len(po.ConfigIDs) == 0 && po.Dropped == nil {
		po.Dropped = func(pos Pos, text string) {
			dropped = append(dropped, Finding{Pos: pos, Keyword: strings.Fields(text)[0], Severity: Approximated,
				Message: "line dropped: no config id given (-i); keepalived compares it with its -i, by default " +
					"the host name up to the first dot, so it may use this line on some hosts"})
		}
	}
	nodes, err := ParseFile(path, po)
	if err != nil {
		return Result{}, err
	}
	res, err := Convert(path, nodes)
	res.Findings = append(dropped, res.Findings...)
	return res, err
}

// Convert turns parsed keepalived keywords into lbd YAML.
func Convert(name string, nodes []*Node) (Result, error) {
	c := &converter{
		lookPath:   exec.LookPath,
		src:        map[*yaml.Node]Pos{},
		trackFiles: map[string]*Node{},
		scripts:    map[string]bool{},
		root:       newMap(),
		global:     newMap(),
		gvrrp:      newMap(),

		defaultIface: "eth0",
		rulePref:     firstRulePref,
	}
	c.run(nodes)
	if len(c.errs) > 0 {
		return Result{Findings: c.findings}, c.errs
	}
	header := "# Converted from " + name + " by lbd import-keepalived.\n"
	if len(c.findings) > 0 {
		header += "# Review these findings (also printed by the import):\n"
		for _, f := range c.findings {
			header += "#   " + strings.ReplaceAll(f.String(), "\n", " ") + "\n"
		}
	}
	header += "\n"
	out, err := encode(c.root.n, header)
	if err != nil {
		return Result{}, fmt.Errorf("keepalived: encoding YAML: %w", err)
	}
	if _, err := conf.Parse("converted.yaml", out); err != nil {
		var doc yaml.Node
		if yaml.Unmarshal(out, &doc) != nil || len(doc.Content) != 1 {
			doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{}}}
		}
		for _, e := range splitErrors(err) {
			// Name the keepalived block whose conversion holds the
			// position lbd complains about.
			pos := Pos{File: name, Line: 1}
			if e.Pos.Line > 0 {
				if p, ok := c.sourceOf(doc.Content[0], c.root.n, e.Pos.Line); ok {
					pos = p
				}
			}
			c.findings = append(c.findings, Finding{Pos: pos, Keyword: "lbd -t", Severity: Unsupported,
				Message: fmt.Sprintf("the converted file does not pass validation here (converted line %d): %s", e.Pos.Line, e.Msg)})
		}
	}
	return Result{YAML: out, Findings: c.findings}, nil
}

func splitErrors(err error) []*conf.Error {
	if l, ok := err.(conf.ErrorList); ok {
		return l
	}
	return []*conf.Error{{Msg: err.Error()}}
}

// sourceOf follows the decoded output (dec) and the tree it was encoded
// from (orig) down to the node on output line line, and returns the
// keepalived position of the innermost block on the way.
func (c *converter) sourceOf(dec, orig *yaml.Node, line int) (Pos, bool) {
	pos, found := c.src[orig]
	for len(dec.Content) > 0 && len(dec.Content) == len(orig.Content) {
		i := 0
		for j, ch := range dec.Content {
			if ch.Line <= line {
				i = j
			}
		}
		if dec.Kind == yaml.MappingNode && i%2 == 0 && i+1 < len(dec.Content) {
			i++ // a key: follow its value
		}
		dec, orig = dec.Content[i], orig.Content[i]
		if p, ok := c.src[orig]; ok {
			pos, found = p, true
		}
	}
	return pos, found
}

type converter struct {
	errs     ErrorList
	findings []Finding
	// lookPath finds a bare command name as keepalived would.
	lookPath func(string) (string, error)
	// src is the keepalived block each converted block came from.
	src map[*yaml.Node]Pos

	root, global, gvrrp ymap
	scripts             map[string]bool
	trackFiles          map[string]*Node
	vrrpScripts         []*yaml.Node
	instances           []*yaml.Node
	syncGroups          []*yaml.Node
	vsGroups            []*yaml.Node
	groupNodes          map[string]ymap
	virtualServers      []*yaml.Node

	version      int  // global vrrp_version, 0: keepalived's default 2
	strict       bool // vrrp_strict
	instanceFams map[string]bool

	// static_ipaddress, static_routes and static_rules, in file order.
	staticAddrs, staticRoutes, staticRules []*yaml.Node
	// defaultIface is global_defs' default_interface: the interface of a
	// static address without dev.
	defaultIface string
	// rulePref is the preference keepalived gives the next rule without one.
	rulePref int64
	// garpByIface is the garp_group pacing of each interface.
	garpByIface map[string]garpGroup
	// netns is the top-level net_namespace keepalived runs in ("": its
	// own), read by the first pass for net_namespace_ipvs.
	netns string
	// vmacs names the macvlans of use_vmac.
	vmacs vmacNames
}

func (c *converter) errorf(n *Node, format string, args ...any) {
	if len(c.errs) < 100 {
		c.errs = append(c.errs, &SyntaxError{n.Pos, fmt.Sprintf(format, args...)})
	}
}

func (c *converter) find(n *Node, sev Severity, msg string) {
	c.findings = append(c.findings, Finding{Pos: n.Pos, Keyword: n.Key, Severity: sev, Message: msg})
}

// findStaticKept reports the one difference of static addresses, routes
// and rules: keepalived 2.2.7 removes them when it stops (seen in a
// network namespace), lbd leaves them installed, so that a restart or an
// upgrade does not take the host's own addresses away.
func (c *converter) findStaticKept(n *Node) {
	c.find(n, Approximated, "keepalived removes these when it stops; lbd installs them the same way but leaves them in place when it stops")
}

// other reports a keyword the current block does not convert.
func (c *converter) other(n *Node, where string) {
	if why, ok := notApplicable[n.Key]; ok {
		c.find(n, NotApplicable, why)
		return
	}
	if !knownKeywords[n.Key] {
		if n.Block {
			// keepalived 2.2.7 skips only the keyword's line: it reads
			// the block's lines as the enclosing block's own and the
			// block's '}' as the end of the enclosing block, a reading
			// the converted file could only copy by guessing.
			c.errorf(n, "unknown keyword %q in %s opens a block: keepalived 2.2.7 ignores the keyword, then reads "+
				"the block's lines as %s's own and its '}' as the end of %s; correct the keyword or remove the block",
				n.Key, where, where, where)
			return
		}
		// Loud (Unsupported, so the import exits 1) although keepalived
		// ignores it too: it is most often a typo of a keyword meant to
		// do something.
		c.find(n, Unsupported, fmt.Sprintf("unknown keyword %q in %s: keepalived 2.2.7 logs it and ignores the line, "+
			"so the converted file leaves it out; if it is a typo, correct it and convert again", n.Key, where))
		return
	}
	msg := "not supported by lbd in " + where
	if h, ok := hints[n.Key]; ok {
		msg += "; " + h
	}
	c.find(n, Unsupported, msg)
}

func (c *converter) run(nodes []*Node) {
	c.groupNodes = map[string]ymap{}
	c.instanceFams = map[string]bool{}
	c.garpByIface = c.garpGroups(nodes)
	c.vmacs = collectVMACNames(nodes)
	// Definitions referred to by name first, wherever they are.
	for _, n := range nodes {
		switch n.Key {
		case "vrrp_track_file", "track_file":
			if len(n.Args) != 1 || !n.Block {
				c.errorf(n, "%s needs a name and a block", n.Key)
				continue
			}
			c.trackFiles[n.Args[0]] = n
		case "vrrp_script":
			if len(n.Args) == 1 && hasScript(n) {
				c.scripts[n.Args[0]] = true
			}
		case "global_defs":
			for _, k := range n.Children {
				switch {
				case k.Key == "vrrp_strict":
					c.strict = true
				case k.Key == "default_interface" && len(k.Args) == 1:
					c.defaultIface = k.Args[0]
				}
			}
		case "net_namespace":
			if c.netns == "" && len(n.Args) > 0 {
				c.netns = n.Args[0]
			}
		}
	}
	for _, n := range nodes {
		switch n.Key {
		case "global_defs":
			c.src[c.global.n] = n.Pos
			c.globalDefs(n)
		case "vrrp_script":
			c.vrrpScript(n)
		case "vrrp_instance":
			c.vrrpInstance(n)
		case "vrrp_sync_group":
			c.syncGroup(n)
		case "virtual_server_group":
			c.vsGroup(n)
		case "virtual_server":
			c.virtualServer(n)
		case "vrrp_track_file", "track_file":
			// used by reference
		case "garp_group":
			// read by the first pass, set on the instances
			c.findPacedBursts(n)
		case "static_ipaddress":
			c.staticAddresses(n)
			c.findStaticKept(n)
		case "static_routes":
			c.staticRoutes = append(c.staticRoutes, lines(n, c.route).Content...)
			c.findStaticKept(n)
		case "static_rules":
			c.staticRules = append(c.staticRules, lines(n, c.rule).Content...)
			c.findStaticKept(n)
		case "net_namespace", "net_namespace_ipvs", "namespace_with_ipsets":
			c.namespace(n)
		default:
			c.other(n, "the top level")
		}
	}
	// keepalived's defaults where lbd's differ.
	if c.version == 0 {
		c.gvrrp.set("version", yint(2), "keepalived's default VRRP version (lbd's is 3)")
	}
	if c.gvrrp.get("garp_master_refresh") == nil {
		c.gvrrp.set("garp_master_refresh", ydur(0), "keepalived does not refresh gratuitous ARP by default (lbd: 60s)")
	}
	c.global.set("vrrp", c.gvrrp.n)
	c.root.set("global", c.global.n)
	for _, l := range []struct {
		key   string
		items []*yaml.Node
	}{{"static_ipaddresses", c.staticAddrs}, {"static_routes", c.staticRoutes}, {"static_rules", c.staticRules},
		{"vrrp_scripts", c.vrrpScripts}, {"vrrp_instances", c.instances}, {"vrrp_sync_groups", c.syncGroups},
		{"virtual_server_groups", c.vsGroups}, {"virtual_servers", c.virtualServers}} {
		if len(l.items) > 0 {
			c.root.set(l.key, yseq(l.items...))
		}
	}
}

// args checks the argument count of n.
func (c *converter) args(n *Node, min, max int) bool {
	if len(n.Args) < min || max >= 0 && len(n.Args) > max {
		switch {
		case min == max:
			c.errorf(n, "%s takes %d argument(s), found %d", n.Key, min, len(n.Args))
		case max < 0:
			c.errorf(n, "%s takes at least %d argument(s)", n.Key, min)
		default:
			c.errorf(n, "%s takes %d to %d arguments, found %d", n.Key, min, max, len(n.Args))
		}
		return false
	}
	return true
}

// wholeSecs reads n's argument as the keepalived 2.2.7 daemon reads the
// seconds of read_unsigned_strvec's keywords (garp delays, script
// intervals, misc_timeout): its leading digits (strtoul), so "1.5" is
// 1 s, with a warning there and a note here.
func (c *converter) wholeSecs(n *Node) (time.Duration, bool) {
	d, ok := c.secs(n, 0)
	if !ok {
		return 0, false
	}
	if whole := d.Truncate(time.Second); whole != d {
		c.find(n, NotApplicable, fmt.Sprintf("keepalived 2.2.7 reads whole seconds for %s (\"invalid number\" warning): "+
			"%s is %v; so does the converted file", n.Key, n.Args[0], whole))
		return whole, true
	}
	return d, true
}

// noBlock complains about a block after a keyword that takes none.
func (c *converter) noBlock(n *Node) bool {
	if n.Block {
		c.errorf(n, "%s takes no block", n.Key)
		return false
	}
	return true
}

func (c *converter) intArg(n *Node, i int, min, max int64) (int64, bool) {
	if i >= len(n.Args) {
		c.errorf(n, "%s needs a number", n.Key)
		return 0, false
	}
	v, err := strconv.ParseInt(n.Args[i], 10, 64)
	if err != nil || v < min || v > max {
		c.errorf(n, "%s: %q is not a whole number in %d..%d", n.Key, n.Args[i], min, max)
		return 0, false
	}
	return v, true
}

// secs parses a keepalived timer: seconds, possibly with a fraction.
func (c *converter) secs(n *Node, i int) (time.Duration, bool) {
	if i >= len(n.Args) {
		c.errorf(n, "%s needs a number of seconds", n.Key)
		return 0, false
	}
	f, err := strconv.ParseFloat(n.Args[i], 64)
	if err != nil || f < 0 || f > 1e9 || math.IsNaN(f) {
		c.errorf(n, "%s: %q is not a number of seconds", n.Key, n.Args[i])
		return 0, false
	}
	return time.Duration(math.Round(f*1e6)) * time.Microsecond, true
}

func (c *converter) addr(n *Node, s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		c.errorf(n, "%s: %q is not an IP address", n.Key, s)
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// command joins a script's arguments (one quoted string or several words).
func command(n *Node) []string {
	var words []string
	for _, a := range n.Args {
		words = append(words, splitCommand(a)...)
	}
	return words
}

func (c *converter) setCommand(m ymap, key string, n *Node) {
	if !c.args(n, 1, -1) {
		return
	}
	// keepalived 2.2.7 keeps the first of two notify (and quorum_up,
	// quorum_down) scripts with a warning; a second script or misc_path
	// replaces the first.
	if m.get(key) != nil && key != "script" && key != "misc_path" {
		c.find(n, NotApplicable, "a second "+n.Key+": keepalived 2.2.7 keeps the first (\"script already specified - "+
			"ignoring\"); so does the converted file")
		return
	}
	words := command(n)
	if len(words) == 0 {
		c.errorf(n, "%s: empty command", n.Key)
		return
	}
	text := strings.Join(n.Args, " ")
	switch {
	case strings.ContainsAny(text, "<>|&;`$*?()") || strings.HasPrefix(words[0], "~"):
		// Redirections, pipes, globs and variables need a shell; bash's
		// /dev/tcp and /dev/udp need bash itself (Debian's /bin/sh is dash).
		sh := "/bin/sh"
		if strings.Contains(text, "/dev/tcp/") || strings.Contains(text, "/dev/udp/") {
			sh = "/bin/bash"
		}
		words = []string{sh, "-c", text}
		// keepalived 2.2.7 uses a shell only for a line starting "</"
		// (system(), so /bin/sh) and for a script file without a
		// shebang; otherwise it runs the first word with the others as
		// its arguments, "||" and all (check_script_secure).
		if strings.HasPrefix(strings.TrimSpace(text), "<") {
			c.find(n, Approximated, "keepalived 2.2.7 runs a line starting \"<\" with /bin/sh -c: where /bin/sh is dash "+
				"(Debian, Ubuntu) it cannot open /dev/tcp or /dev/udp and the check always fails; the converted file "+
				"runs it with "+sh+" -c, the check the line means (keepalived's own sample says it needs bash)")
		} else {
			c.find(n, Approximated, "keepalived 2.2.7 runs no shell here: it runs "+strings.Fields(text)[0]+
				" with the other words as its arguments (shell syntax included); the converted file runs the line with "+
				sh+" -c, as it reads")
		}
	case !strings.Contains(words[0], "/"):
		// keepalived looks a bare name up in PATH when it runs it; lbd
		// takes absolute paths only, so look it up now.
		if p, err := c.lookPath(words[0]); err == nil {
			c.find(n, NotApplicable, words[0]+" resolved in PATH at import time to "+p)
			words[0] = p
		} else {
			c.find(n, Unsupported, words[0]+" is not in PATH on this machine; write the program's absolute path")
		}
	case !filepath.IsAbs(words[0]):
		// keepalived runs a relative path from its working directory, /.
		p := filepath.Join("/", words[0])
		c.find(n, NotApplicable, words[0]+" is relative to keepalived's working directory (/): "+p)
		words[0] = p
	}
	m.set(key, ycommand(words), n.Comments...)
}

func (c *converter) globalDefs(g *Node) {
	for _, n := range g.Children {
		switch n.Key {
		case "router_id":
			if c.firstArg(n) {
				c.global.set("router_id", ystr(n.Args[0]), n.Comments...)
			}
		case "script_user":
			// keepalived: script_user USER [GROUP]; lbd runs a script
			// with its user's primary and supplementary groups.
			if c.args(n, 1, 2) {
				c.global.set("script_user", ystr(n.Args[0]), n.Comments...)
				if len(n.Args) == 2 {
					c.find(n, Approximated, "the group "+n.Args[1]+" is not kept: scripts run with the groups of user "+n.Args[0])
				}
			}
		case "vrrp_version":
			if v, ok := c.intArg(n, 0, 2, 3); ok {
				c.version = int(v)
				c.gvrrp.set("version", yint(v), n.Comments...)
			}
		case "vrrp_garp_master_delay", "vrrp_garp_master_refresh", "vrrp_garp_lower_prio_delay",
			"vrrp_garp_interval", "vrrp_gna_interval":
			// global.vrrp's key is the keyword without vrrp_. The
			// intervals take fractions, the delays whole seconds.
			read := c.wholeSecs
			if strings.HasSuffix(n.Key, "_interval") {
				read = func(n *Node) (time.Duration, bool) { return c.secs(n, 0) }
			}
			d, ok := read(n)
			switch {
			case ok && d == 0 && strings.HasSuffix(n.Key, "_interval"):
				c.find(n, NotApplicable, "keepalived 2.2.7 refuses 0 (\"invalid\") and keeps its default, no pause "+
					"between messages; so does the converted file")
			case ok:
				c.gvrrp.set(strings.TrimPrefix(n.Key, "vrrp_"), ydur(d), n.Comments...)
				if n.Key == "vrrp_garp_interval" {
					c.find(n, Approximated, pacedBursts)
				}
			}
		case "vrrp_garp_master_repeat", "vrrp_garp_master_refresh_repeat", "vrrp_garp_lower_prio_repeat":
			if v, ok := c.intArg(n, 0, 1, 1<<20); ok {
				c.gvrrp.set(strings.TrimPrefix(n.Key, "vrrp_"), yint(v), n.Comments...)
			}
		case "vrrp_strict":
			c.find(n, Approximated, hints["vrrp_strict"])
		case "vrrp_skip_check_adv_addr":
			c.find(n, NotApplicable, skipCheckAdvAddr)
		case "default_interface":
			// the interface of static addresses without dev (run's first pass)
		case "vmac_prefix":
			c.find(n, NotApplicable, "the converted file names each macvlan (vmac_name) as keepalived would with this prefix")
		case "vrrp_mcast_group4", "vrrp_mcast_group6":
			if c.args(n, 1, 1) {
				if _, ok := c.addr(n, n.Args[0]); ok {
					c.gvrrp.set(strings.TrimPrefix(n.Key, "vrrp_"), ystr(n.Args[0]), n.Comments...)
				}
			}
		case "lvs_timeouts":
			c.lvsTimeouts(n)
		case "lvs_sync_daemon":
			c.lvsSyncDaemon(n)
		case "net_namespace", "net_namespace_ipvs":
			// keepalived.conf(5) lists them with global_defs, but
			// keepalived reads them at the top level only.
			msg := "keepalived 2.2.7 reads " + n.Key + " only at the top level, outside global_defs: here it logs " +
				"\"Unknown keyword\" and ignores the line, so the converted file leaves it out; move it out of global_defs if you meant it"
			if n.Key == "net_namespace" {
				msg += " (lbd: global.net_namespace)"
			}
			c.find(n, Unsupported, msg)
		case "namespace_with_ipsets":
			c.find(n, NotApplicable, "keepalived 2.2.7 reads it only at the top level (\"Unknown keyword\" here); lbd uses no ipsets either way")
		default:
			c.other(n, "global_defs")
		}
	}
}

// namespace converts keepalived's top-level namespace keywords.
func (c *converter) namespace(n *Node) {
	if !c.noBlock(n) {
		return
	}
	switch n.Key {
	case "net_namespace":
		switch {
		case len(n.Args) == 0:
			c.find(n, NotApplicable, "keepalived 2.2.7 ignores net_namespace without a name (\"name missing\"); so does the converted file")
		case c.global.get("net_namespace") != nil:
			c.find(n, NotApplicable, "keepalived 2.2.7 keeps the first net_namespace, "+c.netns+", and ignores this one "+
				"(\"Duplicate net_namespace definition\"); so does the converted file")
		default:
			c.global.set("net_namespace", ystr(n.Args[0]), n.Comments...)
			// lbd enters the namespace as keepalived does, but the
			// shipped unit's sandbox forbids it: systemd must.
			c.find(n, NotApplicable, "lbd runs in the namespace as keepalived does; under lbd.service also give the unit "+
				"NetworkNamespacePath=/run/netns/"+n.Args[0]+" (systemctl edit lbd): its sandbox does not let lbd enter a namespace itself")
		}
	case "net_namespace_ipvs":
		// keepalived programs IPVS in this namespace, the default one
		// (PID 1's) without a name, and runs everything else in its own.
		ipvs := ""
		if len(n.Args) > 0 {
			ipvs = n.Args[0]
		}
		if ipvs == c.netns {
			c.find(n, NotApplicable, "IPVS is in the namespace keepalived runs in; so it is with lbd")
			return
		}
		where := "the default namespace"
		if ipvs != "" {
			where = "namespace " + ipvs
		}
		c.find(n, Unsupported, "not supported by lbd: it programs IPVS in the namespace it runs in (net_namespace), "+
			"not in "+where+"; run lbd where the IPVS table is")
	case "namespace_with_ipsets":
		c.find(n, NotApplicable, "lbd uses no ipsets; keepalived needs this only to use its ipsets in a namespace on Linux before 3.13")
	}
}

func (c *converter) lvsTimeouts(n *Node) {
	m := newMap()
	for i := 0; i+1 < len(n.Args); i += 2 {
		switch k := n.Args[i]; k {
		case "tcp", "tcpfin", "udp":
			v, err := strconv.ParseUint(n.Args[i+1], 10, 31)
			if err != nil {
				c.errorf(n, "lvs_timeouts %s: %q is not whole seconds", k, n.Args[i+1])
				return
			}
			m.set(k, ydur(time.Duration(v)*time.Second))
		default:
			c.errorf(n, "lvs_timeouts: unknown option %q (tcp, tcpfin, udp)", k)
			return
		}
	}
	if len(n.Args)%2 != 0 {
		c.errorf(n, "lvs_timeouts: options come in pairs (tcp SECS tcpfin SECS udp SECS)")
		return
	}
	c.global.set("lvs_timeouts", m.n, n.Comments...)
}

func (c *converter) lvsSyncDaemon(n *Node) {
	if !c.args(n, 2, -1) {
		return
	}
	m := newMap()
	m.set("interface", ystr(n.Args[0]))
	i := 1
	if n.Args[i] == "inst" && i+1 < len(n.Args) {
		i++
	}
	m.set("vrrp_instance", ystr(n.Args[i]))
	if i == 1 && len(n.Args) > 2 {
		// The old form "IF INSTANCE SYNC_ID", still read by keepalived
		// 2.2.7 ("Please use keyword "id" before lvs_sync_daemon SYNCID").
		if v, err := strconv.ParseUint(n.Args[2], 10, 8); err == nil {
			c.find(n, NotApplicable, "keepalived 2.2.7 reads "+n.Args[2]+" as the sync id (the old form); "+
				"so does the converted file")
			m.set("sync_id", yint(int64(v)))
			i = 2
		}
	}
	for i++; i < len(n.Args); i++ {
		opt := n.Args[i]
		if i+1 >= len(n.Args) {
			c.errorf(n, "lvs_sync_daemon: %s needs a value", opt)
			return
		}
		val := n.Args[i+1]
		i++
		switch opt {
		case "id", "maxlen", "port", "ttl":
			v, err := strconv.ParseUint(val, 10, 16)
			if err != nil {
				c.errorf(n, "lvs_sync_daemon %s: %q is not a number", opt, val)
				return
			}
			key := map[string]string{"id": "sync_id", "maxlen": "maxlen", "port": "port", "ttl": "ttl"}[opt]
			m.set(key, yint(int64(v)))
		case "group":
			if _, ok := c.addr(n, val); ok {
				m.set("group", ystr(val))
			}
		default:
			c.errorf(n, "lvs_sync_daemon: unknown option %q", opt)
			return
		}
	}
	c.global.set("lvs_sync_daemon", m.n, n.Comments...)
}

// hasScript reports whether a vrrp_script block names its script.
func hasScript(s *Node) bool {
	for _, n := range s.Children {
		if n.Key == "script" && len(n.Args) > 0 {
			return true
		}
	}
	return false
}

func (c *converter) vrrpScript(s *Node) {
	if !c.args(s, 1, 1) {
		return
	}
	if !hasScript(s) {
		c.find(s, Unsupported, "vrrp_script "+s.Args[0]+" has no script: keepalived 2.2.7 removes it (\"No script set "+
			"for vrrp_script\") and ignores the track_script entries naming it; so does the converted file")
		return
	}
	m := newMap()
	c.src[m.n] = s.Pos
	m.comment(s.Comments)
	m.set("name", ystr(s.Args[0]))
	for _, n := range s.Children {
		switch n.Key {
		case "script":
			c.setCommand(m, "script", n)
		case "interval", "timeout":
			// keepalived reads whole seconds and makes 0 one second.
			if d, ok := c.wholeSecs(n); ok {
				if d == 0 {
					c.find(n, NotApplicable, "keepalived 2.2.7 makes "+n.Key+" 0 one second (\"must be greater than 0, "+
						"setting to 1\"); so does the converted file")
					d = time.Second
				}
				m.set(n.Key, ydur(d), n.Comments...)
			}
		case "rise", "fall":
			if v, ok := c.intArg(n, 0, 1, 1<<30); ok {
				m.set(n.Key, yint(v), n.Comments...)
			}
		case "weight":
			if v, ok := c.intArg(n, 0, -253, 253); ok {
				m.set("weight", yint(v), n.Comments...)
			}
			if len(n.Args) > 1 {
				c.find(n, Unsupported, "weight ... reverse is not supported; invert the script's exit code instead")
			}
		case "init_fail":
			m.set("init_fail", ybool(true), n.Comments...)
		case "user":
			if c.args(n, 1, 2) {
				m.set("user", ystr(n.Args[0]), n.Comments...)
				if len(n.Args) == 2 {
					c.find(n, Approximated, "lbd runs the script with the user's primary group, not "+n.Args[1])
				}
			}
		default:
			c.other(n, "vrrp_script")
		}
	}
	c.vrrpScripts = append(c.vrrpScripts, m.n)
}

// vip converts one virtual_ipaddress line: ADDR[/LEN] [dev IF] [label L]
// [brd B] [scope S] ...
func (c *converter) vip(n *Node, iface string) (*yaml.Node, netip.Addr, bool) {
	var p netip.Prefix
	a, err := netip.ParseAddr(n.Key)
	if err == nil {
		p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
	} else if p, err = netip.ParsePrefix(n.Key); err != nil {
		c.errorf(n, "virtual address %q is not an address or address/prefix", n.Key)
		return nil, netip.Addr{}, false
	}
	p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits())
	m := newMap()
	m.set("address", ystr(n.Key))
	for i := 0; i < len(n.Args); i++ {
		opt := n.Args[i]
		val := ""
		if opt != "no_track" && opt != "home" && opt != "nodad" && opt != "noprefixroute" && opt != "autojoin" {
			if i+1 >= len(n.Args) {
				c.errorf(n, "virtual address %s: %s needs a value", n.Key, opt)
				return nil, netip.Addr{}, false
			}
			val = n.Args[i+1]
			i++
		}
		switch opt {
		case "dev":
			if val != iface {
				m.set("interface", ystr(val))
			}
		case "label":
			m.set("label", ystr(val))
		case "brd", "broadcast":
			if val != "+" && !(p.Addr().Is4() && val == broadcastOf(p)) {
				c.find(n, Approximated, "lbd lets the kernel derive the broadcast address ("+broadcastOf(p)+"), not "+val)
			}
		case "scope":
			if p.Addr().Is6() {
				c.find(n, NotApplicable, "keepalived 2.2.7 ignores scope on an IPv6 address (\"Cannot specify scope "+
					"for IPv6 addresses - ignoring scope\"); so does the converted file")
			} else if val != "global" && val != "universe" {
				c.find(n, Approximated, "lbd adds virtual addresses with scope global, not "+val)
			}
		default:
			c.find(n, Unsupported, "virtual address option "+opt+" is not supported; lbd adds a plain address")
		}
	}
	if len(m.n.Content) == 2 {
		return ystr(n.Key), p.Addr(), true
	}
	return m.n, p.Addr(), true
}

func broadcastOf(p netip.Prefix) string {
	if !p.Addr().Is4() || p.Bits() >= 31 {
		return p.Addr().String()
	}
	b := p.Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= (1 << (32 - p.Bits())) - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
}

func (c *converter) vrrpInstance(in *Node) {
	if !c.args(in, 1, 1) {
		return
	}
	name := in.Args[0]
	m := newMap()
	c.src[m.n] = in.Pos
	m.comment(in.Comments)
	m.set("name", ystr(name))
	iface := ""
	var ifaceNode *Node
	unicast := false
	for _, n := range in.Children {
		switch {
		case n.Key == "interface" && len(n.Args) == 1:
			iface, ifaceNode = n.Args[0], n
		case n.Key == "unicast_peer" && len(n.Children) > 0:
			unicast = true
		}
	}
	// keepalived refuses any loopback device; lo is the one there is.
	if iface == "lo" && !unicast {
		c.find(ifaceNode, Unsupported, "keepalived 2.2.7 runs no VRRP on a loopback interface (\"cannot use a loopback "+
			"interface\") and, with no unicast peers, drops the instance (\"Unknown interface!\"); so does the converted file")
		return
	}
	var vips, excluded []*yaml.Node
	seen := map[netip.Addr]bool{}
	var family netip.Addr
	version := 0
	var advert time.Duration
	var advertNode *Node
	var masterNode, nopreemptNode, delayNode, strictNode *Node
	var vmacNodes []*Node
	accept := (*bool)(nil)
	for _, n := range in.Children {
		switch n.Key {
		case "interface":
			if c.firstArg(n) {
				m.set("interface", ystr(n.Args[0]), n.Comments...)
			}
		case "state":
			if c.firstArg(n) {
				switch n.Args[0] {
				case "MASTER", "BACKUP":
					if n.Args[0] == "MASTER" {
						masterNode = n
					}
					c.find(n, NotApplicable, "lbd starts every instance in BACKUP (RFC 5798); the highest priority becomes "+
						"master within master_down_interval, as keepalived's does after its start-up advert")
				default:
					// vrrp_state_handler compares in upper case only.
					c.find(n, NotApplicable, fmt.Sprintf("keepalived 2.2.7 logs \"unknown state '%s', defaulting to BACKUP\"; "+
						"lbd starts every instance in BACKUP", n.Args[0]))
				}
			}
		case "virtual_router_id":
			if v, ok := c.intArg(n, 0, 1, 255); ok {
				m.set("virtual_router_id", yint(v), n.Comments...)
			}
		case "priority":
			if len(n.Args) == 0 {
				c.errorf(n, "%s needs a number", n.Key)
				break
			}
			v, err := strconv.ParseUint(n.Args[0], 10, 8)
			if err != nil || v == 0 {
				// vrrp_prio_handler: "Priority not valid! must be
				// between 1 & 255. Using default 100".
				c.find(n, Approximated, fmt.Sprintf("keepalived 2.2.7 refuses priority %q (1 to 255) and uses 100; "+
					"so does the converted file", n.Args[0]))
				v = 100
			}
			m.set("priority", yint(int64(v)), n.Comments...)
		case "advert_int":
			if d, ok := c.secs(n, 0); ok {
				advert, advertNode = d, n
				m.set("advert_interval", ydur(d), n.Comments...)
			}
		case "version":
			if v, ok := c.intArg(n, 0, 2, 3); ok {
				version = int(v)
				m.set("version", yint(v), n.Comments...)
			}
		case "nopreempt":
			nopreemptNode = n
			m.set("nopreempt", ybool(true), n.Comments...)
		case "preempt":
			// The default, and it undoes an earlier nopreempt
			// (vrrp_preempt_handler).
			nopreemptNode = nil
			m.del("nopreempt")
		case "preempt_delay":
			if d, ok := c.secs(n, 0); ok {
				delayNode = n
				m.set("preempt_delay", ydur(d), n.Comments...)
			}
		case "accept":
			accept = ptr(true)
			m.set("accept", ybool(true), n.Comments...)
		case "no_accept":
			accept = ptr(false)
			m.set("accept", ybool(false), n.Comments...)
		case "strict_mode":
			if on, ok := c.trueFalse(n); !ok || !on {
				break
			}
			strictNode = n
			c.find(n, Approximated, hints["strict_mode"])
			if accept == nil {
				accept = ptr(false)
				m.set("accept", ybool(false))
			}
		case "garp_master_delay", "garp_master_refresh", "garp_lower_prio_delay":
			if d, ok := c.wholeSecs(n); ok {
				m.set(n.Key, ydur(d), n.Comments...)
			}
		case "garp_master_repeat", "garp_master_refresh_repeat", "garp_lower_prio_repeat":
			if v, ok := c.intArg(n, 0, 1, 1<<20); ok {
				m.set(n.Key, yint(v), n.Comments...)
			}
		case "authentication":
			c.authentication(m, n)
		case "unicast_src_ip", "mcast_src_ip":
			if c.args(n, 1, 1) {
				if a, ok := c.addr(n, n.Args[0]); ok && !a.IsGlobalUnicast() && !a.IsLinkLocalUnicast() {
					c.find(n, Unsupported, "not a unicast address: no advert can come from it; the converted file leaves "+
						"it out, and lbd sends from the interface's primary address")
				} else if ok {
					// Both set the one source address: keepalived
					// keeps the last written.
					for _, other := range []string{"unicast_src_ip", "mcast_src_ip"} {
						if other != n.Key && m.get(other) != nil {
							m.del(other)
							c.find(n, NotApplicable, "keepalived uses the last of unicast_src_ip and mcast_src_ip; so does the converted file")
						}
					}
					m.set(n.Key, ystr(n.Args[0]), n.Comments...)
					if n.Key == "unicast_src_ip" && !unicast {
						c.find(n, NotApplicable, "no unicast_peer: keepalived 2.2.7 sends multicast adverts from this "+
							"address (\"A unicast keyword has been specified without any unicast peers. Defaulting "+
							"to multicast\"); so does lbd")
					}
				}
			}
		case "unicast_peer":
			var peers []*yaml.Node
			for _, p := range n.Children {
				if _, ok := c.addr(p, p.Key); !ok {
					continue
				}
				if len(p.Args) > 0 {
					c.find(p, Unsupported, "unicast peer options ("+strings.Join(p.Args, " ")+") are not supported")
				}
				peers = append(peers, ystr(p.Key))
			}
			m.set("unicast_peers", yseq(peers...), n.Comments...)
		case "virtual_ipaddress", "virtual_ipaddress_excluded":
			for _, v := range n.Children {
				y, a, ok := c.vip(v, iface)
				if !ok {
					continue
				}
				if seen[a] {
					c.find(v, NotApplicable, "address "+a.String()+" is listed twice in this instance; "+
						"the converted file has it once")
					continue
				}
				seen[a] = true
				if n.Key == "virtual_ipaddress" {
					if !family.IsValid() {
						family = a
					}
					if family.Is6() != a.Is6() {
						c.find(v, Approximated, "keepalived carries one family in adverts; lbd handles "+v.Key+
							" as an excluded address (not in adverts)")
						excluded = append(excluded, y)
						continue
					}
					vips = append(vips, y)
				} else {
					excluded = append(excluded, y)
				}
			}
		case "track_interface":
			var items []*yaml.Node
			for _, t := range n.Children {
				if t.Key == iface {
					// Even with a weight: the instance faults when its
					// own interface goes down, in keepalived and lbd.
					c.find(t, NotApplicable, "the instance's own interface: keepalived 2.2.7 ignores this entry "+
						"(\"Ignoring track_interface "+iface+" since own interface\") and faults the instance when it goes down; "+
						"so does the converted file")
					continue
				}
				tm := newMap()
				tm.set("name", ystr(t.Key))
				if w, ok := c.trackWeight(t); ok && w != nil {
					tm.set("weight", yint(*w))
				}
				items = append(items, tm.n)
			}
			if len(items) > 0 {
				m.set("track_interfaces", yseq(items...), n.Comments...)
			}
		case "track_script":
			var items []*yaml.Node
			for _, t := range n.Children {
				tm := newMap()
				tm.set("name", ystr(t.Key))
				if !c.scripts[t.Key] {
					c.find(t, Unsupported, "no vrrp_script "+t.Key+" (with a script): keepalived 2.2.7 ignores this "+
						"entry (\"track script "+t.Key+" not found, ignoring\"); so does the converted file")
					continue
				}
				if w, ok := c.trackWeight(t); ok && w != nil {
					tm.set("weight", yint(*w))
				}
				items = append(items, tm.n)
			}
			if len(items) > 0 {
				m.set("track_scripts", yseq(items...), n.Comments...)
			}
		case "track_file":
			var items []*yaml.Node
			for _, t := range n.Children {
				def := c.trackFiles[t.Key]
				if def == nil {
					c.errorf(t, "track_file %q: no vrrp_track_file of that name", t.Key)
					continue
				}
				tm := newMap()
				w := int64(1)
				for _, d := range def.Children {
					switch d.Key {
					case "file":
						if c.args(d, 1, 1) {
							tm.set("path", ystr(d.Args[0]))
						}
					case "weight":
						if v, ok := c.intArg(d, 0, -253, 253); ok {
							w = v
						}
						if len(d.Args) > 1 && d.Args[1] == "reverse" {
							tm.set("reverse", ybool(true))
						}
					case "init_file":
						if in := c.initFile(d); in != nil {
							tm.set("init_file", in)
						}
					default:
						c.other(d, "vrrp_track_file")
					}
				}
				if tw, ok := c.trackWeight(t); ok && tw != nil {
					w = *tw
				}
				tm.set("weight", yint(w))
				items = append(items, tm.n)
			}
			m.set("track_files", yseq(items...), n.Comments...)
		case "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify":
			c.setCommand(m, n.Key, n)
		case "virtual_routes":
			m.set("virtual_routes", lines(n, c.route), n.Comments...)
		case "virtual_rules":
			m.set("virtual_rules", lines(n, c.rule), n.Comments...)
		case "smtp_alert":
			c.other(n, "vrrp_instance")
		case "use_vmac", "vmac_xmit_base":
			vmacNodes = append(vmacNodes, n)
		case "skip_check_adv_addr":
			c.find(n, NotApplicable, skipCheckAdvAddr)
		case "dont_track_primary":
			c.find(n, Approximated, "lbd faults the instance when its interface goes down")
		default:
			c.other(n, "vrrp_instance")
		}
	}
	c.vmac(m, in, vmacNodes, family.Is6(), unicast)
	c.garpPacing(m, iface)
	// keepalived 2.2.7 clears nopreempt and preempt_delay on an instance
	// that starts as MASTER, with a warning.
	if masterNode != nil && nopreemptNode != nil {
		m.del("nopreempt")
		c.find(nopreemptNode, NotApplicable, "keepalived clears nopreempt on an instance with state MASTER "+
			"(\"nopreempt will not work with initial state MASTER\"); so does the converted file")
	}
	if masterNode != nil && delayNode != nil {
		m.del("preempt_delay")
		c.find(delayNode, NotApplicable, "keepalived clears preempt_delay on an instance with state MASTER; so does the converted file")
	}
	if len(vips) > 0 {
		m.set("virtual_ipaddresses", yseq(vips...))
	} else {
		c.errorf(in, "vrrp_instance %s has no virtual_ipaddress (lbd needs at least one)", name)
	}
	if len(excluded) > 0 {
		m.set("virtual_ipaddresses_excluded", yseq(excluded...))
	}
	eff := version
	if eff == 0 {
		eff = max(c.version, 2)
		if family.Is6() && eff == 2 {
			// keepalived runs IPv6 instances with VRRPv3.
			m.set("version", yint(3))
			eff = 3
		}
	}
	if eff == 2 && advertNode != nil && advert%time.Second != 0 {
		r := max(advert.Round(time.Second), time.Second)
		c.find(advertNode, Approximated, fmt.Sprintf("VRRPv2 adverts carry whole seconds; lbd uses %v (or set version 3)", r))
		m.set("advert_interval", ydur(r))
	}
	if eff == 3 && m.get("authentication") != nil {
		m.del("authentication")
		c.find(in, NotApplicable, "keepalived ignores authentication in VRRPv3; so does the converted file")
	}
	if c.strict && accept == nil {
		m.set("accept", ybool(false))
	}
	if (c.strict || strictNode != nil) && m.get("authentication") != nil {
		m.del("authentication")
		c.find(in, NotApplicable, "keepalived 2.2.7 ignores authentication in strict mode (\"Strict mode does not "+
			"support authentication. Ignoring.\"); so does the converted file")
	}
	c.instanceFams[name] = family.Is6()
	c.instances = append(c.instances, m.n)
}

// trackWeight reads "NAME [weight N]" of a track_* entry.
func (c *converter) trackWeight(t *Node) (*int64, bool) {
	if len(t.Args) == 0 {
		return nil, true
	}
	if t.Args[0] != "weight" || len(t.Args) < 2 {
		c.errorf(t, "%s: expected \"weight N\", found %q", t.Key, strings.Join(t.Args, " "))
		return nil, false
	}
	v, err := strconv.ParseInt(t.Args[1], 10, 64)
	if err != nil || v < -253 || v > 253 {
		c.errorf(t, "%s: weight %q is not in -253..253", t.Key, t.Args[1])
		return nil, false
	}
	if len(t.Args) > 2 {
		c.find(t, Unsupported, "weight ... reverse is not supported")
	}
	return &v, true
}

func (c *converter) authentication(m ymap, a *Node) {
	am := newMap()
	for _, n := range a.Children {
		switch n.Key {
		case "auth_type":
			if c.args(n, 1, 1) {
				if n.Args[0] != "PASS" {
					c.find(n, Unsupported, "authentication type "+n.Args[0]+" is not supported (PASS only); the instance runs without authentication")
					return
				}
				am.set("type", ystr("PASS"))
			}
		case "auth_pass":
			if c.args(n, 1, 1) {
				p := n.Args[0]
				if len(p) > 8 {
					c.find(n, NotApplicable, "keepalived uses the first 8 characters of the password; so does the converted file")
					p = p[:8]
				}
				am.set("password", ystr(p))
			}
		default:
			c.other(n, "authentication")
		}
	}
	// keepalived authenticates only with both a type and a password: its
	// type is NONE until auth_type sets it, and a type without a password
	// is dropped ("Authentication specified but no password given").
	switch {
	case am.get("type") == nil && am.get("password") == nil:
		return
	case am.get("type") == nil:
		c.find(a, NotApplicable, "no auth_type: keepalived 2.2.7 sends and checks no authentication, whatever auth_pass says; "+
			"so does the converted file")
		return
	case am.get("password") == nil:
		c.find(a, NotApplicable, "keepalived 2.2.7 logs \"Authentication specified but no password given. Ignoring\" "+
			"and runs without authentication; so does the converted file")
		return
	}
	// Authentication exists only in v2; keepalived ignores it otherwise
	// (the version is not known yet here: checked after the instance).
	m.set("authentication", am.n, a.Comments...)
}

func (c *converter) syncGroup(g *Node) {
	if !c.args(g, 1, 1) {
		return
	}
	m := newMap()
	c.src[m.n] = g.Pos
	m.comment(g.Comments)
	m.set("name", ystr(g.Args[0]))
	for _, n := range g.Children {
		switch n.Key {
		case "group":
			var items []*yaml.Node
			for _, i := range n.Children {
				items = append(items, ystr(i.Key))
				for _, a := range i.Args {
					items = append(items, ystr(a))
				}
			}
			for _, a := range n.Args {
				items = append(items, ystr(a))
			}
			m.set("group", yseq(items...), n.Comments...)
		case "notify", "notify_master", "notify_backup", "notify_fault", "notify_stop":
			c.setCommand(m, n.Key, n)
		case "sync_group_tracking_weight", "global_tracking":
			m.set("sync_group_tracking_weight", ybool(true), n.Comments...)
		default:
			c.other(n, "vrrp_sync_group")
		}
	}
	if members := m.get("group"); members == nil || len(members.Content) == 0 {
		c.find(g, Unsupported, "vrrp_sync_group "+g.Args[0]+" has no group of instances: keepalived 2.2.7 removes it "+
			"(\"has no virtual router(s). removing\"); so does the converted file")
		return
	}
	c.syncGroups = append(c.syncGroups, m.n)
}

// skipCheckAdvAddr says why (vrrp_)skip_check_adv_addr needs no setting:
// keepalived skips comparing a known master's advertised addresses to
// save time; lbd compares them only to log the first mismatch and never
// drops an advert for it.
const skipCheckAdvAddr = "lbd never drops an advert because its addresses differ (it logs the first mismatch), " +
	"so there is no check to skip"

func ptr[T any](v T) *T { return &v }

// initFile converts "init_file [VALUE] [overwrite]" (keepalived creates
// the track file with VALUE, 0 by default, if it is missing, or always
// with overwrite).
func (c *converter) initFile(n *Node) *yaml.Node {
	m := newMap()
	for i, a := range n.Args {
		switch {
		case a == "overwrite":
			m.set("overwrite", ybool(true))
		case i == 0:
			v, err := strconv.ParseInt(a, 10, 32)
			if err != nil {
				c.errorf(n, "init_file: %q is not a number", a)
				return nil
			}
			m.set("value", yint(v))
		default:
			c.errorf(n, "init_file: unexpected %q", a)
			return nil
		}
	}
	return m.n
}
