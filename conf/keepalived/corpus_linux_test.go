package keepalived

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// keepalivedVerdicts lists the corpus files keepalived 2.2.7's -t does not
// pass cleanly, with a piece of what it says. warns: it logs problems and
// runs the file anyway, having dropped or changed what it names (exit 5,
// or 6 for script security); refuses: it exits (1 or 2). A file not
// listed must pass keepalived -t, so the list stays honest both ways.
var keepalivedVerdicts = map[string]struct {
	refuses bool
	reason  string
}{
	"SSL_GET.conf":                         {false, "Initial state master is incompatible with AH authentication"},
	"conditional_conf.conf":                {false, "No script set for vrrp_script check_VI_0 - removing"},
	"fwmark.conf":                          {false, "protocol specified for fwmark - protocol will be ignored"},
	"track_interface.conf":                 {false, "cannot track route 192.168.112.0/24 with no interface specified"},
	"vrrp.localcheck.conf":                 {false, "SECURITY VIOLATION - scripts are being executed but script_security not enabled"},
	"vrrp.lvs_syncd.conf":                  {false, "Sync group VG1 has no virtual router(s). removing"},
	"vrrp.routes.conf":                     {false, "\"gw\" for routes is deprecated"},
	"vrrp.rules.conf":                      {false, "VRRP parsed invalid IP 192.168.200./24"},
	"vrrp.static_ipaddress.conf":           {false, "cannot track route 192.168.112.0/24 with no interface specified"},
	"ansible-keepalived-lvs.conf":          {false, "nb_get_retry is deprecated"},
	"ansible-keepalived-vrrp.conf":         {false, "ignoring tracked script haproxy_check_script with weights due to SYNC group"},
	"augeas-test_keepalived.conf":          {true, "Configuration line starting `preempt_delay` is missing a parameter"},
	"keepalived-0.x-sample.conf":           {false, "Unknown keyword 'nat_mask'"},
	"keepalived-0.x-vrrp.conf":             {false, "Unknown keyword 'sync_instance'"},
	"keepalived-HTTP_GET.auth.conf":        {false, "Unknown keyword 'tls_compliant'"},
	"keepalived-HTTP_GET.auth.simple.conf": {false, "Unknown keyword 'username'"},
	"keepalived-ci-linux.conf":             {false, "Unknown keyword 'CI-LINUX'"},
	"keepalived-confread.conf":             {false, "nb_get_retry is deprecated"},
	"keepalived-etc-default.conf":          {false, "vrrp_gna_interval '0' is invalid"},
	"keepalived-failover_pool.conf":        {false, "Unknown keyword 'failover_threshold'"},
	"keepalived-howto-nat-ssh-backup.conf": {false, "Unknown keyword 'lvs_sync_daemon_inteface'"},
	"keepalived-howto-nat-ssh-master.conf": {false, "Unknown keyword 'lvs_sync_daemon_inteface'"},
	"keepalived-howto-nat-web.conf":        {false, "Unknown keyword 'lvs_sync_daemon_inteface'"},
	"keepalived-howto-proxyarp.conf":       {false, "Specifying lvs_sync_daemon_interface against a vrrp is deprecated"},
	"keepalived-real_server_group.conf":    {false, "Unknown keyword 'real_server_group'"},
	"keepalived-routes.conf":               {false, "Unknown keyword 'static_route'"},
	"kube-keepalived-vip-lvs.conf":         {false, "iptables not supported, using nftables instead"},
	"kube-keepalived-vip-proxy.conf":       {false, "notify script already specified - ignoring /keepalived-check.sh"},
	"neutron-2015-unit.conf":               {false, "Initial state master is incompatible with AH authentication"},
	"neutron-l3-functional.conf":           {false, "Cannot specify scope for IPv6 addresses"},
	"neutron-unit.conf":                    {false, "Initial state master is incompatible with AH authentication"},
	"octavia-vrrp-212.conf":                {false, "VRRP version 3 does not support authentication"},
	"octavia-vrrp-66.conf":                 {false, "Truncating auth_pass to 8 characters"},
	"keepalived-json_tracking.conf":        {false, "A unicast keyword has been specified without any unicast peers. Defaulting to multicast"},
	"octavia-2015-vrrp.conf":               {false, "Truncating auth_pass to 8 characters"},
	"openshift-mco-keepalived.conf":        {false, "Truncating auth_pass to 8 characters"},
}

