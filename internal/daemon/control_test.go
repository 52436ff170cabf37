package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/healthcheck"
	"github.com/lbd-project/lbd/internal/control"
	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/ipvs"
	"github.com/lbd-project/lbd/ipvs/ipvstest"
	"github.com/lbd-project/lbd/lb"
	"github.com/lbd-project/lbd/vrrp"
	"github.com/lbd-project/lbd/vrrp/vrrptest"
)

// testHost is the daemon's VRRP host in these tests: one in-memory link,
// every member sending from 192.0.2.1.
type testHost struct {
	*vrrptest.Host
	sent <-chan vrrp.Packet // what the daemon sends
	// peer announces addresses as 192.0.2.2, the router of advert.
	peer *vrrptest.Announcer
}

func newFakeHost() *testHost {
	hub := vrrptest.NewHub()
	return &testHost{Host: vrrptest.NewHost(hub, netip.MustParseAddr("192.0.2.1")), sent: hub.Tap(1024),
		peer: vrrptest.NewHost(hub, netip.MustParseAddr("192.0.2.2")).Announcer}
}

// takeOver does what a peer taking over VRID 51 does: an advert, then a
// gratuitous ARP for its address.
func (h *testHost) takeOver(t *testing.T) {
	h.advert(t, 100)
	h.peer.Announce([]netip.Addr{netip.MustParseAddr("192.0.2.100")})
}

