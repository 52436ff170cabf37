// Package doctor is `lbd doctor`: preflight checks of the host a
// configuration will run on, each finding with the fix an operator needs —
// the problems that make keepalived setups fail silently (missing IPVS
// modules, forwarding off for NAT, strict reverse-path filtering, a
// firewall that drops VRRP, real servers without the ARP settings DR needs).
//
// It only reads: sysctls under /proc/sys, /proc files, and the firewall
// rule set as `nft list ruleset` prints it, all of the network namespace
// the daemon runs in (lbd doctor enters global.net_namespace first).
package doctor

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"

	"github.com/lbd-project/lbd/conf"
)

// Status grades a finding.
type Status int

// Statuses, worst last.
const (
	OK Status = iota
	Info
	Warn
	Fail
)

func (s Status) String() string { return [...]string{"ok", "info", "warn", "FAIL"}[s] }

// Finding is one check's outcome.
type Finding struct {
	Check  string
	Status Status
	Detail string
	Fix    string // what to run or change; empty when nothing is needed
}

// Host is what the checks read, so tests can fake a machine.
type Host interface {
	// ReadFile reads a file such as /proc/sys/net/ipv4/ip_forward.
	ReadFile(path string) ([]byte, error)
	// Ruleset returns `nft list ruleset`, or an error without nftables.
	Ruleset() (string, error)
}

// System is the real host.
type System struct{}

// ReadFile implements Host.
func (System) ReadFile(path string) ([]byte, error) { return os.ReadFile(path) }

// Ruleset implements Host.
func (System) Ruleset() (string, error) {
	out, err := exec.Command("nft", "list", "ruleset").Output()
	return string(out), err
}

// Check runs every check for cfg on h.
func Check(cfg *conf.Config, h Host) []Finding {
	var out []Finding
	out = append(out, checkIPVS(cfg, h)...)
	out = append(out, checkForwarding(cfg, h)...)
	out = append(out, checkIPVSSysctls(cfg, h)...)
	out = append(out, checkRPFilter(cfg, h)...)
	out = append(out, checkFirewall(cfg, h)...)
	out = append(out, checkRealServerARP(cfg)...)
	out = append(out, checkBGPVIPARP(cfg, h)...)
	out = append(out, checkSloppyHandover(cfg)...)
	out = append(out, checkHashFallback(cfg)...)
	return out
}

// Namespace is the finding on global.net_namespace name: the namespace the
// other checks read, or enterErr, why lbd doctor could not enter it (then
// it checks nothing else).
func Namespace(name string, enterErr error) Finding {
	if enterErr != nil {
		return Finding{Check: "network namespace", Status: Fail, Detail: enterErr.Error()}
	}
	return Finding{Check: "network namespace", Status: OK, Detail: name + " (net_namespace): the checks below read it"}
}

// Print writes the findings as a table and returns the worst status.
func Print(w io.Writer, fs []Finding) Status {
	worst := OK
	for _, f := range fs {
		fmt.Fprintf(w, "%-5s %-28s %s\n", f.Status, f.Check, f.Detail)
		if f.Fix != "" {
			fmt.Fprintf(w, "      %-28s fix: %s\n", "", f.Fix)
		}
		worst = max(worst, f.Status)
	}
	return worst
}

