package daemon

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/control"
	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/internal/netns"
)

// TestLabNetNamespace runs the real lbd binary with global.net_namespace
// naming a namespace made by ip netns add, starting it in a node of its
// own. lbd executes itself again inside the named namespace (same PID):
// its static address and VIP appear there and nowhere else, its metrics
// listener is there, and its control socket, a file, answers from
// anywhere. lbd -t checks the namespace without entering, lbd doctor reads
// the namespace's interfaces, a reload cannot move lbd to another
// namespace, and lbd release removes the VIP a killed lbd left inside it.
func TestLabNetNamespace(t *testing.T) {
	l := lab.New(t)
	inner := l.NamedNode("lbdtest")
	start := l.Node("start")
	inner.Link("lbd0", start, "peer0") // the host kernel may lack dummy interfaces
	dir := t.TempDir()
	sock := filepath.Join(dir, "control.sock")
	static, vip := netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("192.0.2.100")
	yaml := fmt.Sprintf(`global:
  net_namespace: %s
  control_socket: %s
  state_dir: %s/state
  metrics_address: 127.0.0.1:9274
static_ipaddresses: [{address: 192.0.2.10/24, interface: lbd0}]
vrrp_instances:
  - name: VI_1
    interface: lbd0
    virtual_router_id: 51
    advert_interval: 100ms
    garp_master_delay: 0
    virtual_ipaddresses: [192.0.2.100/32]
`, inner.Name, sock, dir)
	ctx := context.Background()

	// lbd -t checks that the namespace exists, and does not enter it.
	cfg := filepath.Join(dir, "check.yaml")
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := start.Run(ctx, lbdBinary(t), "-t", "-f", cfg); err != nil || !strings.Contains(out, "network namespace "+inner.Name) {
		t.Errorf("lbd -t: %v: %s", err, out)
	}

	lb := startLBD(t, start, yaml)
	eventually(t, 10*time.Second, "the static address and the VIP in the named namespace", func() bool {
		return inner.HasAddr(static) && inner.HasAddr(vip)
	})
	if start.HasAddr(static) || start.HasAddr(vip) {
		t.Error("an address is in the namespace lbd was started in")
	}
	if addrs, err := net.InterfaceAddrs(); err != nil {
		t.Error(err)
	} else {
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil && (p.Addr() == static || p.Addr() == vip) {
				t.Errorf("%s is in the test's own namespace", a)
			}
		}
	}

	// One process, executed again inside the namespace.
	pid := lb.p.Cmd.Process.Pid
	var got, want syscall.Stat_t
	if err := syscall.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &got); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Stat(netns.Path(inner.Name), &want); err != nil {
		t.Fatal(err)
	}
	if got.Ino != want.Ino || got.Dev != want.Dev {
		t.Errorf("lbd (pid %d) is in namespace %d:%d, not %s (%d:%d)", pid, got.Dev, got.Ino, inner.Name, want.Dev, want.Ino)
	}
	if len(lb.lines(0, `msg="lbd: running in the network namespace" net_namespace=`+inner.Name+" how=entered")) != 1 ||
		len(lb.lines(0, `msg="lbd: starting"`, "pid="+strconv.Itoa(pid))) != 1 {
		t.Errorf("lbd did not log that it entered the namespace keeping pid %d", pid)
	}

	// The control socket answers from here; the metrics listener is in
	// the namespace only.
	var st control.StatusResult
	if err := controlCall(ctx, 10*time.Second, sock, control.MethodStatus, nil, &st); err != nil {
		t.Fatalf("status over %s: %v", sock, err)
	}
	if len(st.VRRPInstances) != 1 || st.VRRPInstances[0].State != "MASTER" {
		t.Errorf("status: %+v", st.VRRPInstances)
	}
	if m := httpGet(t, inner, "127.0.0.1:9274", "/metrics"); !strings.Contains(m, "lbd_vrrp_state") {
		t.Errorf("metrics in the namespace: %.300s", m)
	}
	if c, err := start.Dial("tcp", "127.0.0.1:9274", time.Second); err == nil {
		c.Close()
		t.Error("the metrics listener answers in the namespace lbd was started in")
	}

	// lbd doctor checks the namespace's interfaces: lbd0 exists there only.
	out, _ := start.Run(ctx, lbdBinary(t), "doctor", "-f", lb.cfg)
	if !strings.Contains(out, "ok    network namespace            "+inner.Name) || strings.Contains(out, "does not exist") {
		t.Errorf("lbd doctor:\n%s", out)
	}

	// A reload cannot move lbd: it keeps its namespace and says so.
	mark := len(lb.log())
	if err := os.WriteFile(lb.cfg, []byte(strings.Replace(yaml, "net_namespace: "+inner.Name, "net_namespace: lbdtest-elsewhere", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	lb.p.Signal(syscall.SIGHUP)
	eventually(t, 5*time.Second, "the reload's warning", func() bool {
		return len(lb.lines(mark, "level=WARN", `net_namespace \"lbdtest-elsewhere\" (running: \"`+inner.Name+`\")`)) == 1
	})
	before := st.Generation
	if err := controlCall(ctx, 10*time.Second, sock, control.MethodStatus, nil, &st); err != nil || st.Generation != before+1 || !inner.HasAddr(vip) {
		t.Errorf("after the reload: generation %d (before %d), VIP there %v, %v", st.Generation, before, inner.HasAddr(vip), err)
	}
	if e := st.Events[len(st.Events)-1]; e.Kind != control.EventReload || !strings.Contains(e.Message, "net_namespace") {
		t.Errorf("the reload's event does not name net_namespace: %+v", e)
	}

	// lbd release, run from outside, takes the VIP a killed lbd left.
	if err := os.WriteFile(lb.cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	lb.p.Signal(syscall.SIGKILL)
	lb.p.Wait(5 * time.Second)
	if !inner.HasAddr(vip) {
		t.Fatal("the VIP went with the process: nothing left for release to do")
	}
	out = start.MustRun(lbdBinary(t), "release", "-f", lb.cfg)
	if want := "instance VI_1: removed 192.0.2.100/32 from lbd0"; !strings.Contains(out, want) {
		t.Errorf("release output %q lacks %q", out, want)
	}
	if inner.HasAddr(vip) || !inner.HasAddr(static) {
		t.Errorf("after lbd release: VIP there %v, static address there %v", inner.HasAddr(vip), inner.HasAddr(static))
	}
}
