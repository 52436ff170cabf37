package ipvsadm

import (
	"bufio"
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/lbd-project/lbd/ipvs/ipvstest"
)

// runFake runs one command against k.
func runFake(k *ipvstest.Kernel, stdin string, args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	env := Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Open: func() (Kernel, error) { return k, nil }, Names: fakeNames{}, ConnFile: "testdata/ip_vs_conn"}
	code := Run(context.Background(), env, append([]string{"ipvsadm"}, args...))
	return out.String(), errb.String(), code
}

func mustRun(t *testing.T, k *ipvstest.Kernel, args ...string) {
	t.Helper()
	if _, stderr, code := runFake(k, "", args...); code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, stderr)
	}
}

// sample builds the table whose ipvsadm 1.31 listings are the goldens
// below (captured from Debian's ipvsadm on the lab VM).
func sample(t *testing.T) *ipvstest.Kernel {
	k := ipvstest.NewKernel()
	for _, args := range [][]string{
		{"-A", "-t", "10.0.0.1:80", "-s", "rr"},
		{"-a", "-t", "10.0.0.1:80", "-r", "10.0.1.2", "-w", "2147483647"},
		{"-a", "-t", "10.0.0.1:80", "-r", "10.0.1.1", "-w", "70000"},
		{"-A", "-t", "10.0.0.5:0", "-p", "60", "-M", "255.255.0.0"},
		{"-A", "-u", "10.0.0.5:53", "-o"},
		{"-A", "-t", "[2001:db8::1]:443", "-s", "mh", "-b", "mh-port", "-p"},
		{"-a", "-t", "[2001:db8::1]:443", "-r", "[2001:db8::2]:443", "-m"},
		{"-A", "-f", "2882430849", "-6"},
		{"-a", "-f", "2882430849", "-6", "-r", "2001:db8::3", "-i", "--tun-type", "gue", "--tun-port", "6080", "--tun-csum"},
		{"-a", "-f", "2882430849", "-6", "-r", "2001:db8::4", "-i", "--tun-type", "gre"},
		{"-a", "-f", "2882430849", "-6", "-r", "10.9.9.9", "-i"},
		{"-A", "-f", "1", "-s", "sh", "-b", "sh-fallback"},
	} {
		mustRun(t, k, args...)
	}
	return k
}

const goldenLn = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
FWM  -1412536447 IPv6 wlc
  -> 10.9.9.9:0                   Tunnel  1      0          0         
  -> [2001:db8::3]:0              Tunnel  1      0          0         
  -> [2001:db8::4]:0              Tunnel  1      0          0         
TCP  10.0.0.1:80 rr
  -> 10.0.1.1:80                  Route   70000  0          0         
  -> 10.0.1.2:80                  Route   2147483647 0          0         
TCP  10.0.0.5:0 wlc persistent 60 mask 255.255.0.0
UDP  10.0.0.5:53 wlc ops
TCP  [2001:db8::1]:443 mh (mh-port) persistent 360
  -> [2001:db8::2]:443            Masq    1      0          0         
FWM  1 sh (sh-fallback)
`

const goldenSn = `-A -f -1412536447 -6 -s wlc
-a -f -1412536447 -6 -r 10.9.9.9:0 -i -w 1 --tun-type ipip
-a -f -1412536447 -6 -r [2001:db8::3]:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum
-a -f -1412536447 -6 -r [2001:db8::4]:0 -i -w 1 --tun-type gre --tun-nocsum
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 70000
-a -t 10.0.0.1:80 -r 10.0.1.2:80 -g -w 2147483647
-A -t 10.0.0.5:0 -s wlc -p 60 -M 255.255.0.0
-A -u 10.0.0.5:53 -s wlc -o
-A -t [2001:db8::1]:443 -s mh -p 360 -b mh-port
-a -t [2001:db8::1]:443 -r [2001:db8::2]:443 -m -w 1
-A -f 1 -s sh -b sh-fallback
`

const goldenTunInfo = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn
FWM  -1412536447 IPv6 wlc
  -> 10.9.9.9:0                   Tunnel  ipip          1      0          0         
  -> [2001:db8::3]:0              Tunnel  gue:6080:+c   1      0          0         
  -> [2001:db8::4]:0              Tunnel  gre:-c        1      0          0         
TCP  10.0.0.1:80 rr
  -> 10.0.1.1:80                  Route   n/a           70000  0          0         
  -> 10.0.1.2:80                  Route   n/a           2147483647 0          0         
TCP  10.0.0.5:0 wlc persistent 60 mask 255.255.0.0
UDP  10.0.0.5:53 wlc ops
TCP  [2001:db8::1]:443 mh (mh-port) persistent 360
  -> [2001:db8::2]:443            Masq    n/a           1      0          0         
FWM  1 sh (sh-fallback)
`

