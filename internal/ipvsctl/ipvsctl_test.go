package ipvsctl

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/control"
	"github.com/lbd-project/lbd/internal/ipvsadm"
	"github.com/lbd-project/lbd/ipvs/ipvstest"
)

func i32(n int32) *int32 { return &n }

var sampleStatus = control.StatusResult{
	RouterID:   "lb1",
	ConfigFile: "/etc/lbd/lbd.yaml",
	Generation: 3,
	LoadedAt:   testNow.Add(-2*time.Hour - 3*time.Minute),
	LastReload: &control.ReloadOutcome{At: testNow.Add(-5 * time.Minute), OK: false,
		Error: "/etc/lbd/lbd.yaml:12:5: unknown field \"wieght\"\n/etc/lbd/lbd.yaml:20:3: real server 192.0.2.15:80 listed twice"},
	DriftRepairs: 2,
	VirtualServers: []control.VirtualServerStatus{
		{
			Service:          control.ServiceRef{Protocol: "TCP", Address: "192.0.2.10", Port: 80},
			Name:             "web",
			QuorumUp:         true,
			Scheduler:        "mh",
			Forwarding:       "DR",
			TableFingerprint: "5692a3fa48bd3ae0",
			RealServers: []control.RealServerStatus{
				{RealServerRef: control.RealServerRef{Address: "192.0.2.15", Port: 80}, Weight: 100, KernelWeight: i32(100),
					Up: true, Reason: "TCP connect ok", Since: testNow.Add(-2 * time.Hour), ActiveConns: 12, InactConns: 40, ProbeUsers: 2,
					LastCheck: &control.CheckResult{At: testNow.Add(-time.Second), OK: true, Latency: 1234 * time.Microsecond}},
				{RealServerRef: control.RealServerRef{Address: "192.0.2.16", Port: 8080}, Weight: 100, KernelWeight: i32(0),
					Up: false, Reason: "connect: connection refused", Since: testNow.Add(-45 * time.Second), Draining: true, ActiveConns: 3,
					LastCheck: &control.CheckResult{At: testNow.Add(-time.Second), Reason: "connect: connection refused", Latency: 3 * time.Second}},
				{RealServerRef: control.RealServerRef{Address: "198.51.100.7", Port: 80}, Weight: 5,
					Up: true, Since: testNow.Add(-3*24*time.Hour - 4*time.Hour), Disabled: true, Runtime: true},
			},
		},
		{
			Service:     control.ServiceRef{FWMark: 1, Family: "ipv6"},
			QuorumUp:    false,
			SorryActive: true,
			RealServers: []control.RealServerStatus{
				{RealServerRef: control.RealServerRef{Address: "2001:db8::1", Port: 0}, Weight: 1, KernelWeight: i32(1),
					Up: false, Reason: "HTTP_GET: status 503", Since: testNow.Add(-12*time.Minute - 3*time.Second)},
			},
		},
	},
	VRRPInstances: []control.VRRPInstanceStatus{
		{Name: "VI_1", Interface: "eth0", VRID: 51, State: "MASTER", Priority: 150,
			LastTransition: testNow.Add(-2 * time.Hour), Reason: "master down timer expired"},
		{Name: "VI_6", Interface: "eth1", VRID: 52, State: "BACKUP", Priority: 100, Master: "203.0.113.2",
			LastTransition: testNow.Add(-90 * time.Second), Reason: "higher priority 200 from 203.0.113.2"},
	},
	Events: []control.Event{
		{At: testNow.Add(-2 * time.Hour), Kind: control.EventVRRP, Subject: "VI_1", Message: "MASTER (was BACKUP): master down timer expired"},
		{At: testNow.Add(-5 * time.Minute), Kind: control.EventReload, Subject: "/etc/lbd/lbd.yaml",
			Message: "failed (invalid), the running configuration stays", Detail: []string{"a", "b"}},
		{At: testNow.Add(-45 * time.Second), Kind: control.EventHealth, Subject: "web 192.0.2.16:8080", Message: "DOWN: connect:\nconnection refused"},
	},
}