// importRefusals are files keepalived runs that the import refuses on
// purpose, with a piece of the error: an unknown keyword that opens a
// block, whose lines keepalived then reads as the enclosing block's own
// and whose '}' ends the enclosing block.
var importRefusals = map[string]string{
	"keepalived-failover_pool.conf":     `unknown keyword "backup_real_server" in virtual_server opens a block`,
	"keepalived-real_server_group.conf": `unknown keyword "real_server_group" in the top level opens a block`,
	"keepalived-routes.conf":            `unknown keyword "static_route" in the top level opens a block`,
}

// absentScript matches what keepalived -t says about a script that is not
// on this machine; like lbd -t's "no such file", it is no verdict on the
// file.
var absentScript = regexp.MustCompile(`since not found/accessible|No such file or directory|script .* (does not exist|not accessible)`)

// keepalivedLine is the file position a keepalived message names.
var keepalivedLine = regexp.MustCompile(`\((?:([^():]+): )?Line (\d+)\)`)

// TestPublicCorpus runs keepalived -t on each public configuration in
// testdata/corpus (sources in testdata/corpus/SOURCES), in a network
// namespace holding the interfaces the file names, and converts each file
// keepalived runs. A file keepalived accepts, with or without warnings,
// must convert to a file lbd accepts (programs absent from this machine
// aside), and every line keepalived warns about must have a finding:
// keepalived changed or dropped something there, and the converted file
// must say what it did instead.
func TestPublicCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/corpus/*.conf")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	required := os.Getenv("LBD_LAB_REQUIRED") == "1"
	why := ""
	if _, err := exec.LookPath("keepalived"); err != nil {
		why = "keepalived is not installed"
	} else if os.Geteuid() != 0 {
		why = "keepalived -t needs root for its network namespace"
	} else if _, err := exec.LookPath("unshare"); err != nil {
		why = "unshare is not installed"
	}
	if why != "" && required {
		t.Fatalf("LBD_LAB_REQUIRED=1: %s", why)
	}
	if why != "" {
		t.Logf("not running keepalived -t (%s): keepalivedVerdicts taken as its verdicts", why)
	}
	seen := map[string]bool{}
	accepted, warned, refused, converted := 0, 0, 0, 0
	for _, f := range files {
		name := filepath.Base(f)
		seen[name] = true
		verdict, listed := keepalivedVerdicts[name]
		out, code := "", 0
		if why == "" {
			out, code = keepalivedCheck(t, f)
		} else if listed {
			out, code = verdict.reason, 5
			if verdict.refuses {
				code = 2
			}
		}
		switch {
		case !listed && code != 0:
			t.Errorf("%s: keepalived -t exits %d, and the file is not in keepalivedVerdicts: %s", name, code, lastLines(out, 4))
			continue
		case listed && code == 0:
			t.Errorf("%s: keepalivedVerdicts says keepalived -t complains (%q), but it passes", name, verdict.reason)
			continue
		case listed && !strings.Contains(out, verdict.reason):
			t.Errorf("%s: keepalived -t exits %d without saying %q:\n%s", name, code, verdict.reason, out)
			continue
		case listed && verdict.refuses != (code == 1 || code == 2):
			t.Errorf("%s: keepalived -t exits %d; keepalivedVerdicts has refuses=%v", name, code, verdict.refuses)
			continue
		case listed && verdict.refuses:
			refused++
			continue
		case listed:
			warned++
		default:
			accepted++
		}
		res, err := ImportWith(f, Options{})
		if want, ok := importRefusals[name]; ok {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: the import should refuse it with %q; it returns %v", name, want, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: keepalived runs it, the import fails:\n%v", name, err)
			continue
		}
		var bad []string
		lines := map[int]bool{}
		ends := blockEnds(f)
		for _, fd := range res.Findings {
			if fd.Pos.File == f {
				lines[fd.Pos.Line] = true
				// keepalived checks a block's settings together at its
				// '}': a finding about the block or one of its
				// keywords answers what it says there.
				if end, ok := ends[fd.Pos.Line]; ok {
					lines[end] = true
				}
			}
			if fd.Keyword == "lbd -t" && !strings.Contains(fd.Message, "no such file") {
				bad = append(bad, fd.String())
			}
		}
		if len(bad) > 0 {
			t.Errorf("%s: the converted file does not pass validation:\n%s", name, strings.Join(bad, "\n"))
			continue
		}
		for _, l := range warnedLines(out, f) {
			if !lines[l] {
				t.Errorf("%s:%d: keepalived -t warns about this line and the import has no finding there (a silent difference):\n%s",
					name, l, grepLine(out, l))
			}
		}
		converted++
	}
	for name := range keepalivedVerdicts {
		if !seen[name] {
			t.Errorf("keepalivedVerdicts names %s, which is not in testdata/corpus", name)
		}
	}
	for name := range importRefusals {
		if !seen[name] {
			t.Errorf("importRefusals names %s, which is not in testdata/corpus", name)
		}
	}
	runs := accepted + warned
	fmt.Printf("import_corpus files=%d keepalived_accepts=%d with_warnings=%d keepalived_refuses=%d converted=%d rate=%.2f\n",
		len(files), runs, warned, refused, converted, float64(converted)/float64(max(runs, 1)))
}

// keepalivedCheck runs keepalived -t -f file in a new network namespace
// with a veth pair for each interface the file names. It returns
// keepalived's output and exit code; an exit caused only by scripts absent
// from this machine counts as 0.
func keepalivedCheck(t *testing.T, file string) (string, int) {
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	var script strings.Builder
	script.WriteString("set -e\nip link set lo up\n")
	for i, name := range interfaceNames(file) {
		fmt.Fprintf(&script, "ip link add %s type veth peer name lbdp%d\nip link set %s up\n", name, i, name)
	}
	fmt.Fprintf(&script, "exec keepalived -t -l -f %s\n", abs)
	outb, err := exec.Command("unshare", "--net", "--mount", "sh", "-c", script.String()).CombinedOutput()
	out := string(outb)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s: %v", file, err)
	}
	code := 0
	if ee != nil {
		code = ee.ExitCode()
	}
	if code == 5 && onlyAbsentScripts(out) {
		code = 0
	}
	return out, code
}

// onlyAbsentScripts reports whether every problem keepalived -t logged is
// a script missing from this machine. keepalived -t logs nothing but
// problems (and, at the end, nothing at all when there are none).
func onlyAbsentScripts(out string) bool {
	any := false
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		if !absentScript.MatchString(l) {
			return false
		}
		any = true
	}
	return any
}

// blockEnds maps the line of each block in file, and of each keyword
// directly in it, to the line of the block's '}'.
func blockEnds(file string) map[int]int {
	m := map[int]int{}
	nodes, err := ParseFile(file, ParseOptions{})
	if err != nil {
		return m
	}
	var walk func([]*Node)
	walk = func(ns []*Node) {
		for _, n := range ns {
			if n.Block && n.Pos.File == file && n.End.File == file {
				m[n.Pos.Line] = n.End.Line
				for _, k := range n.Children {
					if _, ok := m[k.Pos.Line]; !ok && k.Pos.File == file {
						m[k.Pos.Line] = n.End.Line
					}
				}
			}
			walk(n.Children)
		}
	}
	walk(nodes)
	return m
}

// warnedLines lists the lines of file that keepalived's output names.
func warnedLines(out, file string) []int {
	abs, _ := filepath.Abs(file)
	set := map[int]bool{}
	for _, m := range keepalivedLine.FindAllStringSubmatch(out, -1) {
		if m[1] != "" && m[1] != abs {
			continue
		}
		if n, err := strconv.Atoi(m[2]); err == nil {
			set[n] = true
		}
	}
	var lines []int
	for n := range set {
		lines = append(lines, n)
	}
	sort.Ints(lines)
	return lines
}

func grepLine(out string, line int) string {
	var b strings.Builder
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, fmt.Sprintf("Line %d)", line)) {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// interfaceNames lists the interfaces a configuration names.
func interfaceNames(file string) []string {
	nodes, err := ParseFile(file, ParseOptions{})
	if err != nil {
		return nil
	}
	set := map[string]bool{}
	var walk func([]*Node, string)
	walk = func(ns []*Node, parent string) {
		for _, n := range ns {
			switch {
			case (n.Key == "interface" || n.Key == "lvs_sync_daemon_interface" || n.Key == "default_interface") && len(n.Args) > 0:
				set[n.Args[0]] = true
			case n.Key == "lvs_sync_daemon" && len(n.Args) > 0:
				set[n.Args[0]] = true
			case parent == "track_interface" || parent == "interfaces":
				set[n.Key] = true
			}
			for i := 0; i+1 < len(n.Args); i++ {
				if n.Args[i] == "dev" || n.Args[i] == "oif" || n.Args[i] == "iif" {
					set[n.Args[i+1]] = true
				}
			}
			walk(n.Children, n.Key)
		}
	}
	walk(nodes, "")
	var names []string
	for n := range set {
		if n != "lo" && len(n) < 16 && !strings.ContainsAny(n, " \t;&|$`'\"\\/") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, " | ")
}
