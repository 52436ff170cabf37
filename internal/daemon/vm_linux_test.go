package daemon

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/control"
	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/lb"
)

// runAsLBD makes the test binary run as lbd (see TestMain).
const runAsLBD = "LBD_TEST_RUN_LBD"

const vmDaemonYAML = `global:
  control_socket: DIR/control.sock
  state_dir: DIR/state
  metrics_address: 198.51.100.1:9274
  lvs_reconcile_interval: 1h
  lvs_drain_timeout: 30s
vrrp_instances:
  - name: VI_1
    interface: front
    virtual_router_id: 51
    advert_interval: 100ms
    garp_master_delay: 0
    virtual_ipaddresses: [198.51.100.10/32]
virtual_servers:
  - address: 198.51.100.10:80
    scheduler: rr
    vrrp_instance: VI_1
    check: {type: HTTP_GET, delay_loop: 200ms, connect_timeout: 1s, retry: 0, warmup: 0, urls: [{path: /health}]}
    real_servers: [RS1]
`

// TestIntegrationVMDaemon runs lbd (this test binary re-executed as lbd)
// in a balancer namespace of the lab VM, with kernel IPVS: VRRP gates a
// virtual server, the control socket reports health, a run-time real
// server survives a reload and a restart, a killed real server leaves the
// table and comes back, a bad reload changes nothing, a drain waits for
// connections, a full disk for the state file refuses a change and loses
// nothing, and the metrics endpoint serves per-service counters.
func TestIntegrationVMDaemon(t *testing.T) {
	if !lab.RunInVM(t, lab.VMOptions{}) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	l := lab.New(t)
	client, lbn := l.Node("client"), l.Node("lb")
	client.Link("eth0", lbn, "front")
	client.AddAddr("eth0", "198.51.100.2/24")
	lbn.AddAddr("front", "198.51.100.1/24")
	lbn.Sysctl("net.ipv4.ip_forward", "1")
	back := l.LAN("back")
	lbn.Attach(back, "back", "192.0.2.1/24")
	rsNodes := map[string]*lab.Node{}
	// serve starts real server name's HTTP server; closing the listener
	// is the server's process dying (new connections are refused).
	serve := func(name, addr string) net.Listener {
		ln := rsNodes[name].Listen("tcp", addr)
		go serveHTTP(ln, name)
		t.Cleanup(func() { ln.Close() })
		return ln
	}
	rsListeners := map[string]net.Listener{}
	for name, addr := range map[string]string{"rs1": "192.0.2.15", "rs2": "192.0.2.16"} {
		n := l.Node(name)
		n.Attach(back, "eth0", addr+"/24")
		n.AddRoute("default", "192.0.2.1")
		rsNodes[name] = n
		rsListeners[name] = serve(name, addr+":8080")
	}
	vip := netip.MustParseAddr("198.51.100.10")

	dir := t.TempDir()
	file := filepath.Join(dir, "lbd.yaml")
	yaml := strings.ReplaceAll(vmDaemonYAML, "DIR", dir)
	write := func(rs1 string) {
		if err := os.WriteFile(file, []byte(strings.Replace(yaml, "RS1", rs1, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("192.0.2.15:8080")
	// The state file lives on a tiny tmpfs, which the full-disk step
	// below fills.
	stateDir := filepath.Join(dir, "state")
	if err := os.Mkdir(stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	lab.MountTinyTmpfs(t, stateDir, 64<<10)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	start := func() *lab.Process {
		cmd := exec.Command(exe, file)
		cmd.Env = append(os.Environ(), runAsLBD+"=1")
		p := lbn.StartCmd(cmd)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("lbd output:\n%s", p.Out.String())
			}
		})
		return p
	}
	ipvsadm := func() string {
		var out strings.Builder
		cmd := exec.CommandContext(ctx, "ipvsadm", "-S", "-n")
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := lbn.RunCmd(cmd); err != nil {
			t.Fatalf("ipvsadm: %v: %s", err, out.String())
		}
		return out.String()
	}
	wait := func(what string, cond func(rules string) bool) {
		t.Helper()
		var rules string
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if rules = ipvsadm(); cond(rules) {
				return
			}
		}
		t.Fatalf("%s: ipvsadm -S -n:\n%s", what, rules)
	}
	call := func(method string, params, result any) error {
		return controlCall(ctx, 15*time.Second, filepath.Join(dir, "control.sock"), method, params, result)
	}
	svc := control.ServiceRef{Protocol: "TCP", Address: "198.51.100.10", Port: 80}
	rs1 := control.RealServerRef{Address: "192.0.2.15", Port: 8080}
	rs2 := control.RealServerRef{Address: "192.0.2.16", Port: 8080}
	has := func(subs ...string) func(string) bool {
		return func(rules string) bool {
			for _, s := range subs {
				if !strings.Contains(rules, s) {
					return false
				}
			}
			return true
		}
	}

	p := start()
	// VI_1 becomes MASTER alone, which installs the gated service.
	wait("VRRP master installs the service", has("-A -t 198.51.100.10:80 -s rr", "-r 192.0.2.15:8080 -m -w 1"))
	if got := httpGet(t, client, "198.51.100.10:80", "/"); got != "rs1" {
		t.Errorf("through the VIP: %q", got)
	}

	var st control.StatusResult
	if err := call(control.MethodStatus, nil, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.VRRPInstances) != 1 || st.VRRPInstances[0].State != "MASTER" {
		t.Errorf("status vrrp: %+v", st.VRRPInstances)
	}
	if len(st.VirtualServers) != 1 || len(st.VirtualServers[0].RealServers) != 1 || !st.VirtualServers[0].RealServers[0].Up ||
		st.VirtualServers[0].RealServers[0].KernelWeight == nil {
		t.Errorf("status virtual servers: %+v", st.VirtualServers)
	}

	// runtime add, then a reload (SIGHUP) that changes rs1's weight.
	if err := call(control.MethodRuntime, control.RuntimeParams{Op: "add", Service: svc, RealServer: rs2}, nil); err != nil {
		t.Fatal(err)
	}
	wait("runtime add", has("-r 192.0.2.16:8080 -m -w 1"))
	write("{address: 192.0.2.15:8080, weight: 2}")
	p.Signal(syscall.SIGHUP)
	wait("reload keeps the runtime server", has("-r 192.0.2.15:8080 -m -w 2", "-r 192.0.2.16:8080 -m -w 1"))

	// Restart: the state file brings the runtime server back; the table
	// is adopted as it is.
	p.Signal(syscall.SIGTERM)
	if err := p.Wait(20 * time.Second); err != nil {
		t.Fatalf("lbd did not stop: %v", err)
	}
	p = start()
	if err := call(control.MethodStatus, nil, &st); err != nil {
		t.Fatal(err)
	}
	var runtime bool
	for _, r := range st.VirtualServers[0].RealServers {
		runtime = runtime || (r.Address == "192.0.2.16" && r.Runtime)
	}
	if !runtime {
		t.Errorf("runtime server lost by the restart: %+v", st.VirtualServers)
	}
	wait("restart", has("-r 192.0.2.15:8080 -m -w 2", "-r 192.0.2.16:8080 -m -w 1"))

	// A killed real server (its process gone: connections refused) leaves
	// the table once its check fails; the virtual server, the other real
	// server and the VIP stay, and clients reach the other. Started again,
	// it comes back with its weight.
	rsListeners["rs1"].Close()
	wait("rs1 killed: out of the table, the service stays", func(r string) bool {
		return !strings.Contains(r, "192.0.2.15") && has("-A -t 198.51.100.10:80 -s rr", "-r 192.0.2.16:8080 -m -w 1")(r)
	})
	if !lbn.HasAddr(vip) {
		t.Error("the VIP went with a killed real server")
	}
	for range 3 {
		if got := httpGet(t, client, "198.51.100.10:80", "/"); got != "rs2" {
			t.Errorf("with rs1 killed, through the VIP: %q", got)
		}
	}
	rsListeners["rs1"] = serve("rs1", "192.0.2.15:8080")
	wait("rs1 restarted", has("-r 192.0.2.15:8080 -m -w 2", "-r 192.0.2.16:8080 -m -w 1"))

	// A bad reload changes nothing: the table, the VIP and the daemon
	// stay; the log and the status say why. The good file comes back.
	rules := ipvsadm()
	mark := len(p.Out.String())
	if err := os.WriteFile(file, []byte(strings.Replace(strings.Replace(yaml, "RS1", "{address: 192.0.2.15:8080, weight: 2}", 1),
		"scheduler: rr", "scheduler: rrr", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	p.Signal(syscall.SIGHUP)
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(p.Out.String()[mark:], "reload failed"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no \"reload failed\" in lbd's log after a bad file")
		}
	}
	if !strings.Contains(p.Out.String()[mark:], `unknown scheduler \"rrr\"`) {
		t.Errorf("the log does not say why the reload failed:\n%s", p.Out.String()[mark:])
	}
	time.Sleep(300 * time.Millisecond) // what a reload would have changed, it would have by now
	if got := ipvsadm(); got != rules {
		t.Errorf("a bad reload changed the table:\n%s\nwas:\n%s", got, rules)
	}
	if !lbn.HasAddr(vip) || p.Exited() {
		t.Errorf("after a bad reload: VIP held %v, lbd exited %v", lbn.HasAddr(vip), p.Exited())
	}
	if err := call(control.MethodStatus, nil, &st); err != nil || st.LastReload == nil || st.LastReload.OK ||
		!strings.Contains(st.LastReload.Error, file+":") || st.VRRPInstances[0].State != "MASTER" {
		t.Errorf("status after a bad reload: %+v, %v", st.LastReload, err)
	}
	write("{address: 192.0.2.15:8080, weight: 2}")

	// Drain rs1 while a connection to it is open.
	var conns []net.Conn
	for range 3 {
		c, err := client.Dial("tcp", "198.51.100.10:80", 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	var dr control.DrainResult
	if err := call(control.MethodDrain, control.DrainParams{Service: svc, RealServer: rs1}, &dr); err != nil {
		t.Fatal(err)
	}
	if dr.ActiveConns == 0 {
		t.Errorf("drain saw no active connections")
	}
	wait("draining", has("-r 192.0.2.15:8080 -m -w 0"))
	time.Sleep(300 * time.Millisecond)
	if !strings.Contains(ipvsadm(), "192.0.2.15:8080") {
		t.Error("drained while a connection was open")
	}
	for _, c := range conns {
		c.Close()
	}
	wait("drained", func(r string) bool { return !strings.Contains(r, "192.0.2.15") && strings.Contains(r, "192.0.2.16") })

	// Full disk for the state file: a run-time change is refused with an
	// error naming the file and ENOSPC; the kernel table, the VIP and the
	// old state file stay; once space is freed the change is made.
	statePath := filepath.Join(stateDir, lb.StateFile)
	before, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	rules = ipvsadm()
	filler := filepath.Join(stateDir, "filler")
	lab.FillDisk(t, filler)
	rs3 := control.RealServerRef{Address: "192.0.2.17", Port: 8080}
	err = call(control.MethodRuntime, control.RuntimeParams{Op: "add", Service: svc, RealServer: rs3}, nil)
	if want := statePath + ": no space left on device"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("runtime add on a full disk: %v, want an error with %q", err, want)
	}
	if got := ipvsadm(); got != rules {
		t.Errorf("a refused change touched the kernel:\n%s\nwas:\n%s", got, rules)
	}
	if !lbn.HasAddr(vip) {
		t.Error("the VIP is gone after a refused change")
	}
	if after, _ := os.ReadFile(statePath); !bytes.Equal(after, before) {
		t.Errorf("state file changed by a failed save:\n%s\nwas:\n%s", after, before)
	}
	if got := httpGet(t, client, "198.51.100.10:80", "/"); got != "rs2" {
		t.Errorf("through the VIP on a full disk: %q", got)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := call(control.MethodRuntime, control.RuntimeParams{Op: "add", Service: svc, RealServer: rs3}, nil); err != nil {
		t.Errorf("runtime add once space is free: %v", err)
	}
	if saved, err := lb.LoadState(statePath); err != nil || len(saved.Runtime) != 2 {
		t.Errorf("state file after the change: %+v, %v", saved, err)
	}
	if err := call(control.MethodRuntime, control.RuntimeParams{Op: "delete", Service: svc, RealServer: rs3}, nil); err != nil {
		t.Errorf("runtime delete: %v", err)
	}

	// Metrics, scraped from the client. The kernel folds its per-CPU
	// counters into the totals every 2 s, so wait for a non-zero one.
	zero := `lbd_ipvs_service_connections_total{service="TCP 198.51.100.10:80",virtual_server="TCP 198.51.100.10:80"} 0`
	var body string
	for deadline := time.Now().Add(6 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		body = httpGet(t, client, "198.51.100.1:9274", "/metrics")
		if !strings.Contains(body, zero) || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range []string{
		`lbd_ipvs_service_connections_total{service="TCP 198.51.100.10:80",virtual_server="TCP 198.51.100.10:80"}`,
		`lbd_ipvs_real_server_bytes_total{direction="in",real_server="192.0.2.16:8080"`,
		`lbd_real_server_up{real_server="192.0.2.16:8080",virtual_server="TCP 198.51.100.10:80"} 1`,
		`lbd_vrrp_state{instance="VI_1",state="MASTER"} 1`,
		`lbd_healthcheck_duration_seconds_count{real_server="192.0.2.16:8080",type="HTTP_GET"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, zero) {
		t.Error("service connection counter is 0 after connections")
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", body)
	}
	p.Signal(syscall.SIGTERM)
	if err := p.Wait(20 * time.Second); err != nil {
		t.Errorf("lbd did not stop: %v", err)
	}
}

// serveHTTP answers every request with name.
func serveHTTP(ln net.Listener, name string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 4096)
			c.Read(buf)
			fmt.Fprintf(c, "HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(name), name)
		}()
	}
}

// httpGet fetches path from addr inside node n and returns the body.
func httpGet(t *testing.T, n *lab.Node, addr, path string) string {
	t.Helper()
	c, err := n.Dial("tcp", addr, 3*time.Second)
	if err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, addr)
	b, _ := io.ReadAll(c)
	s := string(b)
	if i := strings.Index(s, "\r\n\r\n"); i >= 0 {
		s = s[i+4:]
	}
	return strings.TrimSpace(s)
}
