package halab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/internal/lab/lbdrole"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	// The benchmark keeps thousands of sockets open at once (client, real
	// servers); the VM's init leaves the usual 1024/4096 file limit. As
	// root, raise it (never lower it); without root the lab is skipped.
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil && lim.Max < 1<<16 {
		_ = unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: 1 << 16, Max: 1 << 16})
	}
	lab.Main(m, lab.Roles{"lbd": lbdrole.Run, "load": loadMain})
}

// The lab's addresses, all TEST-NET, existing only in the lab's
// namespaces inside the VM. The front LAN (198.51.100.0/24) holds the
// client, both balancers and the VIP; the back LAN (192.0.2.0/24) holds
// both balancers, the real servers and their gateway, a second VIP.
//
// Forwarding is NAT, for two reasons. It is the mode that needs the
// synced connection entries in both directions: the new master must
// translate the client's packets to the real server it was given and the
// real server's replies back to the VIP, so a missing or wrong entry shows
// either way. (With DR the balancer sees only the client's half; replies
// bypass it.) And the real servers need no VIP on a loopback and no ARP
// sysctls: their default route is the gateway VIP, which VRRP moves with
// the front VIP. (The demo, internal/demo, runs DR with mh and sloppy TCP,
// the set-up that loses no request in a planned handover.)
const (
	vipAddr     = "198.51.100.10"
	vipService  = vipAddr + ":7"
	gatewayAddr = "192.0.2.1"
)

var (
	vip         = netip.MustParseAddr(vipAddr)
	realServers = []string{"192.0.2.21:7", "192.0.2.22:7"}
)

// vrrpSettings are the VRRP timers both implementations get.
type vrrpSettings struct {
	advert time.Duration // advert interval (VRRPv3)
}

// haLab is one two-balancer lab.
type haLab struct {
	t      *testing.T
	l      *lab.Lab
	front  *lab.LAN
	back   *lab.LAN
	client *lab.Node
	dir    string
}

// newHALab builds the client, the two LANs and the real servers; the
// balancers are added with balancerNode.
func newHALab(t *testing.T) *haLab {
	h := &haLab{t: t, l: lab.New(t), dir: t.TempDir()}
	h.front, h.back = h.l.LAN("front"), h.l.LAN("back")
	h.client = h.l.Node("client")
	h.client.Attach(h.front, "eth0", "198.51.100.2/24")
	// Every benchmark request is a new connection: give the client the
	// whole port range so 20 s of load cannot run out of source ports.
	h.client.Sysctl("net.ipv4.ip_local_port_range", "1024 65535")
	for i, addr := range realServers {
		n := h.l.Node(fmt.Sprintf("rs%d", i+1))
		host, _, _ := strings.Cut(addr, ":")
		n.Attach(h.back, "eth0", host+"/24")
		n.AddRoute("default", gatewayAddr) // the VIP on the balancers' back side
		startEcho(t, n, addr)
	}
	return h
}

// balancerNode adds a balancer called name to both LANs; idx (1 or 2)
// picks its own addresses, .11 or .12 on each LAN. A balancer "rebooted"
// in the test is a new node with the same idx: the old one's links are
// down by then.
func (h *haLab) balancerNode(name string, idx int) *lab.Node {
	n := h.l.Node(name)
	n.Attach(h.front, "eth0", fmt.Sprintf("198.51.100.%d/24", 10+idx))
	n.Attach(h.back, "eth1", fmt.Sprintf("192.0.2.%d/24", 10+idx))
	n.Sysctl("net.ipv4.ip_forward", "1")
	return n
}

// balancer is one running lbd or keepalived.
type balancer struct {
	name   string
	node   *lab.Node
	proc   *lab.Process
	socket string // lbd's control socket
}

func (b *balancer) holdsVIP() bool { return b.node.HasAddr(vip) }