const goldenThresholds = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn 
  -> RemoteAddress:Port
FWM  -1412536447 IPv6 wlc
  -> 10.9.9.9:0                   0          0          0          0         
  -> [2001:db8::3]:0              0          0          0          0         
  -> [2001:db8::4]:0              0          0          0          0         
TCP  10.0.0.1:80 rr
  -> 10.0.1.1:80                  0          0          0          0         
  -> 10.0.1.2:80                  0          0          0          0         
TCP  10.0.0.5:0 wlc persistent 60 mask 255.255.0.0
UDP  10.0.0.5:53 wlc ops
TCP  [2001:db8::1]:443 mh (mh-port) persistent 360
  -> [2001:db8::2]:443            0          0          0          0         
FWM  1 sh (sh-fallback)
`

const goldenStatsHead = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
FWM  -1412536447 IPv6                    0        0        0        0        0
  -> 10.9.9.9:0                          0        0        0        0        0
`

func TestListingsGolden(t *testing.T) {
	k := sample(t)
	for _, tc := range []struct {
		args   []string
		want   string
		prefix bool
	}{
		{args: []string{"-L", "-n"}, want: goldenLn},
		{args: []string{"-Ln"}, want: goldenLn},
		{args: []string{"-S", "-n"}, want: goldenSn},
		{args: []string{"-L", "-n", "--tun-info"}, want: goldenTunInfo},
		{args: []string{"-L", "-n", "--thresholds"}, want: goldenThresholds},
		{args: []string{"-L", "-n", "--stats"}, want: goldenStatsHead, prefix: true},
		{args: []string{"-L", "--timeout"}, want: "Timeout (tcp tcpfin udp): 900 120 300\n"},
		{args: []string{"-L", "-n", "-t", "10.0.0.1:80"}, want: "Prot LocalAddress:Port Scheduler Flags\n" +
			"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n" +
			"TCP  10.0.0.1:80 rr\n" +
			"  -> 10.0.1.1:80                  Route   70000  0          0         \n" +
			"  -> 10.0.1.2:80                  Route   2147483647 0          0         \n"},
		// Names: the service name is cut at 33 bytes, the destination at 28.
		{args: []string{"-L", "-t", "vip1:http"}, want: "Prot LocalAddress:Port Scheduler Flags\n" +
			"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n" +
			"TCP  vip1.example.org:http rr\n" +
			"  -> 10.0.1.1:http                Route   70000  0          0         \n" +
			"  -> a-very-long-real-server-name Route   2147483647 0          0         \n"},
	} {
		out, stderr, code := runFake(k, "", tc.args...)
		if code != 0 || stderr != "" {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, stderr)
		}
		if tc.prefix {
			if !strings.HasPrefix(out, tc.want) {
				t.Errorf("%v:\n%s\nwant prefix:\n%s", tc.args, out, tc.want)
			}
		} else if out != tc.want {
			t.Errorf("%v:\n%s\nwant:\n%s", tc.args, out, tc.want)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		stderr string
		code   int
	}{
		{[]string{"-n", "-L"}, "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n", 255},
		{[]string{"--foo"}, "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n", 255},
		{[]string{"-L=1"}, "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n", 255},
		{[]string{"-L", "-x"}, "-x: missing argument\n", 255},
		{[]string{"-L", "--foo"}, "--foo: unknown option\n", 255},
		{[]string{"-Lq"}, "-Lq: unknown option\n", 255},
		{[]string{"-L", "--numeric=1"}, "--numeric=1: option does not take an argument\n", 255},
		{[]string{"-A", "-t", "10.0.0.1"}, "Zero port specified for non-persistent service\n", 2},
		{[]string{"-A", "-t", "80"}, "illegal virtual server address[:port] specified\n", 2},
		{[]string{"-A", "-t", "10.0.0.1:80", "-o"}, "One-Packet Scheduling is only for UDP virtual services\n", 2},
		{[]string{"-A", "-t", "10.0.0.1:80", "-m"}, "Illegal 'forwarding-method' option with the 'add-service' command\n", 2},
		{[]string{"-a", "-t", "10.0.0.1:80"}, "You need to supply the 'real-server' option for the 'add-server' command\n", 2},
		{[]string{"-L", "-c", "--stats"}, "options conflicts in the list command\n", 2},
		{[]string{"-L", "-c", "--timeout"}, "The option 'timeout' conflicts with the 'connection' option in the 'list' command\n", 2},
		{[]string{"-L", "foo"}, "unexpected argument foo\n", 2},
		{[]string{"--set", "1", "2"}, "--set option requires 3 timeout values\n", 2},
		{[]string{"--set", "1", "2", "3", "4"}, "unexpected argument 4\n", 2},
		{[]string{"-A", "-t", "1.2.3.4:80", "-6"}, "-6 used before -f\n\n", 2},
		{[]string{"-a", "-t", "1.2.3.4:80", "-r", "2001:db8::1", "-m"}, "Different address family is allowed only for tunneling servers\n", 2},
		{[]string{"-a", "-t", "1.2.3.4:80", "-r", "1.1.1.1", "--tun-type", "gue"}, "Tunnel options conflict with forward method\n", 2},
		{[]string{"-a", "-t", "1.2.3.4:80", "-r", "1.1.1.1", "-i", "--tun-type", "gue"}, "You need to supply the 'tun-port' option for the 'gue' tunnel type\n", 2},
		{[]string{"-a", "-t", "1.2.3.4:80", "-r", "1.1.1.1", "-i", "--tun-type", "gre", "--tun-csum", "--tun-nocsum"}, "The option 'tun-csum' conflicts with the 'tun-nocsum' option in the 'gre' tunnel type\n", 2},
		{[]string{"-A", "-t", "1.2.3.4:80", "-p", "0"}, "invalid timeout value `0' specified\n", 2},
		{[]string{"-A", "-t", "1.2.3.4:80", "-L"}, "invalid option `-L'\n", 2},
		{[]string{"-A", "-t", "1.2.3.4:80", "-s", "rr", "-s", "rr"}, "multiple 'scheduler' options specified\n", 2},
		{[]string{"-a", "-t", "1.2.3.4:80", "-r", "1.1.1.3", "-w", "2147483648"}, "illegal weight specified\n", 2},
		{[]string{"-A", "-t", "1.2.3.4:80", "-b", "sh-port"}, "incompatible scheduler flag `sh-port'\n", 2},
		{[]string{"--start-daemon", "slave"}, "illegal start-daemon parameter specified\n", 2},
		{[]string{"--stop-daemon", "slave"}, "illegal start_daemon specified\n", 2},
		{[]string{"-A", "-t", "10.0.0.1:80", "-s", "rr"}, "Service already exists\n", 255},
		{[]string{"-A", "-t", "10.0.0.2:80", "-s", "foo"}, "Scheduler or persistence engine not found\n", 255},
		{[]string{"-A", "-t", "10.0.0.2:80", "--pe", "foo"}, "Scheduler or persistence engine not found\n", 255},
		{[]string{"-E", "-t", "10.0.0.9:80"}, "No such service\n", 255},
		{[]string{"-D", "-t", "10.0.0.9:80"}, "No such service\n", 255},
		{[]string{"-a", "-t", "10.0.0.9:80", "-r", "1.1.1.1"}, "Service not defined\n", 255},
		{[]string{"-e", "-t", "10.0.0.1:80", "-r", "1.1.1.9"}, "No such destination\n", 255},
		{[]string{"-d", "-t", "10.0.0.1:80", "-r", "1.1.1.9"}, "No such destination\n", 255},
		{[]string{"-a", "-t", "10.0.0.1:80", "-r", "224.0.0.1"}, "Invalid operation.  Possibly wrong module version, address not unicast, ...\n", 255},
		{[]string{"-a", "-t", "10.0.0.1:80", "-r", "10.0.1.5", "-y", "5"}, "Numerical result out of range\n", 255},
		{[]string{"-Z", "-t", "10.0.0.99:80"}, "No such service\n", 255},
		{[]string{"-L", "-t", "10.0.0.99:80"}, "No such service\n", 1},
		{[]string{"--stop-daemon", "master"}, "No daemon is running\n", 255},
	} {
		k := sample(t)
		out, stderr, code := runFake(k, "", tc.args...)
		if stderr != tc.stderr || code != tc.code || out != "" {
			t.Errorf("%q: exit %d stderr %q stdout %q; want exit %d stderr %q", tc.args, code, stderr, out, tc.code, tc.stderr)
		}
	}
}

