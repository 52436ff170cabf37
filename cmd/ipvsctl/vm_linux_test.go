package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/lbd-project/lbd/internal/lab"
)

// baseTable is a table with every kind of service and destination, set
// up with the real ipvsadm before the listing cases.
var baseTable = [][]string{
	{"-A", "-t", "203.0.113.12:80", "-s", "rr"},
	{"-a", "-t", "203.0.113.12:80", "-r", "203.0.113.18", "-w", "70000"},
	{"-a", "-t", "203.0.113.12:80", "-r", "192.0.2.19:8080", "-m", "-w", "2147483647"},
	{"-a", "-t", "203.0.113.12:80", "-r", "192.0.2.46", "-x", "10", "-y", "5"},
	{"-a", "-t", "203.0.113.12:80", "-r", "198.51.100.20", "-i", "-w", "0"},
	{"-A", "-t", "198.51.100.47:443", "-s", "sh", "-b", "sh-port,sh-fallback"},
	{"-a", "-t", "198.51.100.47:443", "-r", "203.0.113.48", "-m"},
	{"-a", "-t", "198.51.100.47:443", "-r", "192.0.2.16", "-m"},
	{"-A", "-t", "198.51.100.14:0", "-p", "60", "-M", "255.255.0.0"},
	{"-A", "-u", "198.51.100.14:53", "-o", "-s", "lc"},
	{"-a", "-u", "198.51.100.14:53", "-r", "203.0.113.21", "-m"},
	{"-A", "--sctp-service", "203.0.113.15:5060", "-s", "wrr", "-p", "--pe", "sip"},
	{"-A", "-t", "[2001:db8::1]:443", "-s", "mh", "-b", "mh-port", "-p"},
	{"-a", "-t", "[2001:db8::1]:443", "-r", "[2001:db8::2]:443", "-m"},
	{"-a", "-t", "[2001:db8::1]:443", "-r", "[2001:db8:ffff::2]:443", "-m", "-w", "3"},
	{"-A", "-u", "[::ffff:0:198.51.100.11]:53", "-p", "100", "-M", "64"},
	{"-A", "-f", "2882430849", "-6"},
	{"-a", "-f", "2882430849", "-6", "-r", "2001:db8::3", "-i", "--tun-type", "gue", "--tun-port", "6080", "--tun-csum"},
	{"-a", "-f", "2882430849", "-6", "-r", "2001:db8::4", "-i", "--tun-type", "gre"},
	{"-a", "-f", "2882430849", "-6", "-r", "203.0.113.45", "-i"},
	{"-A", "-f", "1", "-s", "dh"},
	{"-a", "-f", "1", "-r", "203.0.113.18:80", "-m"},
	{"-A", "-f", "7", "-s", "wlc", "-p", "3600", "-M", "255.255.255.0"},
	{"-A", "-t", "127.0.0.1:22", "-s", "rr"},
	{"-a", "-t", "127.0.0.1:22", "-r", "127.0.0.1"},
}

type vmCase struct {
	name  string
	setup [][]string // run with ipvsadm before the command, on an empty table
	args  []string
	stdin string
}