// lbdYAML is lbd's configuration for a balancer: one VRRP instance
// carrying the front VIP and the gateway, the IPVS sync daemon following
// it, and the NAT echo service with a TCP check. nopreempt, so that a
// rebooted higher-priority balancer rejoins as backup, and the only way
// back is the planned handover.
func lbdYAML(dir, name string, prio int, v vrrpSettings) string {
	var rs strings.Builder
	for _, a := range realServers {
		fmt.Fprintf(&rs, "      - {address: %s}\n", a)
	}
	return fmt.Sprintf(`global:
  router_id: %[1]s
  control_socket: %[2]s/%[1]s.sock
  state_dir: %[2]s/%[1]s
  lvs_sync_daemon: {interface: eth0, vrrp_instance: VI_1}
vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 51
    priority: %[3]d
    version: 3
    advert_interval: %[4]s
    nopreempt: true
    virtual_ipaddresses:
      - %[5]s/24
      - {address: %[6]s/24, interface: eth1}
virtual_servers:
  - name: echo
    address: %[7]s
    protocol: TCP
    scheduler: rr
    forwarding: NAT
    check: {type: TCP, delay_loop: 1s, connect_timeout: 1s, retry: 0, warmup: 0s}
    real_servers:
%[8]s`, name, dir, prio, v.advert, vipAddr, gatewayAddr, vipService, rs.String())
}

// keepalivedConf is the same balancer for keepalived 2.2.7: same VRRP
// instance (version, interval, priority, nopreempt, addresses), same
// lvs_sync_daemon, same virtual server, real servers and checks.
func keepalivedConf(name string, prio int, v vrrpSettings) string {
	var rs strings.Builder
	for _, a := range realServers {
		host, port, _ := strings.Cut(a, ":")
		fmt.Fprintf(&rs, `  real_server %s %s {
    weight 1
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }
`, host, port)
	}
	return fmt.Sprintf(`global_defs {
  router_id %[1]s
  lvs_sync_daemon eth0 VI_1
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority %[2]d
  version 3
  advert_int %[3]g
  nopreempt
  virtual_ipaddress {
    %[4]s/24
    %[5]s/24 dev eth1
  }
}
virtual_server %[6]s 7 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
%[7]s}
`, name, prio, v.advert.Seconds(), vipAddr, gatewayAddr, vipAddr, rs.String())
}

// startLBD runs lbd (this binary in the role "lbd", see TestMain) on n.
func (h *haLab) startLBD(n *lab.Node, name string, prio int, v vrrpSettings) *balancer {
	file := filepath.Join(h.dir, name+".yaml")
	if err := os.WriteFile(file, []byte(lbdYAML(h.dir, name, prio, v)), 0o644); err != nil {
		h.t.Fatal(err)
	}
	return &balancer{name: name, node: n, proc: n.StartRole("lbd", "-f", file), socket: filepath.Join(h.dir, name+".sock")}
}

// startKeepalived runs Debian's keepalived (VRRP and checker) on n.
func (h *haLab) startKeepalived(n *lab.Node, name string, prio int, v vrrpSettings) *balancer {
	file := filepath.Join(h.dir, name+".conf")
	if err := os.WriteFile(file, []byte(keepalivedConf(name, prio, v)), 0o644); err != nil {
		h.t.Fatal(err)
	}
	return &balancer{name: name, node: n, proc: n.StartKeepalived(file)}
}

// startPair starts lb1 (priority 150) and, once lb1 holds the VIP, lb2
// (100), with impl ("lbd" or "keepalived"), and waits until both are
// ready. Starting them in turn makes lb1 the master for certain: with
// nopreempt, whichever balancer times out first would keep the role.
func (h *haLab) startPair(impl string, v vrrpSettings) (lb1, lb2 *balancer) {
	h.t.Helper()
	start := h.startLBD
	if impl == "keepalived" {
		start = h.startKeepalived
	}
	lb1 = start(h.balancerNode("lb1", 1), "lb1", 150, v)
	if took, ok := eventually(60*time.Second, lb1.holdsVIP); !ok {
		h.t.Fatalf("%s lb1 alone did not take the VIP within %v:\n%s", impl, took.Round(time.Millisecond), lb1.proc.Out.String())
	}
	lb2 = start(h.balancerNode("lb2", 2), "lb2", 100, v)
	h.t.Cleanup(func() {
		if h.t.Failed() {
			for _, b := range []*balancer{lb1, lb2} {
				h.t.Logf("%s log:\n%s", b.name, b.proc.Out.String())
			}
		}
	})
	waitReady(h.t, lb1, lb2)
	return lb1, lb2
}

// runIPVSAdm runs Debian's ipvsadm on n, bounded.
func runIPVSAdm(t *testing.T, n *lab.Node, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := n.Run(ctx, "ipvsadm", args...)
	if err != nil {
		t.Fatalf("%s: ipvsadm %s: %v", n.Name, strings.Join(args, " "), err)
	}
	return out
}