const goldenStatus = `lbd lb1: configuration /etc/lbd/lbd.yaml, generation 3, loaded 2025-06-01 09:57:00 UTC (2h3m ago)
last reload: FAILED, 2025-06-01 11:55:00 UTC (5m0s ago); still running generation 3:
  /etc/lbd/lbd.yaml:12:5: unknown field "wieght"
  /etc/lbd/lbd.yaml:20:3: real server 192.0.2.15:80 listed twice
drift repairs: 2

Prot LocalAddress:Port Scheduler Forwarding [Name] [State]
  -> RemoteAddress:Port  Health  Since  Weight  Kernel  ActiveConn  InActConn  LastCheck  Flags             Reason
TCP  192.0.2.10:80 mh DR  web  table 5692a3fa48bd3ae0
  -> 192.0.2.15:80       up      2h0m   100     100     12          40         ok 1.23ms  shared-probe:2    TCP connect ok
  -> 192.0.2.16:8080     down    45s    100     0       3           0          failed 3s  draining          connect: connection refused
  -> 198.51.100.7:80     up      3d4h   5       -       0           0          -          disabled,runtime
FWM  1 IPv6  quorum down  sorry server active
  -> [2001:db8::1]:0     down    12m3s  1       1       0           0          -          -                 HTTP_GET: status 503

VRRP Instance  Interface  VRID  State   Priority  Master       Since  Reason
VI_1           eth0       51    MASTER  150       self         2h0m   master down timer expired
VI_6           eth1       52    BACKUP  100       203.0.113.2  1m30s  higher priority 200 from 203.0.113.2

Recent events (the last 3 of 3, newest last; --json has all):
2h0m ago  vrrp    VI_1                 MASTER (was BACKUP): master down timer expired
5m0s ago  reload  /etc/lbd/lbd.yaml    failed (invalid), the running configuration stays (2 lines)
45s ago   health  web 192.0.2.16:8080  DOWN: connect: connection refused
`