func vmCases() []vmCase {
	list := func(name string, args ...string) vmCase {
		return vmCase{name: name, setup: baseTable, args: args}
	}
	cmd := func(name string, args ...string) vmCase { return vmCase{name: name, args: args} }
	cmdOn := func(name string, args ...string) vmCase {
		return vmCase{name: name, setup: baseTable, args: args}
	}
	restore := func(name, stdin string) vmCase {
		return vmCase{name: name, setup: baseTable[:3], args: []string{"-R"}, stdin: stdin}
	}
	return []vmCase{
		cmd("help", "-h"),
		cmd("help long", "--help", "--bogus"),
		cmd("version", "-v"),
		cmd("version long", "--version"),
		list("bare"),
		list("L n", "-L", "-n"),
		list("L names", "-L"),
		list("l numeric long", "--list", "--numeric"),
		list("Ln cluster", "-Ln"),
		list("S", "-S"),
		list("S n", "-S", "-n"),
		list("save long", "--save", "--numeric"),
		list("stats", "-L", "-n", "--stats"),
		list("stats exact", "-L", "-n", "--stats", "--exact"),
		list("rate", "-L", "-n", "--rate"),
		list("thresholds", "-L", "-n", "--thresholds"),
		list("persistent-conn", "-L", "-n", "--persistent-conn"),
		list("tun-info", "-L", "-n", "--tun-info"),
		list("nosort", "-L", "-n", "--nosort"),
		list("sort", "-L", "-n", "--sort"),
		list("service", "-L", "-n", "-t", "203.0.113.12:80"),
		list("service names", "-L", "-t", "203.0.113.12:http"),
		list("service fwmark", "-L", "-n", "-f", "2882430849", "-6", "--tun-info"),
		list("service missing", "-L", "-n", "-t", "198.51.100.17:80"),
		list("service stats", "-L", "-n", "-u", "198.51.100.14:53", "--stats"),
		list("conn", "-L", "-n", "-c"),
		list("conn pc", "-L", "-n", "-c", "--persistent-conn"),
		list("timeout", "-L", "--timeout"),
		list("daemon", "-L", "--daemon"),
		cmd("set timeouts", "--set", "10", "0", "30"),
		cmd("set bad", "--set", "10", "x", "30"),
		cmd("set 2", "--set", "1", "2"),
		cmd("set 4", "--set", "1", "2", "3", "4"),
		cmd("set n", "--set", "1", "2", "3", "-n"),
		cmd("add", "-A", "-t", "203.0.113.27:80"),
		cmd("add sched", "--add-service", "--tcp-service", "203.0.113.27:80", "--scheduler", "wrr", "--persistent", "--netmask", "255.255.255.128"),
		cmd("add p attached", "-A", "-t", "203.0.113.27:80", "-p30"),
		cmd("add p long eq", "-A", "-t", "203.0.113.27:80", "--persistent=45"),
		cmd("add p next", "-A", "-t", "203.0.113.27:80", "-p", "45"),
		cmd("add p dash", "-A", "-t", "203.0.113.27:80", "-p", "-s", "rr"),
		cmd("add p zero", "-A", "-t", "203.0.113.27:80", "-p", "0"),
		cmd("add p big", "-A", "-t", "203.0.113.27:80", "-p", "2678401"),
		cmd("add At cluster", "-At", "203.0.113.27:80"),
		cmd("add service name", "-A", "-u", "203.0.113.27:domain"),
		cmd("add bad service name", "-A", "-u", "203.0.113.27:nosuchservice"),
		cmd("add host name", "-A", "-t", "labhost:80"),
		cmd("add bad host", "-A", "-t", "nosuchhost.invalid:80"),
		cmd("add digits", "-A", "-t", "80"),
		cmd("add no port", "-A", "-t", "203.0.113.27"),
		cmd("add zero port", "-A", "-t", "203.0.113.27:0"),
		cmd("add zero port p", "-A", "-t", "203.0.113.27:0", "-p"),
		cmd("add v6 no port", "-A", "-t", "2001:db8::5"),
		cmd("add v6 bracket no port", "-A", "-t", "[2001:db8::5]"),
		cmd("add v4 bracket", "-A", "-t", "[203.0.113.27]:80"),
		cmd("add inet_aton", "-A", "-t", "10.1:80"),
		cmd("add hex", "-A", "-t", "0x0a.0.0.1:0x50"),
		cmd("add port plus", "-A", "-t", "203.0.113.27:+80"),
		cmd("add port big", "-A", "-t", "203.0.113.27:65536"),
		cmd("add ops tcp", "-A", "-t", "203.0.113.27:80", "-o"),
		cmd("add ops udp", "-A", "-u", "203.0.113.27:80", "-o"),
		cmd("add ops fwmark", "-A", "-f", "5", "-o"),
		cmd("add fwd", "-A", "-t", "203.0.113.27:80", "-m"),
		cmd("add weight", "-A", "-t", "203.0.113.27:80", "-w", "1"),
		cmd("add sched unknown", "-A", "-t", "203.0.113.27:80", "-s", "nosuch"),
		cmd("add pe unknown", "-A", "-t", "203.0.113.27:80", "--pe", "nosuch"),
		cmd("add sched flags bad", "-A", "-t", "203.0.113.27:80", "-b", "sh-port"),
		cmd("add sched flags invalid", "-A", "-t", "203.0.113.27:80", "-s", "sh", "-b", "foo"),
		cmd("add sched flags mh", "-A", "-t", "203.0.113.27:80", "-s", "mh", "-b", "mh-fallback"),
		cmd("add two services", "-A", "-t", "203.0.113.27:80", "-u", "203.0.113.27:80"),
		cmd("add two sched", "-A", "-t", "203.0.113.27:80", "-s", "rr", "-s", "wrr"),
		cmd("add 6 before f", "-A", "-t", "203.0.113.27:80", "-6"),
		cmd("add fwmark bad", "-A", "-f", "0"),
		cmd("add fwmark junk", "-A", "-f", "12x"),
		cmd("add fwmark v6", "-A", "-f", "12", "-6", "-p", "-M", "48"),
		cmd("add fwmark v6 mask bad", "-A", "-f", "12", "-6", "-M", "255.255.255.0"),
		cmd("add mask bad", "-A", "-t", "203.0.113.27:80", "-M", "nosuch.invalid"),
		cmd("add no command", "-t", "203.0.113.27:80"),
		cmd("no args but junk", "foo"),
		cmd("junk then list", "foo", "-L"),
		cmd("double dash", "-L", "--", "-n"),
		cmdOn("add exists", "-A", "-t", "203.0.113.12:80"),
		cmdOn("edit", "-E", "-t", "203.0.113.12:80", "-s", "wlc", "-p", "20"),
		cmdOn("edit missing", "-E", "-t", "192.0.2.13:80"),
		cmdOn("edit clears", "-E", "-u", "198.51.100.14:53"),
		cmdOn("delete", "-D", "-t", "203.0.113.12:80"),
		cmdOn("delete missing", "-D", "-t", "192.0.2.13:80"),
		cmdOn("delete fwmark", "-D", "-f", "2882430849", "-6"),
		cmdOn("delete with s", "-D", "-t", "203.0.113.12:80", "-s", "rr"),
		cmdOn("clear", "-C"),
		cmdOn("clear extra", "-C", "-n"),
		cmdOn("zero", "-Z"),
		cmdOn("zero service", "-Z", "-t", "203.0.113.12:80"),
		cmdOn("zero missing", "-Z", "-t", "192.0.2.13:80"),
		cmdOn("add dest", "-a", "-t", "203.0.113.12:80", "-r", "192.0.2.22:81", "-m", "-w", "5", "-x", "100", "-y", "50"),
		cmdOn("add dest dr port", "-a", "-t", "203.0.113.12:80", "-r", "192.0.2.22:81"),
		cmdOn("add dest exists", "-a", "-t", "203.0.113.12:80", "-r", "203.0.113.18"),
		cmdOn("add dest no service", "-a", "-t", "192.0.2.13:80", "-r", "203.0.113.18"),
		cmdOn("add dest multicast", "-a", "-t", "203.0.113.12:80", "-r", "224.0.0.1"),
		cmdOn("add dest thresholds", "-a", "-t", "203.0.113.12:80", "-r", "198.51.100.23", "-y", "5"),
		cmdOn("add dest weight big", "-a", "-t", "203.0.113.12:80", "-r", "198.51.100.23", "-w", "2147483648"),
		cmdOn("add dest weight neg", "-a", "-t", "203.0.113.12:80", "-r", "198.51.100.23", "-w", "-1"),
		cmdOn("add dest family", "-a", "-t", "203.0.113.12:80", "-r", "[2001:db8::9]:80", "-m"),
		cmdOn("add dest family tun", "-a", "-t", "203.0.113.12:80", "-r", "[2001:db8::9]:80", "-i"),
		cmdOn("add dest tun opts", "-a", "-t", "203.0.113.12:80", "-r", "203.0.113.24", "--tun-type", "gue"),
		cmdOn("add dest gue no port", "-a", "-t", "203.0.113.12:80", "-r", "203.0.113.24", "-i", "--tun-type", "gue"),
		cmdOn("add dest gue", "-a", "-t", "203.0.113.12:80", "-r", "203.0.113.24", "-i", "--tun-type", "gue", "--tun-port", "5555", "--tun-remcsum"),
		cmdOn("add dest gre remcsum", "-a", "-t", "203.0.113.12:80", "-r", "203.0.113.24", "-i", "--tun-type", "gre", "--tun-remcsum"),
		cmdOn("add dest gre csum conflict", "-a", "-t", "203.0.113.12:80", "-r", "203.0.113.24", "-i", "--tun-type", "gre", "--tun-csum", "--tun-nocsum"),
		cmdOn("add dest ipip port", "-a", "-t", "203.0.113.12:80", "-r", "203.0.113.24", "-i", "--tun-type", "ipip", "--tun-port", "1"),
		cmdOn("add dest bad tun type", "-a", "-t", "203.0.113.12:80", "-r", "203.0.113.24", "-i", "--tun-type", "vxlan"),
		cmdOn("add dest no r", "-a", "-t", "203.0.113.12:80"),
		cmdOn("add dest bad r", "-a", "-t", "203.0.113.12:80", "-r", "nosuch.invalid"),
		cmdOn("add dest r first", "-a", "-r", "192.0.2.25", "-m", "-t", "203.0.113.12:80"),
		cmdOn("edit dest", "-e", "-t", "203.0.113.12:80", "-r", "192.0.2.19:8080", "-w", "9"),
		cmdOn("edit dest missing", "-e", "-t", "203.0.113.12:80", "-r", "198.51.100.26"),
		cmdOn("edit dest no service", "-e", "-t", "192.0.2.13:80", "-r", "198.51.100.26"),
		cmdOn("delete dest", "-d", "-t", "203.0.113.12:80", "-r", "192.0.2.19:8080"),
		cmdOn("delete dest missing", "-d", "-t", "203.0.113.12:80", "-r", "198.51.100.26"),
		cmdOn("delete dest w", "-d", "-t", "203.0.113.12:80", "-r", "192.0.2.19:8080", "-w", "1"),
		cmd("start daemon no if", "--start-daemon", "master"),
		cmd("start daemon", "--start-daemon", "master", "--mcast-interface", "eth0", "--syncid", "7"),
		cmd("start daemon full", "--start-daemon", "backup", "--mcast-interface", "eth0", "--syncid", "9",
			"--mcast-group", "239.1.1.1", "--mcast-port", "9999", "--mcast-ttl", "3", "--sync-maxlen", "1000"),
		cmd("start daemon bad", "--start-daemon", "slave"),
		cmd("start daemon bad group", "--start-daemon", "master", "--mcast-group", "203.0.113.12"),
		cmd("start daemon bad syncid", "--start-daemon", "master", "--syncid", "256"),
		cmd("stop daemon none", "--stop-daemon", "master"),
		cmd("stop daemon bad", "--stop-daemon", "x"),
		cmd("list after start", "-L", "--start-daemon", "master"),
		cmd("bad option", "-L", "--foo"),
		cmd("bad first option", "--foo"),
		cmd("bad cluster", "-Lq"),
		cmd("unwanted arg", "-L", "--numeric=1"),
		cmd("first unwanted", "-L=1"),
		cmd("missing arg", "-L", "-t"),
		cmd("list junk", "-L", "foo"),
		cmd("list conflicts", "-L", "-c", "--stats"),
		cmd("list conflicts 2", "-L", "--timeout", "--persistent-conn"),
		cmd("list exclusive", "-L", "-c", "--timeout"),
		cmd("list -h later", "-L", "-h"),
		cmd("multiple n", "-L", "-n", "-n"),
		cmd("save with c", "-S", "-c"),
		cmd("restore in args", "-R", "-n"),
		restore("restore simple", "-A -t 192.0.2.28:80 -s rr\n-a -t 192.0.2.28:80 -r 198.51.100.41 -m -w 3\n"),
		restore("restore ipvsadm words", "ipvsadm -A -t 192.0.2.28:80\n\n  -a -t 192.0.2.28:80 -r 198.51.100.41 ipvsadm\n"),
		restore("restore comment", "-A -t 192.0.2.28:80\n# comment\n-A -t 203.0.113.33:80\n"),
		restore("restore exists last ok", "-A -t 203.0.113.12:80\n-A -t 198.51.100.35:80\n"),
		restore("restore exists last bad", "-A -t 198.51.100.35:80\n-A -t 203.0.113.12:80\n"),
		restore("restore parse error stops", "-A -t 192.0.2.34:80\n-A -t 203.0.113.36:80 -x 1\n-A -t 192.0.2.37:80\n"),
		restore("restore delete and readd", "-D -t 203.0.113.12:80\n-A -t 203.0.113.12:80 -s wlc\n-a -t 203.0.113.12:80 -r 203.0.113.18\n"),
		restore("restore edit", "-E -t 203.0.113.12:80 -s lc\n-e -t 203.0.113.12:80 -r 203.0.113.18 -w 4\n"),
		restore("restore dest errors", "-a -t 198.51.100.44:80 -r 203.0.113.18\n-e -t 203.0.113.12:80 -r 203.0.113.45\n-d -t 203.0.113.12:80 -r 203.0.113.45\n-a -t 203.0.113.12:80 -r 203.0.113.18\n"),
		restore("restore clear", "-C\n-A -t 198.51.100.38:80\n"),
		restore("restore list", "-A -t 203.0.113.39:80\n-L -n\n-a -t 203.0.113.39:80 -r 198.51.100.41\n"),
		restore("restore no newline", "-A -t 192.0.2.40:80"),
		restore("restore trailing blanks", "-A -t 192.0.2.40:80\n-A -t 198.51.100.29:80  "),
		restore("restore crlf", "-A -t 192.0.2.40:80\r\n-a -t 192.0.2.40:80 -r 198.51.100.41\r\n"),
		restore("restore nested", "-R\n"),
		restore("restore help", "-A -t 203.0.113.30:80\n-h\n-A -t 192.0.2.31:80\n"),
		restore("restore sched unknown", "-A -t 198.51.100.32:80 -s nosuch\n"),
		restore("restore empty", ""),
	}
}