func TestRestore(t *testing.T) {
	k := ipvstest.NewKernel()
	mustRun(t, k, "-A", "-t", "1.1.1.1:80")
	mustRun(t, k, "-a", "-t", "1.1.1.1:80", "-r", "2.2.2.2", "-w", "2")
	calls := len(k.Changes())
	stdin := "ipvsadm -A -t 1.1.1.1:80\n-A -t 1.1.1.3:80\n\n  -a -t 1.1.1.3:80 -r 2.2.2.2 ipvsadm\n-e -t 1.1.1.1:80 -r 2.2.2.2 -w 2\n-A -t 1.1.1.4:80"
	_, stderr, code := runFake(k, stdin, "-R")
	if stderr != "Service already exists\n" || code != 0 {
		t.Errorf("restore: exit %d stderr %q", code, stderr)
	}
	// One batch; the edit that changes nothing is not sent.
	if p := k.Plans(); len(p) != 1 || len(p[0].Changes) != 3 {
		t.Fatalf("applied %v", p)
	}
	if n := len(k.Changes()) - calls; n != 3 {
		t.Errorf("%d kernel changes, want 3", n)
	}
	out, _, _ := runFake(k, "", "-S", "-n")
	want := "-A -t 1.1.1.1:80 -s wlc\n-a -t 1.1.1.1:80 -r 2.2.2.2:80 -g -w 2\n-A -t 1.1.1.3:80 -s wlc\n" +
		"-a -t 1.1.1.3:80 -r 2.2.2.2:80 -g -w 1\n-A -t 1.1.1.4:80 -s wlc\n"
	if out != want {
		t.Errorf("after restore:\n%s\nwant:\n%s", out, want)
	}

	// A parse error stops the restore, with what came before applied.
	_, stderr, code = runFake(k, "-A -t 1.1.1.5:80\n-A -t 1.1.1.6:80 -x 1\n-A -t 1.1.1.7:80\n", "-R")
	if code != 2 || stderr != "Illegal 'u-threshold' option with the 'add-service' command\n" {
		t.Errorf("exit %d stderr %q", code, stderr)
	}
	out, _, _ = runFake(k, "", "-S", "-n")
	if !strings.Contains(out, "1.1.1.5:80") || strings.Contains(out, "1.1.1.7:80") {
		t.Errorf("after failed restore:\n%s", out)
	}
	// A comment line is not a comment for ipvsadm.
	_, stderr, code = runFake(k, "# hello\n", "-R")
	if code != 255 || !strings.HasPrefix(stderr, "Try `ipvsadm -h'") {
		t.Errorf("comment: exit %d stderr %q", code, stderr)
	}
}

