package lb_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/healthcheck"
	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/ipvs"
	"github.com/lbd-project/lbd/lb"
)

// countingKernel counts the netlink messages the engine sends.
type countingKernel struct {
	lb.Kernel
	mu       sync.Mutex
	messages int
}

func (k *countingKernel) Apply(ctx context.Context, p ipvs.Plan) (ipvs.ApplyResult, error) {
	res, err := k.Kernel.Apply(ctx, p)
	k.mu.Lock()
	k.messages += res.Messages
	k.mu.Unlock()
	return res, err
}

func (k *countingKernel) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.messages
}

// env is a NAT balancer lab: client -- lb -- (rs1, rs2, sorry) on a LAN.
type env struct {
	t      *testing.T
	client *lab.Node
	lbNode *lab.Node
	ipvs   *ipvs.Client
	failed map[string]*atomic.Bool // real server name -> health fails
	ctx    context.Context
}

func newEnv(t *testing.T) *env {
	t.Helper()
	l := lab.New(t)
	e := &env{t: t, client: l.Node("client"), lbNode: l.Node("lb"), failed: map[string]*atomic.Bool{}}
	e.client.Link("eth0", e.lbNode, "front")
	e.client.AddAddr("eth0", "198.51.100.2/24")
	e.lbNode.AddAddr("front", "198.51.100.1/24")
	e.lbNode.AddAddr("front", "198.51.100.10/32")
	e.lbNode.Sysctl("net.ipv4.ip_forward", "1")
	back := l.LAN("back")
	e.lbNode.Attach(back, "back", "192.0.2.1/24")
	for name, addr := range map[string]string{"rs1": "192.0.2.15", "rs2": "192.0.2.16", "sorry": "192.0.2.99"} {
		n := l.Node(name)
		n.Attach(back, "eth0", addr+"/24")
		n.AddRoute("default", "192.0.2.1")
		fail := &atomic.Bool{}
		e.failed[name] = fail
		ln := n.Listen("tcp", addr+":8080")
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/health" && fail.Load() {
				http.Error(w, "failing", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintln(w, name)
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
	}
	if err := e.lbNode.Do(func() (err error) { e.ipvs, err = ipvs.Open(); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.ipvs.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	e.ctx = ctx
	return e
}

// engine starts an engine for yaml and returns it with its message counter
// and a stop function.
func (e *env) engine(yaml string) (*lb.Engine, *countingKernel, func()) {
	e.t.Helper()
	cfg, err := conf.Parse("vm.yaml", []byte(yaml))
	if err != nil {
		e.t.Fatal(err)
	}
	k := &countingKernel{Kernel: e.ipvs}
	std := lb.NewCheckerFactory(healthcheck.NewPinger())
	eng, err := lb.New(cfg, lb.Options{
		Kernel: k,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
		NewChecker: func(s lb.CheckSpec) (healthcheck.Checker, error) {
			c, err := std(s)
			return lab.NodeChecker[healthcheck.Result]{Node: e.lbNode, Inner: c}, err
		},
		DrainPoll: 100 * time.Millisecond,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() { defer close(done); eng.Run(ctx) }()
	if _, err := eng.Status(ctx); err != nil {
		e.t.Fatal(err)
	}
	stop := func() { cancel(); <-done }
	e.t.Cleanup(stop)
	return eng, k, stop
}

// ipvsadm runs Debian's ipvsadm in the balancer's namespace.
func (e *env) ipvsadm(args ...string) string {
	e.t.Helper()
	var out strings.Builder
	cmd := exec.CommandContext(e.ctx, "ipvsadm", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := e.lbNode.RunCmd(cmd); err != nil {
		e.t.Fatalf("ipvsadm %v: %v: %s", args, err, out.String())
	}
	return out.String()
}

// waitRules waits up to 10 s until ipvsadm -S -n prints want.
func (e *env) waitRules(what, want string) {
	e.t.Helper()
	var got string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got = e.ipvsadm("-S", "-n"); got == want {
			return
		}
	}
	e.t.Fatalf("%s: ipvsadm -S -n\n%s\nwant\n%s", what, got, want)
}

// get fetches / through the VIP from the client and returns the body.
func (e *env) get() string {
	e.t.Helper()
	body, err := e.tryGet()
	if err != nil {
		e.t.Fatal(err)
	}
	return body
}

// tryGet is get for any goroutine: it returns the error.
func (e *env) tryGet() (string, error) {
	c, err := e.client.Dial("tcp", "198.51.100.10:80", 3*time.Second)
	if err != nil {
		return "", fmt.Errorf("connect through the VIP: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.0\r\n\r\n")
	b, err := io.ReadAll(c)
	if err != nil {
		return "", fmt.Errorf("read through the VIP: %w", err)
	}
	s := string(b)
	return strings.TrimSpace(s[strings.LastIndex(s, "\r\n\r\n")+1:]), nil
}

// request is one tryGet for a request loop; an answer from neither real
// server is a failure too.
func (e *env) request() error {
	body, err := e.tryGet()
	if err == nil && body != "rs1" && body != "rs2" {
		err = fmt.Errorf("answer %q from neither real server", body)
	}
	return err
}

const vmConfig = `global: {lvs_reconcile_interval: 1h, lvs_drain_timeout: 5s}
virtual_servers:
  - address: 198.51.100.10:80
    scheduler: rr
    check: {type: HTTP_GET, delay_loop: 200ms, connect_timeout: 1s, retry: 0, warmup: 0, urls: [{path: /health}]}
    real_servers: [192.0.2.15:8080, 192.0.2.16:8080]
`

const bothUp = `-A -t 198.51.100.10:80 -s rr
-a -t 198.51.100.10:80 -r 192.0.2.15:8080 -m -w 1
-a -t 198.51.100.10:80 -r 192.0.2.16:8080 -m -w 1
`

// TestIntegrationVMEngine runs the engine against the real kernel IPVS in
// the lab VM, with Go HTTP real servers behind a NAT balancer namespace.
func TestIntegrationVMEngine(t *testing.T) {
	if !lab.RunInVM(t, lab.VMOptions{}) {
		return
	}
	t.Run("health failure removes a real server, recovery restores it", func(t *testing.T) {
		e := newEnv(t)
		e.engine(vmConfig)
		e.waitRules("start", bothUp)
		seen := map[string]bool{}
		for range 4 {
			seen[e.get()] = true
		}
		if !seen["rs1"] || !seen["rs2"] {
			t.Errorf("round robin reached %v", seen)
		}
		e.failed["rs2"].Store(true)
		e.waitRules("rs2 failing", "-A -t 198.51.100.10:80 -s rr\n-a -t 198.51.100.10:80 -r 192.0.2.15:8080 -m -w 1\n")
		for range 3 {
			if got := e.get(); got != "rs1" {
				t.Errorf("with rs2 down, got %q", got)
			}
		}
		e.failed["rs2"].Store(false)
		e.waitRules("rs2 recovered", bothUp)
	})

	t.Run("quorum loss installs the sorry server", func(t *testing.T) {
		e := newEnv(t)
		e.engine(strings.Replace(vmConfig, "    scheduler: rr\n", "    scheduler: rr\n    quorum: 2\n    sorry_server: 192.0.2.99:8080\n", 1))
		e.waitRules("start", bothUp)
		e.failed["rs1"].Store(true)
		e.waitRules("quorum lost", "-A -t 198.51.100.10:80 -s rr\n-a -t 198.51.100.10:80 -r 192.0.2.99:8080 -m -w 1\n")
		if got := e.get(); got != "sorry" {
			t.Errorf("without quorum, got %q, want the sorry server", got)
		}
		e.failed["rs1"].Store(false)
		e.waitRules("quorum back", bothUp)
	})

	t.Run("inhibit_on_failure sets weight 0", func(t *testing.T) {
		e := newEnv(t)
		e.engine(strings.Replace(vmConfig, "    scheduler: rr\n", "    scheduler: rr\n    inhibit_on_failure: true\n", 1))
		e.waitRules("start", bothUp)
		e.failed["rs1"].Store(true)
		e.waitRules("rs1 inhibited", strings.Replace(bothUp, "192.0.2.15:8080 -m -w 1", "192.0.2.15:8080 -m -w 0", 1))
	})

	t.Run("reload sends exactly the changed objects; a removed server drains", func(t *testing.T) {
		e := newEnv(t)
		eng, _, _ := e.engine(vmConfig)
		e.waitRules("start", bothUp)
		// Read as the daemon reads: through a conf.Parser, so unchanged
		// virtual servers are reused.
		var parser conf.Parser
		if _, err := parser.Parse("vm.yaml", []byte(vmConfig)); err != nil {
			t.Fatal(err)
		}
		reload := func(yaml, wantPlan string, wantMessages int) {
			t.Helper()
			cfg, err := parser.Parse("vm.yaml", []byte(yaml))
			if err != nil {
				t.Fatal(err)
			}
			res, err := eng.Reload(e.ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Plan.String() != wantPlan || res.Result.Messages != wantMessages {
				t.Errorf("reload sent %d messages:\n%s\nwant %d:\n%s", res.Result.Messages, res.Plan, wantMessages, wantPlan)
			}
		}
		weighted := strings.Replace(vmConfig, "192.0.2.16:8080]", "{address: 192.0.2.16:8080, weight: 3}]", 1)
		reload(weighted, "~ -e -t 198.51.100.10:80 -r 192.0.2.16:8080 -m -w 3\n", 1)
		reload(weighted, "", 0) // the same file again: nothing
		// A new virtual server is added whole; the first is not touched.
		added := weighted + "  - address: 198.51.100.11:80\n    real_servers: [192.0.2.15:8080]\n"
		reload(added, "+ -A -t 198.51.100.11:80 -s wlc\n+ -a -t 198.51.100.11:80 -r 192.0.2.15:8080 -m -w 1\n", 2)
		reload(weighted, "- -D -t 198.51.100.11:80\n", 1)
		// A bad file is refused by the parser; the kernel keeps its table.
		if _, err := parser.Parse("vm.yaml", []byte(strings.Replace(weighted, "scheduler: rr", "scheduler: rrr", 1))); err == nil ||
			!strings.Contains(err.Error(), `vm.yaml:3:5: virtual server TCP 198.51.100.10:80: unknown scheduler "rrr"`) {
			t.Errorf("bad file: %v", err)
		}
		sched := strings.Replace(weighted, "scheduler: rr", "scheduler: wrr", 1)
		reload(sched, "~ -E -t 198.51.100.10:80 -s wrr\n", 1)

		// Hold a connection to rs2 open, then remove rs2: it drains.
		var conns []net.Conn
		for range 2 {
			c, err := e.client.Dial("tcp", "198.51.100.10:80", 3*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		removed := strings.Replace(sched, ", {address: 192.0.2.16:8080, weight: 3}]", "]", 1)
		reload(removed, "~ -e -t 198.51.100.10:80 -r 192.0.2.16:8080 -m -w 0\n", 1)
		time.Sleep(500 * time.Millisecond)
		if out := e.ipvsadm("-S", "-n"); !strings.Contains(out, "192.0.2.16:8080 -m -w 0") {
			t.Errorf("draining server removed while a connection was open:\n%s", out)
		}
		for _, c := range conns {
			c.Close()
		}
		e.waitRules("drained", "-A -t 198.51.100.10:80 -s wrr\n-a -t 198.51.100.10:80 -r 192.0.2.15:8080 -m -w 1\n")
	})

	t.Run("restart adopts the kernel table without a message; drift is repaired", func(t *testing.T) {
		e := newEnv(t)
		// A service lbd does not manage must survive everything below.
		e.ipvsadm("-A", "-u", "198.51.100.10:53", "-s", "rr")
		_, first, stop := e.engine(vmConfig)
		want := bothUp + "-A -u 198.51.100.10:53 -s rr\n"
		e.waitRules("first start", want)
		if first.count() != 3 {
			t.Errorf("first start sent %d messages, want 3", first.count())
		}
		// A client loop runs across the restart: not one request may fail.
		var (
			eng *lb.Engine
			k   *countingKernel
		)
		load := lab.UnderLoad([]func() error{e.request}, func() {
			stop()
			eng, k, _ = e.engine(vmConfig)
			if _, err := eng.Status(e.ctx); err != nil {
				t.Fatal(err)
			}
		})
		t.Logf("restart_requests ok=%d failed=%d", load.Sent-load.Failed, load.Failed)
		if load.Failed != 0 || load.Sent == 0 {
			t.Errorf("across the restart %d of %d requests failed%s", load.Failed, load.Sent, load.Why())
		}
		if n := k.count(); n != 0 {
			t.Errorf("restart on a programmed kernel sent %d messages", n)
		}
		e.ipvsadm("-d", "-t", "198.51.100.10:80", "-r", "192.0.2.16:8080")
		plan, res, err := eng.Reconcile(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if plan.String() != "+ -a -t 198.51.100.10:80 -r 192.0.2.16:8080 -m -w 1\n" || res.Messages != 1 {
			t.Errorf("drift repair sent %d messages:\n%s", res.Messages, plan)
		}
		e.waitRules("repaired", want)
		if st, _ := eng.Status(e.ctx); st.Drifts != 1 {
			t.Errorf("drifts = %d", st.Drifts)
		}
	})
}