// realIpvsadm runs Debian's ipvsadm.
func realIpvsadm(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command("ipvsadm", args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("ipvsadm %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// ipvsctl runs run() in-process, named ipvsadm so messages match.
func ipvsctl(stdin string, args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"ipvsadm"}, args...), strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

// resetKernel empties the table, restores the default timeouts, stops the
// sync daemons and runs setup, all in one ipvsadm -R (execs are slow in
// the emulated VM).
func resetKernel(t *testing.T, setup [][]string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("-C\n--set 900 120 300\n--stop-daemon master\n--stop-daemon backup\n")
	for _, args := range setup {
		b.WriteString(strings.Join(args, " ") + "\n")
	}
	if _, stderr, _ := realIpvsadm(t, b.String(), "-R"); strings.Trim(strings.ReplaceAll(stderr, "No daemon is running\n", ""), "\n") != "" {
		t.Fatalf("setup: %s", stderr)
	}
}

// state is everything a command may change.
func state(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("sh", "-c", "ipvsadm -S -n; ipvsadm -L --timeout; ipvsadm -L --daemon").Output()
	if err != nil {
		t.Fatalf("state: %v", err)
	}
	return string(out)
}

// prepareVM gives the VM the files name lookups read and an eth0 for the
// sync daemon.
func prepareVM(t *testing.T) {
	t.Helper()
	files := map[string]string{
		"/etc/nsswitch.conf": "hosts: files\nservices: files\n",
		"/etc/hosts":         "127.0.0.1 localhost\n203.0.113.12 vip1.example.org vip1\n203.0.113.18 rs1\n203.0.113.42 labhost\n2001:db8::2 rs6.example.org\n192.0.2.19 a-very-long-real-server-name.example.org\n",
		"/etc/services":      "ssh 22/tcp\nhttp 80/tcp www\nhttp 80/udp\ndomain 53/tcp\ndomain 53/udp\nhttps 443/tcp\nsip 5060/sctp\nwebcache 8080/tcp\n",
	}
	for name, data := range files {
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("ip", "link", "add", "eth0", "type", "dummy").CombinedOutput(); err != nil {
		t.Logf("ip link add eth0: %v: %s", err, out)
	}
	exec.Command("ip", "link", "set", "eth0", "up").Run()
}

// TestVMIpvsadmCompat runs ipvsadm and ipvsctl side by side on the VM's
// kernel and requires identical stdout, stderr, exit status and resulting
// kernel state.
func TestVMIpvsadmCompat(t *testing.T) {
	if !lab.RunInVM(t, lab.VMOptions{}) {
		return
	}
	prepareVM(t)
	for _, c := range vmCases() {
		t.Run(c.name, func(t *testing.T) {
			resetKernel(t, c.setup)
			wantOut, wantErr, wantCode := realIpvsadm(t, c.stdin, c.args...)
			wantState := state(t)
			resetKernel(t, c.setup)
			gotOut, gotErr, gotCode := ipvsctl(c.stdin, c.args...)
			gotState := state(t)
			if slices.Equal(c.args, []string{"-v"}) || slices.Equal(c.args, []string{"--version"}) {
				wantOut += versionLine // ipvsctl adds lbd's version
			}
			if gotOut != wantOut {
				t.Errorf("ipvsadm %q: stdout differs\n--- ipvsadm:\n%s--- ipvsctl:\n%s", c.args, wantOut, gotOut)
			}
			if gotErr != wantErr {
				t.Errorf("ipvsadm %q: stderr differs\n--- ipvsadm:\n%s--- ipvsctl:\n%s", c.args, wantErr, gotErr)
			}
			if gotCode != wantCode {
				t.Errorf("ipvsadm %q: exit %d, ipvsctl %d", c.args, wantCode, gotCode)
			}
			if gotState != wantState {
				t.Errorf("ipvsadm %q: kernel state differs\n--- ipvsadm:\n%s--- ipvsctl:\n%s", c.args, wantState, gotState)
			}
		})
	}
	t.Run("save restore round trips", func(t *testing.T) {
		for _, numeric := range []bool{false, true} {
			args := []string{"-S"}
			if numeric {
				args = append(args, "-n")
			}
			// ipvsadm 1.31 saves marks above 2^31 as negative numbers
			// that neither tool restores, so the round trip uses a
			// table without one.
			var table [][]string
			for _, args := range baseTable {
				table = append(table, strings.Split(strings.ReplaceAll(strings.Join(args, "\x00"), "2882430849", "2882"), "\x00"))
			}
			resetKernel(t, table)
			want := state(t)
			saved, _, _ := realIpvsadm(t, "", args...)
			ours, _, _ := ipvsctl("", args...)
			if ours != saved {
				t.Errorf("-S %v differs:\n%s---\n%s", numeric, saved, ours)
			}
			// ipvsadm -S | ipvsctl -R, next to ipvsadm -S | ipvsadm -R.
			// Without -n the saved rules hold names, and ipvsadm 1.31
			// cannot read back "[name]:port" for IPv6 servers: both
			// tools must then fail the same way.
			resetKernel(t, nil)
			_, e1, c1 := realIpvsadm(t, saved, "-R")
			s1 := state(t)
			resetKernel(t, nil)
			_, e2, c2 := ipvsctl(saved, "-R")
			s2 := state(t)
			if e1 != e2 || c1 != c2 || s1 != s2 {
				t.Errorf("-R of %v: ipvsadm exit %d %q, ipvsctl exit %d %q\n%s---\n%s", args, c1, e1, c2, e2, s1, s2)
			}
			if numeric && (c2 != 0 || s2 != want) {
				t.Errorf("ipvsadm -S -n | ipvsctl -R: exit %d %s\n%s---\n%s", c2, e2, want, s2)
			}
			// Restoring the same rules again over them: every line fails
			// with "already exists", as in ipvsadm.
			_, e1, c1 = realIpvsadm(t, saved, "-R")
			s1 = state(t)
			_, e2, c2 = ipvsctl(saved, "-R")
			if e1 != e2 || c1 != c2 || state(t) != s1 {
				t.Errorf("re-restore: ipvsadm exit %d %q, ipvsctl exit %d %q", c1, e1, c2, e2)
			}
			// ipvsctl -S | ipvsadm -R
			if numeric {
				resetKernel(t, nil)
				if _, stderr, code := realIpvsadm(t, ours, "-R"); code != 0 {
					t.Errorf("ipvsadm -R: exit %d: %s", code, stderr)
				}
				if got := state(t); got != want {
					t.Errorf("ipvsctl -S | ipvsadm -R:\n%s---\n%s", want, got)
				}
			}
		}
	})
	t.Run("diff", func(t *testing.T) {
		resetKernel(t, baseTable[:3])
		before := state(t)
		f := t.TempDir() + "/rules"
		os.WriteFile(f, []byte("-A -t 203.0.113.12:80 -s wlc\n-e -t 203.0.113.12:80 -r 203.0.113.18 -w 3\n-A -t 192.0.2.43:80\n"), 0o644)
		out, stderr, code := ipvsctl("", "diff", f)
		if code != 0 || stderr != "Service already exists\n" {
			t.Errorf("diff: exit %d, stderr %q", code, stderr)
		}
		if out != "+ -A -t 192.0.2.43:80 -s wlc\n~ -e -t 203.0.113.12:80 -r 203.0.113.18:80 -g -w 3\n" {
			t.Errorf("diff output:\n%s", out)
		}
		if state(t) != before {
			t.Error("diff changed the kernel")
		}
	})
	t.Run("connection list with live connections", func(t *testing.T) {
		testLiveConnections(t)
	})
	t.Run("json", func(t *testing.T) {
		resetKernel(t, baseTable)
		for _, args := range [][]string{{"-L", "--json"}, {"-L", "-n", "-c", "--json"}, {"-L", "--timeout", "--json"}, {"-L", "--daemon", "--json"}} {
			out, stderr, code := ipvsctl("", args...)
			if code != 0 || !strings.HasPrefix(out, "{") {
				t.Errorf("%v: exit %d %s\n%s", args, code, stderr, out)
			}
		}
	})
}

// testLiveConnections fills the VM's connection table with NAT traffic,
// some connections held open and some closed, and compares -c listings.
// The VM's own namespace is the balancer (ipvsctl runs in-process there);
// a client and a real server namespace hang off it on veth pairs.
func testLiveConnections(t *testing.T) {
	l := lab.New(t)
	client, rs := l.Node("client"), l.Node("rs")
	for _, n := range []struct {
		node       *lab.Node
		here, peer string
		addr, gw   string
		hostAddr   string
	}{
		{client, "vclient", "veth0", "198.51.100.2/24", "198.51.100.1", "198.51.100.1/24"},
		{rs, "vrs", "veth0", "192.0.2.15/24", "192.0.2.1", "192.0.2.1/24"},
	} {
		// A process in the node names its namespace for the veth's peer.
		holder := n.node.Start("sleep", "600")
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: n.here}, PeerName: n.peer,
			PeerNamespace: netlink.NsPid(holder.Cmd.Process.Pid)}
		if err := netlink.LinkAdd(veth); err != nil {
			t.Fatalf("add veth %s: %v", n.here, err)
		}
		defer netlink.LinkDel(veth)
		addr, _ := netlink.ParseAddr(n.hostAddr)
		if err := netlink.AddrAdd(veth, addr); err != nil {
			t.Fatalf("address %s: %v", n.hostAddr, err)
		}
		if err := netlink.LinkSetUp(veth); err != nil {
			t.Fatal(err)
		}
		n.node.SetLink(n.peer, true)
		n.node.AddAddr(n.peer, n.addr)
		n.node.AddRoute("default", n.gw)
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	vip, _ := netlink.ParseAddr("198.51.100.10/32")
	if link, err := netlink.LinkByName("vclient"); err != nil || netlink.AddrAdd(link, vip) != nil {
		t.Fatalf("add VIP: %v", err)
	}
	resetKernel(t, [][]string{
		{"-A", "-t", "198.51.100.10:80", "-s", "rr"},
		{"-a", "-t", "198.51.100.10:80", "-r", "192.0.2.15:8080", "-m"},
		{"-A", "-t", "198.51.100.10:81", "-s", "rr", "-p", "120"},
		{"-a", "-t", "198.51.100.10:81", "-r", "192.0.2.15:8080", "-m"},
	})
	// The real server holds each connection until the client closes it.
	lab.Serve(t, rs.Listen("tcp", "192.0.2.15:8080"), func(c net.Conn) { io.Copy(io.Discard, c) })
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	for i := 0; i < 6; i++ {
		c, err := client.Dial("tcp", fmt.Sprintf("198.51.100.10:%d", 80+i%2), 3*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		if i%3 == 0 {
			c.Close() // leaves FIN_WAIT / TIME_WAIT entries
		} else {
			open = append(open, c) // ESTABLISHED entries
		}
	}
	time.Sleep(200 * time.Millisecond)
	// The expire column counts down each second: compare listings taken
	// back to back, trying again if a second boundary fell between them.
	for _, args := range [][]string{{"-L", "-n", "-c"}, {"-L", "-c"}, {"-L", "-n", "-c", "--persistent-conn"}} {
		var want, got string
		for try := 0; try < 5; try++ {
			want, _, _ = realIpvsadm(t, "", args...)
			got, _, _ = ipvsctl("", args...)
			if got == want {
				break
			}
		}
		if got != want {
			t.Errorf("ipvsadm %q:\n--- ipvsadm:\n%s--- ipvsctl:\n%s", args, want, got)
		}
		if args[len(args)-1] == "-c" && !strings.Contains(want, "ESTABLISHED") {
			t.Errorf("no established connection listed:\n%s", want)
		}
	}
}