func TestDiff(t *testing.T) {
	k := ipvstest.NewKernel()
	mustRun(t, k, "-A", "-t", "1.1.1.1:80")
	mustRun(t, k, "-a", "-t", "1.1.1.1:80", "-r", "2.2.2.2")
	out, stderr, code := runFake(k, "-A -t 1.1.1.1:80 -s rr\n-e -t 1.1.1.1:80 -r 2.2.2.2 -m -w 3\n", "diff", "-")
	if code != 0 || stderr != "Service already exists\n" {
		t.Errorf("exit %d stderr %q", code, stderr)
	}
	if out != "~ -e -t 1.1.1.1:80 -r 2.2.2.2:80 -m -w 3\n" {
		t.Errorf("diff:\n%s", out)
	}
	if len(k.Plans()) != 0 {
		t.Error("diff applied changes")
	}
}

func TestJSON(t *testing.T) {
	k := sample(t)
	out, _, code := runFake(k, "", "-L", "--json")
	if code != 0 || !strings.Contains(out, `"fwmark": 2882430849`) || !strings.Contains(out, `"csum": "csum"`) {
		t.Errorf("json:\n%s", out)
	}
	_, stderr, code := runFake(k, "", "-A", "-t", "1.2.3.4:80", "--json")
	if code != 2 || stderr != "Illegal 'json' option with the 'add-service' command\n" {
		t.Errorf("json on -A: %d %q", code, stderr)
	}
}