func sysctl(h Host, key string) (string, bool) {
	b, err := h.ReadFile("/proc/sys/" + strings.ReplaceAll(key, ".", "/"))
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

func checkIPVS(cfg *conf.Config, h Host) []Finding {
	if len(cfg.VirtualServers) == 0 {
		return nil
	}
	if _, err := h.ReadFile("/proc/net/ip_vs"); err != nil {
		return []Finding{{Check: "IPVS kernel module", Status: Fail,
			Detail: "the kernel has no IPVS (no /proc/net/ip_vs) but the configuration has virtual servers",
			Fix:    "modprobe ip_vs (and add ip_vs to /etc/modules-load.d/lbd.conf)"}}
	}
	var missing []string
	for _, s := range schedulers(cfg) {
		if _, err := h.ReadFile("/sys/module/ip_vs_" + s + "/refcnt"); err != nil {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		mods := make([]string, len(missing))
		for i, s := range missing {
			mods[i] = "ip_vs_" + s
		}
		return []Finding{{Check: "IPVS schedulers", Status: Info,
			Detail: "scheduler modules not loaded yet: " + strings.Join(missing, ", ") + " (the kernel loads them on first use)",
			Fix:    "modprobe " + strings.Join(mods, " ") + " to catch a missing module now"}}
	}
	return []Finding{{Check: "IPVS kernel module", Status: OK, Detail: "loaded"}}
}

func schedulers(cfg *conf.Config) []string {
	seen := map[string]bool{}
	for _, vs := range cfg.VirtualServers {
		seen[cmp.Or(vs.Scheduler, "wlc")] = true
	}
	var out []string
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// methods reports which forwarding methods the configuration uses.
func methods(cfg *conf.Config) map[string]bool {
	m := map[string]bool{}
	for _, vs := range cfg.VirtualServers {
		m[cmp.Or(vs.Forwarding, "NAT")] = true
		for _, rs := range vs.RealServers {
			if rs.Forwarding != "" {
				m[rs.Forwarding] = true
			}
		}
	}
	return m
}

func checkForwarding(cfg *conf.Config, h Host) []Finding {
	if !methods(cfg)["NAT"] {
		return nil
	}
	var out []Finding
	for _, key := range []string{"net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"} {
		v, ok := sysctl(h, key)
		switch {
		case !ok:
			continue
		case v != "1":
			out = append(out, Finding{Check: key, Status: Fail,
				Detail: "NAT virtual servers need forwarding for the real servers' replies",
				Fix:    "sysctl -w " + key + "=1 (and persist it in /etc/sysctl.d/)"})
		default:
			out = append(out, Finding{Check: key, Status: OK, Detail: "1"})
		}
	}
	return out
}

func checkIPVSSysctls(cfg *conf.Config, h Host) []Finding {
	if len(cfg.VirtualServers) == 0 {
		return nil
	}
	var out []Finding
	if v, ok := sysctl(h, "net.ipv4.vs.expire_nodest_conn"); ok && v != "1" {
		out = append(out, Finding{Check: "vs.expire_nodest_conn", Status: Warn,
			Detail: "connections to a removed real server are kept and their packets dropped until they time out",
			Fix:    "sysctl -w net.ipv4.vs.expire_nodest_conn=1"})
	}
	persistent := false
	for _, vs := range cfg.VirtualServers {
		persistent = persistent || vs.Persistence
	}
	if v, ok := sysctl(h, "net.ipv4.vs.expire_quiescent_template"); ok && v != "1" && persistent {
		out = append(out, Finding{Check: "vs.expire_quiescent_template", Status: Warn,
			Detail: "persistent clients stay on a drained (weight 0) real server until their template expires",
			Fix:    "sysctl -w net.ipv4.vs.expire_quiescent_template=1"})
	}
	if v, ok := sysctl(h, "net.ipv4.vs.conntrack"); ok && v != "1" && methods(cfg)["NAT"] {
		out = append(out, Finding{Check: "vs.conntrack", Status: Info,
			Detail: "IPVS keeps no conntrack entries, so firewall rules matching ct state will not see NAT traffic",
			Fix:    "sysctl -w net.ipv4.vs.conntrack=1 if your firewall uses ct state"})
	}
	// lbd sets sloppy_tcp itself, so a mismatch means it has not run yet
	// or the kernel refused it (a unit whose /proc/sys is read-only).
	if want := cfg.Global.LVSSloppyTCP; want != nil {
		if v, ok := sysctl(h, "net.ipv4.vs.sloppy_tcp"); ok && (v == "1") != *want {
			out = append(out, Finding{Check: "vs.sloppy_tcp", Status: Warn,
				Detail: fmt.Sprintf("lvs_sloppy_tcp is %v but the kernel has sloppy_tcp=%s: lbd has not set it yet, or could not "+
					"(ipvsctl status then shows NOT APPLIED: lvs_sloppy_tcp)", *want, v),
				Fix: "run lbd under the shipped unit (ReadWritePaths=-/proc/sys/net/ipv4/vs), or sysctl -w net.ipv4.vs.sloppy_tcp=" +
					map[bool]string{true: "1", false: "0"}[*want]})
		}
	}
	return out
}

// checkRPFilter warns about strict reverse-path filtering on VRRP
// interfaces, which drops adverts and VIP traffic that arrive on an
// interface other than the route back to their source.
func checkRPFilter(cfg *conf.Config, h Host) []Finding {
	var out []Finding
	seen := map[string]bool{}
	all, _ := sysctl(h, "net.ipv4.conf.all.rp_filter")
	for _, in := range cfg.VRRPInstances {
		if seen[in.Interface] {
			continue
		}
		seen[in.Interface] = true
		v, ok := sysctl(h, "net.ipv4.conf."+in.Interface+".rp_filter")
		if !ok {
			out = append(out, Finding{Check: "interface " + in.Interface, Status: Fail,
				Detail: "does not exist (vrrp instance " + in.Name + ")", Fix: "check the interface name in the configuration"})
			continue
		}
		if v == "1" || all == "1" { // the kernel uses the larger of all and the interface
			out = append(out, Finding{Check: "rp_filter " + in.Interface, Status: Warn,
				Detail: "strict reverse-path filtering can drop VRRP adverts and VIP traffic with asymmetric routes",
				Fix:    "sysctl -w net.ipv4.conf." + in.Interface + ".rp_filter=2 (loose) and net.ipv4.conf.all.rp_filter=2"})
		}
	}
	return out
}

// checkFirewall looks for an nftables input chain that drops by default
// and never accepts VRRP (IP protocol 112).
func checkFirewall(cfg *conf.Config, h Host) []Finding {
	if len(cfg.VRRPInstances) == 0 {
		return nil
	}
	rules, err := h.Ruleset()
	if err != nil {
		return []Finding{{Check: "firewall", Status: Info, Detail: "nftables rule set not readable (" + err.Error() + "); not checked"}}
	}
	for _, chain := range inputChains(rules) {
		if !strings.Contains(chain, "policy drop") {
			continue
		}
		if strings.Contains(chain, "vrrp") || strings.Contains(chain, "112") {
			continue
		}
		return []Finding{{Check: "firewall", Status: Fail,
			Detail: "an nftables input chain drops by default and has no rule for VRRP (protocol 112): backups will not hear the master",
			Fix:    "nft add rule inet filter input ip protocol vrrp accept (and ip6 nexthdr vrrp accept for IPv6)"}}
	}
	return []Finding{{Check: "firewall", Status: OK, Detail: "no input chain drops VRRP"}}
}

// inputChains returns the text of every chain hooked on input.
func inputChains(ruleset string) []string {
	var chains []string
	var cur strings.Builder
	depth := 0
	in := false
	for _, line := range strings.Split(ruleset, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "chain ") && strings.HasSuffix(t, "{") {
			in, depth = true, 0
			cur.Reset()
		}
		if in {
			cur.WriteString(t + "\n")
			depth += strings.Count(t, "{") - strings.Count(t, "}")
			if depth == 0 {
				in = false
				if strings.Contains(cur.String(), "hook input") {
					chains = append(chains, cur.String())
				}
			}
		}
	}
	return chains
}

// checkRealServerARP reminds that DR and TUN real servers must hold the VIP
// without answering ARP for it; lbd cannot read another host's sysctls.
func checkRealServerARP(cfg *conf.Config) []Finding {
	m := methods(cfg)
	if !m["DR"] && !m["TUN"] {
		return nil
	}
	return []Finding{{Check: "DR/TUN real servers", Status: Info,
		Detail: "each real server must have the VIP on lo and must not answer ARP for it (not checkable from here)",
		Fix: "on each real server: ip addr add VIP/32 dev lo; sysctl -w net.ipv4.conf.all.arp_ignore=1 " +
			"net.ipv4.conf.all.arp_announce=2; for TUN also rp_filter=0 on the tunnel interface"}}
}

// checkSloppyHandover checks the services lvs_sloppy_tcp is meant for:
// the new master schedules a connection it never saw, and only a
// consistent hash over the same destination list on every balancer sends
// it where the old master did, and only without NAT can it then carry the
// connection alone (docs/operations.md, "Handover without a lost
// connection"). Firewall-mark services are checked too: they may carry TCP.
func checkSloppyHandover(cfg *conf.Config) []Finding {
	if s := cfg.Global.LVSSloppyTCP; s == nil || !*s {
		return nil
	}
	const check = "sloppy TCP handover"
	var out []Finding
	examined := 0
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		if vs.Protocol == "UDP" || vs.Protocol == "SCTP" {
			continue
		}
		examined++
		sched, id := vs.Scheduler, vs.ID()
		if sched != "mh" && sched != "sh" {
			out = append(out, Finding{Check: check, Status: Info,
				Detail: fmt.Sprintf("%s: with scheduler %s the new master picks afresh for a connection it never saw, "+
					"often not the old master's real server (the connection is then reset)", id, sched),
				Fix: "scheduler: mh with scheduler_flags: [mh-port, mh-fallback] and inhibit_on_failure: true"})
			continue
		}
		var removed, nat []string
		for j := range vs.RealServers {
			rs := &vs.RealServers[j]
			if !vs.Inhibit(rs) {
				removed = append(removed, rs.Key())
			}
			if cmp.Or(rs.Forwarding, vs.Forwarding) == "NAT" {
				nat = append(nat, rs.Key())
			}
		}
		if len(removed) > 0 {
			out = append(out, Finding{Check: check, Status: Warn,
				Detail: fmt.Sprintf("%s: removed when they fail, real servers come back at the head of the kernel's list, "+
					"so each balancer's order, and its %s table, comes to depend on its own history (%s)", id, sched, strings.Join(removed, ", ")),
				Fix: "inhibit_on_failure: true (a failed server keeps its place with weight 0)"})
		}
		if len(nat) > 0 {
			out = append(out, Finding{Check: check, Status: Warn,
				Detail: fmt.Sprintf("%s: with NAT a real server's reply that reaches the new master before the client's next packet "+
					"goes out untranslated, so connections can still fail in a handover (%s)", id, strings.Join(nat, ", ")),
				Fix: "forwarding: DR (or TUN): the real servers answer the client directly"})
		}
	}
	if examined == 0 {
		return nil
	}
	if len(out) == 0 {
		out = append(out, Finding{Check: check, Status: OK,
			Detail: "every TCP service hashes consistently, keeps failed real servers in place and forwards without NAT"})
	}
	return out
}

// checkHashFallback finds hashing schedulers without their fallback flag.
// While a real server's weight is 0 (a drain, inhibit_on_failure), mh keeps
// its slots (from its last non-zero weight) and sh still gives it one
// bucket per round; without the flag both refuse the clients that hash
// there instead of hashing them on to a live server.
func checkHashFallback(cfg *conf.Config) []Finding {
	var out []Finding
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		sched := vs.Scheduler
		if sched != "mh" && sched != "sh" || slices.Contains(vs.SchedulerFlags, sched+"-fallback") {
			continue
		}
		out = append(out, Finding{Check: "hash fallback", Status: Warn,
			Detail: fmt.Sprintf("%s: %s without %s-fallback refuses the clients that hash to a real server "+
				"while its weight is 0 (drained, or failed with inhibit_on_failure)", vs.ID(), sched, sched),
			Fix: fmt.Sprintf("scheduler_flags: [%s-fallback] (with %s-port to hash the client's port too)", sched, sched)})
	}
	return out
}

// checkBGPVIPARP warns when this balancer would answer ARP for the
// addresses it announces over BGP: they are local (on bgp.vip_interface),
// and with arp_ignore=0 Linux answers for a local address on every
// interface, so a host on the LAN could send the VIP's traffic here
// instead of through the routers.
func checkBGPVIPARP(cfg *conf.Config, h Host) []Finding {
	announced := false
	for i := range cfg.VirtualServers {
		announced = announced || cfg.VirtualServers[i].AnnouncesBGP()
	}
	if !announced {
		return nil
	}
	const check = "ARP for BGP VIPs"
	v, ok := sysctl(h, "net.ipv4.conf.all.arp_ignore")
	if ok && v == "0" {
		return []Finding{{Check: check, Status: Warn,
			Detail: "net.ipv4.conf.all.arp_ignore=0: this balancer answers ARP on every interface for the VIPs on " +
				cfg.BGP.VIPInterface + ", which only the routers should reach",
			Fix: "sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2"}}
	}
	return []Finding{{Check: check, Status: OK, Detail: "the announced VIPs are not answered for in ARP"}}
}
