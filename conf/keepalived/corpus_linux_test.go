package keepalived

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestPublicCorpus runs keepalived -t on each public configuration in
// testdata/corpus (in a network namespace holding the interfaces the file
// names) and checks that every file keepalived accepts converts to a file
// lbd accepts. Findings about programs absent from this machine aside.
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
		t.Logf("not running keepalived -t (%s): every file is taken as accepted", why)
	}
	accepted, converted := 0, 0
	for _, f := range files {
		if why == "" {
			if out, err := keepalivedCheck(f); err != nil {
				t.Logf("%s: keepalived -t refuses it (%v): %s", f, err, lastLines(out, 3))
				continue
			}
		}
		accepted++
		res, err := ImportWith(f, Options{})
		if err != nil {
			t.Errorf("%s: keepalived accepts it, the import fails:\n%v", f, err)
			continue
		}
		var bad []string
		for _, fd := range res.Findings {
			if fd.Keyword == "lbd -t" && !strings.Contains(fd.Message, "no such file") {
				bad = append(bad, fd.String())
			}
		}
		if len(bad) > 0 {
			t.Errorf("%s: the converted file does not pass validation:\n%s", f, strings.Join(bad, "\n"))
			continue
		}
		converted++
	}
	t.Logf("corpus: %d files, keepalived accepts %d, %d of those (%.0f%%) convert to a valid lbd file",
		len(files), accepted, converted, 100*float64(converted)/float64(max(accepted, 1)))
}

// keepalivedCheck runs keepalived -t -f file in a new network namespace
// with a veth pair for each interface the file names.
func keepalivedCheck(file string) (string, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", err
	}
	var script strings.Builder
	script.WriteString("set -e\nip link set lo up\n")
	for i, name := range interfaceNames(file) {
		fmt.Fprintf(&script, "ip link add %s type veth peer name lbdp%d\nip link set %s up\n", name, i, name)
	}
	fmt.Fprintf(&script, "exec keepalived -t -l -f %s\n", abs)
	out, err := exec.Command("unshare", "--net", "--mount", "sh", "-c", script.String()).CombinedOutput()
	return string(out), err
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
			case (n.Key == "interface" || n.Key == "lvs_sync_daemon_interface") && len(n.Args) > 0:
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