// advert injects an advert of VRID 51 from peer.
func (h *testHost) advert(t *testing.T, prio uint8) {
	t.Helper()
	a := vrrp.Advert{Version: vrrp.Version3, VRID: 51, Priority: prio, Interval: 50 * time.Millisecond,
		Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}
	src, dst := netip.MustParseAddr("192.0.2.2"), vrrp.MulticastIPv4
	b, err := a.Marshal(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	h.Hub.Inject(vrrp.Packet{Src: src, Dst: dst, TTL: 255, Payload: b})
}

// okChecker passes while up is set.
type okChecker struct{ up *atomic.Bool }

func (c okChecker) Check(ctx context.Context) healthcheck.Result {
	return healthcheck.Result{OK: c.up.Load(), Reason: "fake", Weight: healthcheck.NoWeight}
}
func (c okChecker) String() string { return "fake" }

const controlYAML = `global:
  control_socket: DIR/control.sock
  state_dir: DIR/state
  metrics_address: 127.0.0.1:0
  lvs_reconcile_interval: 1h
  lvs_drain_timeout: 1m
vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 51
    advert_interval: 50ms
    garp_master_delay: 0
    virtual_ipaddresses: [192.0.2.100]
virtual_servers:
  - address: 198.51.100.10:80
    scheduler: rr
    check: {type: TCP, delay_loop: 50ms, connect_timeout: 1s, retry: 0, warmup: 0}
    real_servers: [192.0.2.15:8080]
  - address: 198.51.100.11:80
    vrrp_instance: VI_1
    real_servers: [192.0.2.17:8080]
`

// testDaemon is a daemon on a fake host and kernel.
type testDaemon struct {
	t      *testing.T
	d      *daemon
	host   *testHost
	kernel *ipvstest.Kernel
	cancel context.CancelFunc
	done   chan struct{}
}

func startTestDaemon(t *testing.T, file string, h *testHost, k *ipvstest.Kernel, up *atomic.Bool) *testDaemon {
	t.Helper()
	return startTestDaemonLog(t, file, h, k, up, nil)
}

// startTestDaemonLog is startTestDaemon with the daemon's log also written
// to logw, for tests that check what it logs.
func startTestDaemonLog(t *testing.T, file string, h *testHost, k *ipvstest.Kernel, up *atomic.Bool, logw io.Writer) *testDaemon {
	t.Helper()
	return startTestDaemonWith(t, file, h, k, up, logw, nil)
}

// startTestDaemonWith is startTestDaemonLog with tune applied to the
// daemon before it starts (seams).
func startTestDaemonWith(t *testing.T, file string, h *testHost, k *ipvstest.Kernel, up *atomic.Bool, logw io.Writer,
	tune func(*daemon)) *testDaemon {
	t.Helper()
	cfg, err := conf.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	w := io.Discard
	if testing.Verbose() {
		w = os.Stderr
	}
	if logw != nil {
		w = io.MultiWriter(w, logw)
	}
	log := slog.New(slog.NewTextHandler(w, nil))
	d := newDaemon(file, log, h, healthcheck.NewPinger())
	d.openKernel = func() (lb.Kernel, io.Closer, error) { return k, io.NopCloser(nil), nil }
	d.newChecker = func(lb.CheckSpec) (healthcheck.Checker, error) { return okChecker{up}, nil }
	d.engineOpts = func(o *lb.Options) { o.DrainPoll = 20 * time.Millisecond }
	if tune != nil {
		tune(d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	td := &testDaemon{t: t, d: d, host: h, kernel: k, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(td.done)
		if err := d.serve(ctx, cfg, make(chan os.Signal)); err != nil {
			t.Error(err)
		}
	}()
	select {
	case <-d.started:
	case <-td.done:
		t.Fatal("daemon did not start")
	case <-time.After(5 * time.Second):
		t.Fatal("daemon did not start in 5s")
	}
	t.Cleanup(td.stop)
	return td
}

func (td *testDaemon) stop() {
	td.cancel()
	select {
	case <-td.done:
	case <-time.After(10 * time.Second):
		td.t.Error("daemon did not stop in 10s")
	}
}

func (td *testDaemon) call(method string, params, result any) error {
	td.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := control.DialContext(ctx, td.d.cfg.Global.ControlSocket)
	if err != nil {
		td.t.Fatal(err)
	}
	defer c.Close()
	return c.Call(ctx, method, params, result)
}

// rules is the fake kernel's table, one ipvsadm-like line per object.
func (td *testDaemon) rules() string {
	t, _ := td.kernel.Dump(context.Background())
	var b strings.Builder
	for _, e := range t.Services {
		b.WriteString(e.Key().String() + "\n")
		for _, d := range e.Destinations {
			b.WriteString("  " + d.Destination.String() + " w" + itoa(int(d.Weight)) + "\n")
		}
	}
	return b.String()
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	neg := n < 0
	if neg {
		n = -n
	}
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	if neg {
		s = "-" + s
	}
	return s
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	lab.WaitFor(t, 5*time.Second, 10*time.Millisecond, what, cond)
}

var svc10 = control.ServiceRef{Protocol: "TCP", Address: "198.51.100.10", Port: 80}

func TestDaemonControlSocket(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "lbd.yaml")
	yaml := strings.ReplaceAll(controlYAML, "DIR", dir)
	os.WriteFile(file, []byte(yaml), 0o644)
	h, k := newFakeHost(), ipvstest.NewKernel()
	up := &atomic.Bool{}
	up.Store(true)
	td := startTestDaemon(t, file, h, k, up)

	// Alone on the link, VI_1 becomes MASTER and the gated service comes.
	waitFor(t, "VI_1 master and its service installed", func() bool {
		return strings.Contains(td.rules(), "TCP 198.51.100.11:80\n  192.0.2.17:8080 w1")
	})
	if !strings.Contains(td.rules(), "TCP 198.51.100.10:80\n  192.0.2.15:8080 w1") {
		t.Fatalf("rules:\n%s", td.rules())
	}

	t.Run("status", func(t *testing.T) {
		var st control.StatusResult
		if err := td.call(control.MethodStatus, nil, &st); err != nil {
			t.Fatal(err)
		}
		if len(st.VRRPInstances) != 1 || st.VRRPInstances[0].State != "MASTER" || st.VRRPInstances[0].Reason == "" ||
			st.VRRPInstances[0].LastTransition.IsZero() {
			t.Errorf("vrrp: %+v", st.VRRPInstances)
		}
		if len(st.VirtualServers) != 2 {
			t.Fatalf("virtual servers: %+v", st.VirtualServers)
		}
		rs := st.VirtualServers[0].RealServers
		if len(rs) != 1 || !rs[0].Up || rs[0].KernelWeight == nil || *rs[0].KernelWeight != 1 || rs[0].Address != "192.0.2.15" || rs[0].Port != 8080 {
			t.Errorf("real servers: %+v", rs)
		}
		kt, _ := td.kernel.Dump(context.Background())
		if fp := st.VirtualServers[0].TableFingerprint; len(kt.Services) == 0 || fp != ipvs.TableFingerprint(kt.Services[0]) {
			t.Errorf("table fingerprint %q, want the kernel table's", fp)
		}
	})

	t.Run("runtime add, reload keeps it", func(t *testing.T) {
		w := int32(3)
		err := td.call(control.MethodRuntime, control.RuntimeParams{Op: "add", Service: svc10,
			RealServer: control.RealServerRef{Address: "192.0.2.16", Port: 8080}, Weight: &w}, nil)
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "runtime server in the kernel", func() bool { return strings.Contains(td.rules(), "192.0.2.16:8080 w3") })
		b, _ := os.ReadFile(filepath.Join(dir, "state", lb.StateFile))
		if !strings.Contains(string(b), `"192.0.2.16:8080"`) {
			t.Errorf("state file: %s", b)
		}
		err = td.call(control.MethodRuntime, control.RuntimeParams{Op: "add", Service: svc10,
			RealServer: control.RealServerRef{Address: "192.0.2.16", Port: 8080}}, nil)
		if !control.IsCode(err, CodeExists) {
			t.Errorf("second add: %v", err)
		}
		err = td.call(control.MethodRuntime, control.RuntimeParams{Op: "delete", Service: svc10,
			RealServer: control.RealServerRef{Address: "192.0.2.15", Port: 8080}}, nil)
		if !control.IsCode(err, CodeConfigured) {
			t.Errorf("delete of a configured server: %v", err)
		}
		err = td.call(control.MethodRuntime, control.RuntimeParams{Op: "add",
			Service: control.ServiceRef{Protocol: "UDP", Address: "198.51.100.10", Port: 53}, RealServer: control.RealServerRef{Address: "192.0.2.16", Port: 53}}, nil)
		if !control.IsCode(err, control.CodeNotManaged) {
			t.Errorf("unmanaged service: %v", err)
		}

		// A reload that changes the scheduler keeps the runtime server.
		os.WriteFile(file, []byte(strings.Replace(yaml, "scheduler: rr", "scheduler: wrr", 1)), 0o644)
		var rr control.ReloadResult
		if err := td.call(control.MethodReload, nil, &rr); err != nil {
			t.Fatal(err)
		}
		if rr.Generation != 1 || len(rr.Changes) != 1 || !strings.Contains(rr.Changes[0], "-s wrr") {
			t.Errorf("reload: %+v", rr)
		}
		if !strings.Contains(td.rules(), "192.0.2.16:8080 w3") {
			t.Errorf("runtime server lost by the reload:\n%s", td.rules())
		}
		var st control.StatusResult
		td.call(control.MethodStatus, nil, &st)
		var found bool
		for _, r := range st.VirtualServers[0].RealServers {
			found = found || (r.Address == "192.0.2.16" && r.Runtime && r.Weight == 3)
		}
		if !found || st.Generation != 1 || st.LastReload == nil || !st.LastReload.OK {
			t.Errorf("status after reload: %+v", st)
		}
	})

	t.Run("bad reload changes nothing", func(t *testing.T) {
		before := td.rules()
		os.WriteFile(file, []byte(strings.Replace(yaml, "scheduler: rr", "schedular: rr", 1)), 0o644)
		err := td.call(control.MethodReload, nil, nil)
		if !control.IsCode(err, control.CodeInvalidParams) || !strings.Contains(err.Error(), file+":") {
			t.Errorf("bad reload: %v", err)
		}
		if td.rules() != before {
			t.Errorf("bad reload changed the table:\n%s", td.rules())
		}
		var st control.StatusResult
		td.call(control.MethodStatus, nil, &st)
		if st.Generation != 1 || st.LastReload == nil || st.LastReload.OK {
			t.Errorf("status after a bad reload: %+v", st.LastReload)
		}
	})

	t.Run("events", func(t *testing.T) {
		// A real server going down and up, with the probe's last result.
		status := func() control.StatusResult {
			var st control.StatusResult
			if err := td.call(control.MethodStatus, nil, &st); err != nil {
				t.Fatal(err)
			}
			return st
		}
		up.Store(false)
		waitFor(t, "192.0.2.15 down", func() bool {
			rs := status().VirtualServers[0].RealServers[0]
			return !rs.Up && rs.LastCheck != nil && !rs.LastCheck.OK && rs.LastCheck.Reason == "fake"
		})
		up.Store(true)
		waitFor(t, "192.0.2.15 up", func() bool { return status().VirtualServers[0].RealServers[0].Up })
		st := status()
		if vs := st.VirtualServers[0]; vs.Scheduler != "wrr" || vs.Forwarding != "NAT" {
			t.Errorf("scheduler %q forwarding %q, want wrr NAT", vs.Scheduler, vs.Forwarding)
		}
		var got []string
		for _, e := range st.Events {
			got = append(got, e.Kind+" "+e.Subject+" "+e.Message+" "+strings.Join(e.Detail, "|"))
		}
		all := strings.Join(got, "\n")
		for _, want := range []string{
			"vrrp VI_1 MASTER (was BACKUP): ",
			"reload " + file + " ok: generation 1, 1 kernel change ~ -E -t 198.51.100.10:80 -s wrr",
			"reload " + file + " failed (invalid), the running configuration stays " + file + ":",
			"health TCP 198.51.100.10:80 192.0.2.15:8080 DOWN: fake",
			"health TCP 198.51.100.10:80 192.0.2.15:8080 UP: fake",
		} {
			if !strings.Contains(all, want) {
				t.Errorf("events lack %q:\n%s", want, all)
			}
		}
	})

	t.Run("status page", func(t *testing.T) {
		// Beside /metrics, the page shows what status answers.
		var st control.StatusResult
		td.call(control.MethodStatus, nil, &st)
		resp, err := http.Get("http://" + td.d.metricsAddr + "/status.json")
		if err != nil {
			t.Fatal(err)
		}
		var page control.StatusResult
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || page.RouterID != st.RouterID || len(page.VirtualServers) != len(st.VirtualServers) ||
			len(page.Events) < len(st.Events) || page.VRRPInstances[0].State != st.VRRPInstances[0].State {
			t.Errorf("/status.json (%v): %+v\nstatus: %+v", err, page, st)
		}
		resp, err = http.Get("http://" + td.d.metricsAddr + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), `data-instance="VI_1" data-state="MASTER"`) {
			t.Errorf("status page: %s\n%s", resp.Status, b)
		}
	})

	t.Run("plan", func(t *testing.T) {
		other := filepath.Join(dir, "other.yaml")
		os.WriteFile(other, []byte(strings.Replace(yaml, "real_servers: [192.0.2.15:8080]", "real_servers: [{address: 192.0.2.15:8080, weight: 5}]", 1)), 0o644)
		var p control.PlanResult
		if err := td.call(control.MethodPlan, control.PlanParams{File: other}, &p); err != nil {
			t.Fatal(err)
		}
		want := []string{"~ -E -t 198.51.100.10:80 -s rr", "~ -e -t 198.51.100.10:80 -r 192.0.2.15:8080 -m -w 5"}
		if strings.Join(p.Changes, "\n") != strings.Join(want, "\n") {
			t.Errorf("plan: %q, want %q", p.Changes, want)
		}
		if strings.Contains(td.rules(), "w5") {
			t.Error("plan changed the kernel")
		}
	})

	t.Run("drain, enable", func(t *testing.T) {
		key := ipvs.ServiceKey{Family: ipvs.IPv4, Protocol: ipvs.TCP, Address: netip.MustParseAddr("198.51.100.10"), Port: 80}
		dst := netip.MustParseAddrPort("192.0.2.15:8080")
		k.SetActiveConns(key, dst, 2)
		var dr control.DrainResult
		if err := td.call(control.MethodDrain, control.DrainParams{Service: svc10,
			RealServer: control.RealServerRef{Address: "192.0.2.15", Port: 8080}}, &dr); err != nil {
			t.Fatal(err)
		}
		if dr.ActiveConns != 2 || !strings.Contains(td.rules(), "192.0.2.15:8080 w0") {
			t.Errorf("drain: %+v\n%s", dr, td.rules())
		}
		k.SetActiveConns(key, dst, 0)
		waitFor(t, "drained server removed", func() bool { return !strings.Contains(td.rules(), "192.0.2.15:8080") })
		var st control.StatusResult
		td.call(control.MethodStatus, nil, &st)
		if rs := st.VirtualServers[0].RealServers[0]; !rs.Disabled || rs.KernelWeight != nil {
			t.Errorf("status of the drained server: %+v", rs)
		}
		if err := td.call(control.MethodEnable, control.EnableParams{Service: svc10,
			RealServer: control.RealServerRef{Address: "192.0.2.15", Port: 8080}}, nil); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "enabled server back", func() bool { return strings.Contains(td.rules(), "192.0.2.15:8080 w1") })
	})

	t.Run("metrics", func(t *testing.T) {
		resp, err := http.Get("http://" + td.d.metricsAddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{
			`lbd_ipvs_service_connections_total{service="TCP 198.51.100.10:80",virtual_server="TCP 198.51.100.10:80"} 0`,
			`lbd_ipvs_real_server_bytes_total{direction="in",real_server="192.0.2.16:8080"`,
			`lbd_real_server_up{real_server="192.0.2.15:8080",virtual_server="TCP 198.51.100.10:80"} 1`,
			`lbd_real_server_runtime{real_server="192.0.2.16:8080",virtual_server="TCP 198.51.100.10:80"} 1`,
			`lbd_vrrp_state{instance="VI_1",state="MASTER"} 1`,
			`lbd_vrrp_adverts_sent_total{instance="VI_1"}`,
			`lbd_reloads_total{result="ok"} 1`,
			`lbd_reloads_total{result="invalid"} 1`,
			`lbd_config_generation 1`,
			`lbd_drift_repairs_total 0`,
			`lbd_healthcheck_duration_seconds_bucket{real_server="192.0.2.15:8080",type="TCP"`,
			`lbd_healthcheck_results_total{real_server="192.0.2.15:8080",result="success",type="TCP"`,
		} {
			if !strings.Contains(string(b), want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		if t.Failed() {
			t.Logf("metrics:\n%s", b)
		}

		// The check series of a real server that is gone go with it.
		const rs16 = `lbd_healthcheck_results_total{real_server="192.0.2.16:8080"`
		if !strings.Contains(string(b), rs16) {
			t.Fatalf("metrics lack %s before its server is deleted", rs16)
		}
		if err := td.call(control.MethodRuntime, control.RuntimeParams{Op: "delete", Service: svc10,
			RealServer: control.RealServerRef{Address: "192.0.2.16", Port: 8080}}, nil); err != nil {
			t.Fatal(err)
		}
		resp, err = http.Get("http://" + td.d.metricsAddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), rs16) || !strings.Contains(string(b), `lbd_healthcheck_results_total{real_server="192.0.2.15:8080"`) {
			t.Errorf("after deleting 192.0.2.16:8080 the check series are wrong:\n%s", b)
		}
		w := int32(3) // back, for the restart test
		if err := td.call(control.MethodRuntime, control.RuntimeParams{Op: "add", Service: svc10,
			RealServer: control.RealServerRef{Address: "192.0.2.16", Port: 8080}, Weight: &w}, nil); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("handover", func(t *testing.T) {
		done := make(chan error, 1)
		var res control.HandoverResult
		go func() { done <- td.call(control.MethodHandover, control.HandoverParams{}, &res) }()
		// Wait for the priority-0 advert, then take over as a peer would.
		waitFor(t, "priority 0 advert", func() bool {
			for {
				select {
				case p := <-h.sent:
					if len(p.Payload) > 2 && p.Payload[2] == 0 {
						return true
					}
				default:
					return false
				}
			}
		})
		if h.VIPs.Count() != 1 {
			t.Error("addresses released before a new master was heard")
		}
		h.takeOver(t)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if len(res.Instances) != 1 || res.Instances[0] != "VI_1" {
			t.Errorf("handover: %+v", res)
		}
		if h.VIPs.Count() != 0 {
			t.Error("addresses kept after the handover")
		}
		waitFor(t, "gated service removed", func() bool { return !strings.Contains(td.rules(), "198.51.100.11") })
		var st control.StatusResult
		td.call(control.MethodStatus, nil, &st)
		if in := st.VRRPInstances[0]; in.State != "BACKUP" || in.Reason != "handover requested" || in.Priority != 1 {
			t.Errorf("after handover: %+v", in)
		}
		// The peer's adverts go on; the instance stays BACKUP.
		for range 5 {
			h.advert(t, 100)
			time.Sleep(20 * time.Millisecond)
		}
		td.call(control.MethodStatus, nil, &st)
		if st.VRRPInstances[0].State != "BACKUP" {
			t.Errorf("instance took over again: %+v", st.VRRPInstances[0])
		}
		if err := td.call(control.MethodHandover, control.HandoverParams{Instance: "VI_9"}, nil); !control.IsCode(err, control.CodeNotFound) {
			t.Errorf("unknown instance: %v", err)
		}
		if err := td.call(control.MethodHandover, control.HandoverParams{Restore: true}, &res); err != nil {
			t.Fatal(err)
		}
		td.call(control.MethodStatus, nil, &st)
		if st.VRRPInstances[0].Priority != 100 {
			t.Errorf("priority after restore: %+v", st.VRRPInstances[0])
		}
	})

	t.Run("restart keeps runtime servers", func(t *testing.T) {
		td.stop()
		os.WriteFile(file, []byte(yaml), 0o644)
		td2 := startTestDaemon(t, file, newFakeHost(), k, up)
		var st control.StatusResult
		if err := td2.call(control.MethodStatus, nil, &st); err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, r := range st.VirtualServers[0].RealServers {
			found = found || (r.Address == "192.0.2.16" && r.Runtime)
		}
		if !found || !strings.Contains(td2.rules(), "192.0.2.16:8080 w3") {
			t.Errorf("runtime server lost by the restart: %+v\n%s", st.VirtualServers[0], td2.rules())
		}
		if err := td2.call(control.MethodRuntime, control.RuntimeParams{Op: "delete", Service: svc10,
			RealServer: control.RealServerRef{Address: "192.0.2.16", Port: 8080}}, nil); err != nil {
			t.Fatal(err)
		}
		// Deleted: it drains (no connections) and goes.
		waitFor(t, "deleted runtime server gone", func() bool { return !strings.Contains(td2.rules(), "192.0.2.16") })
	})
}

// A VRRP-only configuration runs without IPVS; one with virtual servers
// or IPVS settings does not start without it, and says why.
func TestDaemonWithoutIPVS(t *testing.T) {
	dir := t.TempDir()
	noIPVS := func() (lb.Kernel, io.Closer, error) { return nil, nil, errors.New("ipvs: not supported") }
	vrrpOnly := strings.SplitN(strings.ReplaceAll(controlYAML, "DIR", dir), "virtual_servers:", 2)[0]
	for _, c := range []struct {
		yaml string
		fail bool
	}{
		{vrrpOnly, false},
		{strings.ReplaceAll(controlYAML, "DIR", dir), true},
		// A kernel setting lbd cannot make is an error too, not ignored.
		{strings.Replace(vrrpOnly, "global:\n", "global:\n  lvs_sloppy_tcp: true\n", 1), true},
	} {
		file := filepath.Join(dir, "lbd.yaml")
		os.WriteFile(file, []byte(c.yaml), 0o644)
		cfg, err := conf.Load(file)
		if err != nil {
			t.Fatal(err)
		}
		d := newDaemon(file, slog.New(slog.NewTextHandler(io.Discard, nil)), newFakeHost(), healthcheck.NewPinger())
		d.openKernel = noIPVS
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- d.serve(ctx, cfg, make(chan os.Signal)) }()
		if c.fail {
			select {
			case err := <-errc:
				if err == nil || !strings.Contains(err.Error(), "kernel has no IPVS") {
					t.Errorf("start without IPVS: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Error("daemon with virtual servers started without IPVS")
			}
			cancel()
			continue
		}
		select {
		case <-d.started:
		case err := <-errc:
			t.Fatalf("VRRP-only daemon without IPVS: %v", err)
		}
		var st control.StatusResult
		ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
		st, err = d.statusResult(ctx2)
		cancel2()
		if err != nil || len(st.VRRPInstances) != 1 {
			t.Errorf("status: %+v %v", st, err)
		}
		cancel()
		<-errc
	}
}

// A reload whose file takes long to load (a big file; before the alias
// budget, an alias bomb) or whose kernel apply is long runs off the main
// loop: the loop goes on answering the systemd watchdog, which would
// otherwise kill lbd.
func TestSlowReloadKeepsWatchdogAlive(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "lbd.yaml")
	os.WriteFile(file, []byte(strings.ReplaceAll(controlYAML, "DIR", dir)), 0o644)
	var up atomic.Bool
	up.Store(true)
	td := startTestDaemon(t, file, newFakeHost(), ipvstest.NewKernel(), &up)
	release := make(chan struct{})
	loading := make(chan struct{})
	load := td.d.load
	td.d.load = func(path string) (*conf.Config, error) {
		close(loading)
		<-release
		return load(path)
	}
	done := make(chan error, 1)
	go func() { done <- td.call(control.MethodReload, nil, nil) }()
	<-loading
	for range 3 {
		if !td.d.alive() {
			close(release)
			t.Fatal("the main loop stopped answering the watchdog during a reload")
		}
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("reload: %v", err)
	}
}

// TestReloadKeepsRestartOnlySettings: a reload that changes a setting only
// a restart can apply (net_namespace, metrics_address, ...) applies the
// rest, keeps the running values, and says which in the log and in the
// reload's event; the next reload compares with the running values, so it
// says it again.
func TestReloadKeepsRestartOnlySettings(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "lbd.yaml")
	yaml := strings.ReplaceAll(controlYAML, "DIR", dir)
	os.WriteFile(file, []byte(yaml), 0o644)
	up := &atomic.Bool{}
	up.Store(true)
	var logBuf lab.SyncBuffer
	td := startTestDaemonLog(t, file, newFakeHost(), ipvstest.NewKernel(), up, &logBuf)
	changed := strings.Replace(yaml, "  metrics_address: 127.0.0.1:0\n", "  metrics_address: 127.0.0.1:1\n  net_namespace: blue\n", 1)
	changed = strings.Replace(changed, "scheduler: rr", "scheduler: wrr", 1)
	os.WriteFile(file, []byte(changed), 0o644)
	want := `changes only at restart, the running value stays: metrics_address "127.0.0.1:1" (running: "127.0.0.1:0"), ` +
		`net_namespace "blue" (running: "")`
	for i := range 2 {
		var rr control.ReloadResult
		if err := td.call(control.MethodReload, nil, &rr); err != nil {
			t.Fatal(err)
		}
		if i == 0 && len(rr.Changes) == 0 {
			t.Error("the reload applied nothing else")
		}
		var st control.StatusResult
		if err := td.call(control.MethodStatus, nil, &st); err != nil {
			t.Fatal(err)
		}
		if e := st.Events[len(st.Events)-1]; e.Kind != control.EventReload || !strings.Contains(e.Message, want) {
			t.Errorf("reload %d: event %q, want it to contain %q", i+1, e.Message, want)
		}
		if n := strings.Count(logBuf.String(), "level=WARN msg=\"lbd: "+strings.ReplaceAll(want, `"`, `\"`)); n != i+1 {
			t.Errorf("reload %d: the warning is logged %d times:\n%s", i+1, n, logBuf.String())
		}
	}
	if g := td.d.cfg.Global; g.NetNamespace != "" || *g.MetricsAddress != "127.0.0.1:0" {
		t.Errorf("running configuration: net_namespace %q, metrics_address %q", g.NetNamespace, *g.MetricsAddress)
	}
}