func TestStatus(t *testing.T) {
	lbd := startLbd(t, map[string]func(json.RawMessage) (any, error){control.MethodStatus: canned(sampleStatus)})
	r := runWith(t, lbd.path, nil, "status")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if r.stdout != goldenStatus {
		t.Errorf("status:\n%s\nwant:\n%s", r.stdout, goldenStatus)
	}
	if c := lbd.recorded(); len(c) != 1 || c[0].method != "status" || c[0].params != "" {
		t.Errorf("requests %+v", c)
	}

	// --json prints the daemon's result; --socket=PATH before the command.
	r = runWith(t, "/nonexistent/control.sock", nil, "--socket="+lbd.path, "status", "--json")
	if r.code != 0 {
		t.Fatalf("--json: exit %d: %s", r.code, r.stderr)
	}
	var got control.StatusResult
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("--json output: %v\n%s", err, r.stdout)
	}
	want, _ := json.MarshalIndent(sampleStatus, "", "  ")
	if r.stdout != string(want)+"\n" {
		t.Errorf("--json:\n%s\nwant:\n%s", r.stdout, want)
	}

	// An empty daemon.
	lbd = startLbd(t, map[string]func(json.RawMessage) (any, error){control.MethodStatus: canned(control.StatusResult{
		ConfigFile: "/etc/lbd/lbd.yaml", Generation: 1, LoadedAt: testNow.Add(-time.Second),
		LastReload: &control.ReloadOutcome{At: testNow.Add(-time.Second), OK: true}, LastError: "netlink: dump failed:\nEPERM",
		SettingErrors: map[string]string{"lvs_sloppy_tcp": "ipvs: set sloppy_tcp: read-only file system", "lvs_timeouts": "EPERM"}})})
	r = runWith(t, lbd.path, nil, "status")
	const wantEmpty = `lbd: configuration /etc/lbd/lbd.yaml, generation 1, loaded 2025-06-01 11:59:59 UTC (1s ago)
last reload: ok, 2025-06-01 11:59:59 UTC (1s ago)
drift repairs: 0
last error: netlink: dump failed: EPERM
NOT APPLIED: lvs_sloppy_tcp: ipvs: set sloppy_tcp: read-only file system
NOT APPLIED: lvs_timeouts: EPERM

No virtual services.
`
	if r.code != 0 || r.stdout != wantEmpty {
		t.Errorf("empty status: exit %d\n%s\nwant:\n%s", r.code, r.stdout, wantEmpty)
	}

	for _, args := range [][]string{{"status", "extra"}, {"status", "-n"}} {
		r = runWith(t, lbd.path, nil, args...)
		if r.code != 2 || !strings.Contains(r.stderr, "Usage: ipvsctl status [--json]") {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
}

func TestReload(t *testing.T) {
	changes := []string{"+ -a -t 192.0.2.10:80 -r 192.0.2.17:80 -m -w 1", "- -d -t 192.0.2.10:80 -r 192.0.2.16:8080"}
	lbd := startLbd(t, map[string]func(json.RawMessage) (any, error){
		control.MethodReload: canned(control.ReloadResult{Generation: 4, Changes: changes})})
	r := runWith(t, lbd.path, nil, "reload")
	want := "reloaded: generation 4, 2 changes\n" + strings.Join(changes, "\n") + "\n"
	if r.code != 0 || r.stdout != want || r.stderr != "" {
		t.Errorf("reload: exit %d\n%s\nwant:\n%s\nstderr %q", r.code, r.stdout, want, r.stderr)
	}
	r = runWith(t, lbd.path, nil, "reload", "--json")
	if r.code != 0 || r.stdout != "{\n  \"generation\": 4,\n  \"changes\": [\n    \""+changes[0]+"\",\n    \""+changes[1]+"\"\n  ]\n}\n" {
		t.Errorf("reload --json: exit %d\n%s", r.code, r.stdout)
	}

	lbd = startLbd(t, map[string]func(json.RawMessage) (any, error){
		control.MethodReload: canned(control.ReloadResult{Generation: 5})})
	if r := runWith(t, lbd.path, nil, "reload"); r.code != 0 || r.stdout != "reloaded: generation 5, no changes\n" {
		t.Errorf("reload without changes: exit %d %q", r.code, r.stdout)
	}

	// A bad file: the daemon's errors on stderr as they are, exit 1.
	msg := "/etc/lbd/lbd.yaml:12:5: unknown field \"wieght\"\n/etc/lbd/lbd.yaml:20:3: real server 192.0.2.15:80 listed twice"
	lbd = startLbd(t, map[string]func(json.RawMessage) (any, error){
		control.MethodReload: failing(control.Errorf(control.CodeInvalidParams, "%s", msg))})
	r = runWith(t, lbd.path, nil, "reload")
	if r.code != 1 || r.stdout != "" || r.stderr != msg+"\n" {
		t.Errorf("failed reload: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestPlan(t *testing.T) {
	changes := []string{"~ -e -t 192.0.2.10:80 -r 192.0.2.15:80 -m -w 3"}
	lbd := startLbd(t, map[string]func(json.RawMessage) (any, error){
		control.MethodPlan: canned(control.PlanResult{Changes: changes})})
	r := runWith(t, lbd.path, nil, "plan")
	if r.code != 0 || r.stdout != changes[0]+"\n" {
		t.Errorf("plan: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	// A relative FILE is sent as an absolute path: lbd's working directory
	// is not ours.
	r = runWith(t, lbd.path, nil, "plan", "new.yaml")
	wd, _ := os.Getwd()
	abs, _ := json.Marshal(control.PlanParams{File: filepath.Join(wd, "new.yaml")})
	if c := lbd.recorded(); r.code != 0 || len(c) != 2 || c[0].params != "{}" || c[1].params != string(abs) {
		t.Errorf("plan FILE: exit %d, requests %+v, want params %s", r.code, c, abs)
	}
	if r := runWith(t, lbd.path, nil, "plan", "a.yaml", "b.yaml"); r.code != 2 || !strings.Contains(r.stderr, "unexpected argument b.yaml") {
		t.Errorf("plan with two files: exit %d %q", r.code, r.stderr)
	}

	lbd = startLbd(t, map[string]func(json.RawMessage) (any, error){
		control.MethodPlan: failing(control.Errorf(control.CodeInvalidParams, "/srv/new.yaml:3:1: virtual_servers: expected a list"))})
	r = runWith(t, lbd.path, nil, "plan", "/srv/new.yaml")
	if r.code != 1 || r.stderr != "/srv/new.yaml:3:1: virtual_servers: expected a list\n" {
		t.Errorf("bad plan: exit %d %q", r.code, r.stderr)
	}
}

func TestDrainEnable(t *testing.T) {
	lbd := startLbd(t, map[string]func(json.RawMessage) (any, error){
		control.MethodDrain:  canned(control.DrainResult{ActiveConns: 7}),
		control.MethodEnable: canned(nil),
	})
	tests := []struct {
		args   string
		params string
		stdout string
	}{
		{
			"drain -t 192.0.2.10:80 -r 192.0.2.15",
			`{"service":{"protocol":"TCP","address":"192.0.2.10","port":80},"real_server":{"address":"192.0.2.15","port":80}}`,
			"draining TCP 192.0.2.10:80 -> 192.0.2.15:80: 7 active connections\n",
		},
		{
			"drain -f 1 -6 -r [2001:db8::1]:0 --timeout 90s",
			`{"service":{"fwmark":1,"family":"ipv6"},"real_server":{"address":"2001:db8::1","port":0},"timeout":90000000000}`,
			"draining FWM 1 IPv6 -> [2001:db8::1]:0: 7 active connections\n",
		},
		{
			"drain --timeout=30 -u web.example:domain -r rs1.example:5353",
			`{"service":{"protocol":"UDP","address":"192.0.2.10","port":53},"real_server":{"address":"198.51.100.7","port":5353},"timeout":30000000000}`,
			"draining UDP 192.0.2.10:53 -> 198.51.100.7:5353: 7 active connections\n",
		},
		{
			"drain --sctp-service [2001:db8::10]:5060 -r 2001:db8::2",
			`{"service":{"protocol":"SCTP","address":"2001:db8::10","port":5060},"real_server":{"address":"2001:db8::2","port":5060}}`,
			"draining SCTP [2001:db8::10]:5060 -> [2001:db8::2]:5060: 7 active connections\n",
		},
		{
			"enable --tcp-service web.example:http --real-server rs1.example",
			`{"service":{"protocol":"TCP","address":"192.0.2.10","port":80},"real_server":{"address":"198.51.100.7","port":80}}`,
			"enabled TCP 192.0.2.10:80 -> 198.51.100.7:80\n",
		},
		{
			"enable -f 7 -r 203.0.113.5 --json",
			`{"service":{"fwmark":7},"real_server":{"address":"203.0.113.5","port":0}}`,
			"null\n",
		},
	}
	for i, tt := range tests {
		r := runWith(t, lbd.path, nil, strings.Fields(tt.args)...)
		if r.code != 0 || r.stdout != tt.stdout || r.stderr != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %q", tt.args, r.code, r.stdout, r.stderr, tt.stdout)
		}
		c := lbd.recorded()
		if len(c) != i+1 || c[i].method != strings.Fields(tt.args)[0] || c[i].params != tt.params {
			t.Errorf("%s: request %+v\nwant params %s", tt.args, c[len(c)-1], tt.params)
		}
	}

	// ipvsadm's messages, naming the subcommand; nothing sent.
	bad := []struct{ args, stderr string }{
		{"drain -t 192.0.2.10:80", "You need to supply the 'real-server' option for the 'drain' command"},
		{"enable -r 192.0.2.15", "You need to supply the 'service-address' option for the 'enable' command"},
		{"drain -t 192.0.2.10:80 -r 192.0.2.15 -w 0", "Illegal 'weight' option with the 'drain' command"},
		{"drain -t nosuch.example:80 -r 192.0.2.15", "illegal virtual server address[:port] specified"},
		{"drain -t 192.0.2.10:80 -r 192.0.2.15 --timeout soon", `invalid duration "soon"`},
		{"drain -t 192.0.2.10:80 -r 192.0.2.15 --timeout 0s", "must be positive"},
		{"drain -t 192.0.2.10:80 -r 192.0.2.15 --timeout", "option --timeout needs a duration"},
		{"enable -t 192.0.2.10:80 -r 192.0.2.15 --timeout 5s", "unknown option --timeout"},
	}
	n := len(lbd.recorded())
	for _, tt := range bad {
		r := runWith(t, lbd.path, nil, strings.Fields(tt.args)...)
		if r.code != 2 || !strings.HasPrefix(r.stderr, tt.stderr) && !strings.Contains(strings.SplitN(r.stderr, "\n", 2)[0], tt.stderr) {
			t.Errorf("%s: exit %d, stderr %q, want %q", tt.args, r.code, r.stderr, tt.stderr)
		}
		if !strings.Contains(r.stderr, "\nUsage: ipvsctl "+strings.Fields(tt.args)[0]+" ") {
			t.Errorf("%s: no usage line in %q", tt.args, r.stderr)
		}
	}
	if c := lbd.recorded(); len(c) != n {
		t.Errorf("bad command lines sent %+v", c[n:])
	}

	// The daemon's not_found is printed as is.
	lbd = startLbd(t, map[string]func(json.RawMessage) (any, error){
		control.MethodDrain: failing(control.Errorf(control.CodeNotFound, "no real server 192.0.2.99:80 in TCP 192.0.2.10:80"))})
	r := runWith(t, lbd.path, nil, "drain", "-t", "192.0.2.10:80", "-r", "192.0.2.99")
	if r.code != 1 || r.stderr != "no real server 192.0.2.99:80 in TCP 192.0.2.10:80\n" {
		t.Errorf("drain not found: exit %d %q", r.code, r.stderr)
	}
}

func TestHandover(t *testing.T) {
	lbd := startLbd(t, map[string]func(json.RawMessage) (any, error){
		control.MethodHandover: func(p json.RawMessage) (any, error) {
			var hp control.HandoverParams
			json.Unmarshal(p, &hp)
			switch {
			case hp.Restore && hp.Instance == "VI_2":
				return control.HandoverResult{}, nil
			case hp.Restore:
				return control.HandoverResult{Instances: []string{"VI_1", "VI_6"}}, nil
			case hp.Instance == "":
				return control.HandoverResult{Instances: []string{"VI_1", "VI_6"}}, nil
			case hp.Instance == "VI_1":
				return control.HandoverResult{Instances: []string{"VI_1"}}, nil
			case hp.Instance == "VI_2":
				return control.HandoverResult{}, nil
			}
			return nil, control.Errorf(control.CodeNotFound, "no vrrp instance %q", hp.Instance)
		}})
	const stay = "The instances stay BACKUP until the next reload or \"ipvsctl handover --restore\".\n"
	for _, tt := range []struct {
		args           []string
		code           int
		stdout, stderr string
		params         string
	}{
		{[]string{"handover"}, 0, "handed over: VI_1\nhanded over: VI_6\n" + stay, "", `{}`},
		{[]string{"handover", "VI_1"}, 0, "handed over: VI_1\n" + stay, "", `{"instance":"VI_1"}`},
		{[]string{"handover", "VI_2"}, 0, "no MASTER instance to hand over\n" + stay, "", `{"instance":"VI_2"}`},
		{[]string{"handover", "VI_9"}, 1, "", "no vrrp instance \"VI_9\"\n", `{"instance":"VI_9"}`},
		{[]string{"handover", "--json", "VI_1"}, 0, "{\n  \"instances\": [\n    \"VI_1\"\n  ]\n}\n", "", `{"instance":"VI_1"}`},
		{[]string{"handover", "--restore"}, 0, "priority restored: VI_1\npriority restored: VI_6\n", "", `{"restore":true}`},
		{[]string{"handover", "VI_2", "--restore"}, 0, "no instance had handed over\n", "", `{"instance":"VI_2","restore":true}`},
	} {
		r := runWith(t, lbd.path, nil, tt.args...)
		if r.code != tt.code || r.stdout != tt.stdout || r.stderr != tt.stderr {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", tt.args, r.code, r.stdout, r.stderr)
		}
		if c := lbd.recorded(); c[len(c)-1].params != tt.params {
			t.Errorf("%v: params %s, want %s", tt.args, c[len(c)-1].params, tt.params)
		}
	}
	for _, args := range [][]string{{"handover", "VI_1", "VI_2"}, {"handover", "--timeout", "5s"}, {"status", "--restore"}} {
		if r := runWith(t, lbd.path, nil, args...); r.code != 2 || !strings.Contains(r.stderr, "Usage: ipvsctl "+args[0]) {
			t.Errorf("%v: exit %d %q", args, r.code, r.stderr)
		}
	}
}

func TestDrainBalancer(t *testing.T) {
	lbd := startLbd(t, map[string]func(json.RawMessage) (any, error){
		control.MethodBalancer: func(p json.RawMessage) (any, error) {
			var bp control.BalancerParams
			json.Unmarshal(p, &bp)
			if bp.Enable {
				return struct{}{}, nil
			}
			return control.BalancerResult{Withdrawn: []string{"203.0.113.10", "203.0.113.11"},
				PeersSentIn: 12345 * time.Microsecond, DrainDelay: 3 * time.Second}, nil
		}})
	for _, tt := range []struct {
		args           []string
		code           int
		stdout, params string
	}{
		{[]string{"drain", "--balancer"}, 0,
			"drained: withdrew 203.0.113.10, 203.0.113.11; peers told in 12ms, then served 3s while the routers moved the flows\n", `{}`},
		{[]string{"enable", "--balancer"}, 0,
			"balancer enabled: each address is announced again once it has served for the hold-down\n", `{"enable":true}`},
	} {
		r := runWith(t, lbd.path, nil, tt.args...)
		if r.code != tt.code || r.stdout != tt.stdout || r.stderr != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", tt.args, r.code, r.stdout, r.stderr)
		}
		if c := lbd.recorded(); c[len(c)-1].params != tt.params {
			t.Errorf("%v: params %s, want %s", tt.args, c[len(c)-1].params, tt.params)
		}
	}
	for _, args := range [][]string{{"drain", "--balancer", "extra"}, {"drain", "--balancer", "--timeout", "5s"},
		{"enable", "--balancer", "-t", "192.0.2.10:80"}, {"handover", "--balancer"}} {
		if r := runWith(t, lbd.path, nil, args...); r.code != 2 || !strings.Contains(r.stderr, "Usage: ipvsctl "+args[0]) {
			t.Errorf("%v: exit %d %q", args, r.code, r.stderr)
		}
	}

	// status shows the BGP side.
	lbd = startLbd(t, map[string]func(json.RawMessage) (any, error){control.MethodStatus: canned(control.StatusResult{
		ConfigFile: "/etc/lbd/lbd.yaml", Generation: 1, LoadedAt: testNow.Add(-time.Second),
		BGP: &control.BGPStatus{Announced: []string{"203.0.113.10"}, Peers: []control.BGPPeerStatus{
			{Address: "192.0.2.1", ASN: 65000, State: "established", Uptime: 61 * time.Second, Advertised: 1, BFD: "Up"},
			{Address: "192.0.2.2", ASN: 65000, State: "active", LastError: "dial tcp 192.0.2.2:179:\nconnection refused"}}}})})
	r := runWith(t, lbd.path, nil, "status")
	const want = `
BGP: announcing 203.0.113.10
BGP Peer   ASN    State        Up    Routes  BFD  Last error
192.0.2.1  65000  established  1m1s  1       Up
192.0.2.2  65000  active             0       -    dial tcp 192.0.2.2:179: connection refused
`
	if r.code != 0 || !strings.HasSuffix(r.stdout, want) {
		t.Errorf("status: exit %d\n%s\nwant it to end with:\n%s", r.code, r.stdout, want)
	}
}

// TestNotRunning: every subcommand says lbd is not running, exit 1.
func TestNotRunning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	for _, args := range [][]string{
		{"status"}, {"reload"}, {"plan"}, {"handover"},
		{"drain", "-t", "192.0.2.10:80", "-r", "192.0.2.15"},
		{"enable", "-t", "192.0.2.10:80", "-r", "192.0.2.15", "--json"},
	} {
		r := runWith(t, path, nil, args...)
		want := "lbd is not running (no control socket at " + path + ")\n"
		if r.code != 1 || r.stderr != want || r.stdout != "" {
			t.Errorf("%v: exit %d, stderr %q, want %q", args, r.code, r.stderr, want)
		}
	}
	// A stale socket file: nobody listens.
	stale := filepath.Join(t.TempDir(), "stale.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	r := runWith(t, path, nil, "--socket", stale, "status")
	if want := "lbd is not running (stale control socket at " + stale + ")\n"; r.code != 1 || r.stderr != want {
		t.Errorf("stale socket: exit %d %q, want %q", r.code, r.stderr, want)
	}
}

func TestPermissionDenied(t *testing.T) {
	// The daemon's refusal is printed as it comes.
	lbd := startLbd(t, map[string]func(json.RawMessage) (any, error){
		control.MethodStatus: failing(control.Errorf(control.CodePermissionDenied, "permission denied: uid 1000 may not use lbd's control socket"))})
	r := runWith(t, lbd.path, nil, "status")
	if r.code != 1 || r.stderr != "permission denied: uid 1000 may not use lbd's control socket\n" {
		t.Errorf("refused: exit %d %q", r.code, r.stderr)
	}
	if os.Getuid() == 0 {
		t.Skip("root may open any socket")
	}
	// A socket file we may not open: the control package's message.
	dir := t.TempDir()
	path := filepath.Join(dir, "control.sock")
	s, err := control.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	os.Chmod(path, 0)
	r = runWith(t, path, nil, "reload")
	want := "permission denied on control socket " + path + " (ipvsctl must run as root)\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("unreadable socket: exit %d %q, want %q", r.code, r.stderr, want)
	}
}

func TestHelp(t *testing.T) {
	r := runWith(t, "", nil, "help")
	for _, s := range []string{"status [--json]", "reload", "plan [FILE]", "drain SERVICE -r SERVER[:PORT]", "[--timeout DURATION]",
		"enable SERVICE", "handover [--restore] [INSTANCE]", "diff FILE", "--socket PATH", "--kernel"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("help lacks %q:\n%s", s, r.stdout)
		}
	}
	if r.code != 0 || r.stderr != "" {
		t.Errorf("help: exit %d %q", r.code, r.stderr)
	}
	// -h stays ipvsadm's, byte for byte.
	for _, args := range [][]string{{"-h"}, {"--help"}, {"-v"}, {"stauts"}} {
		var out, errb bytes.Buffer
		code := ipvsadm.Run(context.Background(), ipvsadm.Env{Stdout: &out, Stderr: &errb, Open: func() (ipvsadm.Kernel, error) { return ipvstest.NewKernel(), nil }},
			append([]string{"ipvsctl"}, args...))
		r := runWith(t, "", nil, args...)
		if r.code != code || r.stdout != out.String() || r.stderr != errb.String() {
			t.Errorf("%v differs from ipvsadm: exit %d/%d\n%s%s", args, r.code, code, r.stdout, r.stderr)
		}
	}
}

func TestStripGlobal(t *testing.T) {
	for _, tt := range []struct {
		in, out string
		socket  string
		kernel  bool
		err     bool
	}{
		{in: "ipvsctl -L -n", out: "ipvsctl -L -n"},
		{in: "ipvsctl --kernel -a -t 192.0.2.10:80 -r 192.0.2.15", out: "ipvsctl -a -t 192.0.2.10:80 -r 192.0.2.15", kernel: true},
		{in: "ipvsctl -d -t 192.0.2.10:80 --socket /tmp/s -r 192.0.2.15 --kernel", out: "ipvsctl -d -t 192.0.2.10:80 -r 192.0.2.15", socket: "/tmp/s", kernel: true},
		{in: "ipvsctl --socket=/tmp/s status", out: "ipvsctl status", socket: "/tmp/s"},
		{in: "ipvsctl -L -- --kernel", out: "ipvsctl -L -- --kernel"},
		{in: "ipvsctl status --socket", err: true},
		{in: "ipvsctl --socket= status", err: true},
	} {
		out, g, err := stripGlobal(strings.Fields(tt.in))
		if tt.err {
			if err == nil {
				t.Errorf("%s: no error", tt.in)
			}
			continue
		}
		if err != nil || strings.Join(out, " ") != tt.out || g.socket != tt.socket || g.kernel != tt.kernel {
			t.Errorf("%s: %q %+v %v", tt.in, out, g, err)
		}
	}
	r := runWith(t, "", nil, "status", "--socket")
	if r.code != 2 || r.stderr != "ipvsctl: option --socket needs a path\n" {
		t.Errorf("--socket without path: exit %d %q", r.code, r.stderr)
	}
}

// ipvsctl status prints the last statusEvents events; --json has all.
func TestStatusPrintsTheLastEvents(t *testing.T) {
	st := control.StatusResult{}
	for i := range statusEvents + 5 {
		st.Events = append(st.Events, control.Event{At: testNow, Kind: control.EventHealth, Subject: fmt.Sprintf("rs%d", i), Message: "UP: ok"})
	}
	var b strings.Builder
	writeStatus(&b, &st, testNow)
	out := b.String()
	if !strings.Contains(out, "(the last 10 of 15, newest last") || strings.Contains(out, "rs4 ") || !strings.Contains(out, "rs5 ") ||
		!strings.HasSuffix(out, "rs14  UP: ok\n") {
		t.Errorf("status:\n%s", out)
	}
}