func TestConnections(t *testing.T) {
	k := ipvstest.NewKernel()
	out, stderr, code := runFake(k, "", "-L", "-n", "-c")
	want := "IPVS connection entries\n" +
		"pro expire state       source             virtual            destination\n" +
		"TCP 01:45  ESTABLISHED 10.0.0.9:49715     10.40.25.43:18000  10.40.25.16:18000\n" +
		"UDP 04:59  UDP         [2001:db8::9]:53   [2001:db8::1]:53   [2001:db8::2]:53\n"
	if out != want || code != 0 || stderr != "" {
		t.Errorf("exit %d %q:\n%s\nwant:\n%s", code, stderr, out, want)
	}
}

func TestNtop(t *testing.T) {
	for in, want := range map[string]string{
		"2001:db8::1":          "2001:db8::1",
		"::1":                  "::1",
		"::":                   "::",
		"::102:304":            "::1.2.3.4",
		"::ffff:1.2.3.4":       "::ffff:1.2.3.4",
		"1:0:1:0:0:1:0:0":      "1:0:1::1:0:0",
		"1:0:0:1:0:0:1:1":      "1::1:0:0:1:1",
		"2001:db8:0:1:1:1:1:1": "2001:db8:0:1:1:1:1:1",
	} {
		if got := ntop(netip.MustParseAddr(in)); got != want {
			t.Errorf("ntop(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestInetAton(t *testing.T) {
	for in, want := range map[string]string{
		"10.1":       "10.0.0.1",
		"0x0a.0.0.1": "10.0.0.1",
		"010.0.0.1":  "8.0.0.1",
		"1":          "0.0.0.1",
		"1.2.3.4 x":  "1.2.3.4",
		"1.2.3.4.":   "",
		"256.1.1.1":  "",
		"1.2.65536":  "",
		"0x":         "",
		"08":         "",
	} {
		a, ok := inetAton(in)
		got := ""
		if ok {
			got = a.String()
		}
		if got != want {
			t.Errorf("inetAton(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSortQuirk(t *testing.T) {
	// 200.0.0.1 - 10.0.0.1 overflows int: ipvsadm lists 200.0.0.1 first.
	k := ipvstest.NewKernel()
	mustRun(t, k, "-A", "-t", "10.0.0.1:80")
	mustRun(t, k, "-A", "-t", "200.0.0.1:80")
	out, _, _ := runFake(k, "", "-S", "-n")
	if out != "-A -t 200.0.0.1:80 -s wlc\n-A -t 10.0.0.1:80 -s wlc\n" {
		t.Errorf("order:\n%s", out)
	}
}

func TestConfigStream(t *testing.T) {
	cs := &configStream{r: bufio.NewReader(strings.NewReader("a b\n\n  c ipvsadm d\r\ne  \nf\tg")), program: "p"}
	var got []string
	for {
		argv, ok := cs.next()
		if !ok {
			break
		}
		got = append(got, strings.Join(argv, ","))
	}
	want := []string{"p,a,b", "p", "p,c,d", "p,e", "p,f,g"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
}