// hasRealServers reports whether n's IPVS table has the echo service
// with every real server.
func hasRealServers(t *testing.T, n *lab.Node) bool {
	out := runIPVSAdm(t, n, "-S", "-n")
	for _, rs := range realServers {
		if !strings.Contains(out, "-a -t "+vipService+" -r "+rs+" ") {
			return false
		}
	}
	return true
}

// syncDaemon reports whether n runs the IPVS sync daemon in role
// ("master" or "backup"), from ipvsadm -L --daemon.
func syncDaemon(t *testing.T, n *lab.Node, role string) bool {
	return strings.Contains(runIPVSAdm(t, n, "-L", "--daemon"), role+" sync daemon")
}

// establishedToVIP counts n's IPVS connection entries to the VIP in state
// ESTABLISHED ("TCP 14:59 ESTABLISHED CLIENT VIP REAL" in ipvsadm -L -n -c).
func establishedToVIP(t *testing.T, n *lab.Node) int {
	count := 0
	for _, line := range strings.Split(runIPVSAdm(t, n, "-L", "-n", "-c"), "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && f[0] == "TCP" && f[2] == "ESTABLISHED" && f[4] == vipService {
			count++
		}
	}
	return count
}

// eventually polls cond every 100 ms up to limit and returns how long it
// took and whether cond held.
func eventually(limit time.Duration, cond func() bool) (time.Duration, bool) {
	return lab.Poll(limit, 100*time.Millisecond, cond)
}

// waitReady waits until master alone holds the VIP, both balancers have
// the echo service with every real server, and the sync daemons run in
// their roles.
func waitReady(t *testing.T, master, backup *balancer) {
	t.Helper()
	took, ok := eventually(60*time.Second, func() bool {
		return master.holdsVIP() && !backup.holdsVIP() &&
			hasRealServers(t, master.node) && hasRealServers(t, backup.node) &&
			syncDaemon(t, master.node, "master") && syncDaemon(t, backup.node, "backup")
	})
	if !ok {
		t.Fatalf("%s not master with %s backup, real servers up and sync daemons running after %v:\n%s:\n%s%s\n%s:\n%s%s",
			master.name, backup.name, took.Round(time.Millisecond),
			master.name, runIPVSAdm(t, master.node, "-S", "-n"), runIPVSAdm(t, master.node, "-L", "--daemon"),
			backup.name, runIPVSAdm(t, backup.node, "-S", "-n"), runIPVSAdm(t, backup.node, "-L", "--daemon"))
	}
	t.Logf("%s master, %s backup, ready after %v", master.name, backup.name, took.Round(time.Millisecond))
}

// die makes a balancer's machine fail: its links go down, then its
// daemon gets SIGKILL, by the PID the lab started. Killing the daemon
// alone would leave its VIPs on live links, answering ARP beside the new
// master's; a crashed machine answers nothing. keepalived's VRRP and
// checker children are in the process group the lab started for it
// (whose id is that same PID), and die with it.
func (b *balancer) die(t *testing.T) {
	t.Helper()
	b.node.SetLink("eth0", false)
	b.node.SetLink("eth1", false)
	pid := b.proc.Cmd.Process.Pid
	if err := b.proc.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s (pid %d): %v", b.name, pid, err)
	}
	if b.socket == "" { // keepalived
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	if err := b.proc.Wait(10 * time.Second); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Logf("%s after SIGKILL: %v", b.name, err)
	}
}

// echoServer is a real server's TCP echo service, in the test process
// but listening inside the real server's namespace.
type echoServer struct {
	mu    sync.Mutex
	conns map[net.Conn]bool
}

func startEcho(t *testing.T, n *lab.Node, addr string) {
	e := &echoServer{conns: map[net.Conn]bool{}}
	ln := n.Listen("tcp", addr)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				// Out of file descriptors or memory under load: a real
				// server backs off and keeps serving, it does not die.
				time.Sleep(10 * time.Millisecond)
				continue
			}
			e.mu.Lock()
			e.conns[c] = true
			e.mu.Unlock()
			go func() {
				io.Copy(c, c) // until the client closes (or resets)
				c.Close()
				e.mu.Lock()
				delete(e.conns, c)
				e.mu.Unlock()
			}()
		}
	}()
	// Registered after n.Listen's own cleanup, so this runs first: close
	// the listener, wait for the accept loop, then end open connections.
	t.Cleanup(func() {
		ln.Close()
		<-done
		e.mu.Lock()
		defer e.mu.Unlock()
		for c := range e.conns {
			c.Close()
		}
	})
}
