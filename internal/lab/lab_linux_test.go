package lab

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serveName answers every TCP connection on ln with name and a newline, the
// way the lab's real servers identify themselves.
func serveName(t *testing.T, ln net.Listener, name string) {
	Serve(t, ln, func(c net.Conn) { fmt.Fprintf(c, "%s\n", name) })
}

// readName dials addr from node n and returns the first line it answers.
func readName(t *testing.T, n *Node, addr string) string {
	t.Helper()
	c, err := n.Dial("tcp", addr, 3*time.Second)
	if err != nil {
		t.Fatalf("%s: dial %s: %v", n.Name, addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("%s: read from %s: %v", n.Name, addr, err)
	}
	return strings.TrimSpace(line)
}

func TestIntegrationNamespacesReachOverBridge(t *testing.T) {
	l := New(t)
	lan := l.LAN("lan")
	a, b := l.Node("a"), l.Node("b")
	a.Attach(lan, "eth0", "192.0.2.1/24", "2001:db8::1/64")
	b.Attach(lan, "eth0", "192.0.2.2/24", "2001:db8::2/64")

	serveName(t, b.Listen("tcp", "192.0.2.2:7000"), "b-v4")
	serveName(t, b.Listen("tcp", "[2001:db8::2]:7000"), "b-v6")
	if got := readName(t, a, "192.0.2.2:7000"); got != "b-v4" {
		t.Errorf("IPv4 over the bridge: got %q, want b-v4", got)
	}
	if got := readName(t, a, "[2001:db8::2]:7000"); got != "b-v6" {
		t.Errorf("IPv6 over the bridge: got %q, want b-v6", got)
	}
	// The address exists only in the namespaces: the test process's own
	// namespace cannot reach it.
	if c, err := net.DialTimeout("tcp", "192.0.2.2:7000", 200*time.Millisecond); err == nil {
		c.Close()
		t.Error("192.0.2.2 reachable from the host namespace; the lab leaked")
	}
}

func TestIntegrationProcessRunsInNode(t *testing.T) {
	l := New(t)
	n := l.Node("n")
	n.AddAddr("lo", "203.0.113.7/32")
	out := n.MustRun("cat", "/proc/net/fib_trie")
	if !strings.Contains(out, "203.0.113.7") {
		t.Fatalf("a process started in the node does not see its address:\n%s", out)
	}
	p := n.Start("sleep", "60")
	l.close() // what the cleanup does: must kill the process it started
	if err := p.Wait(5 * time.Second); err == nil || !p.Exited() {
		t.Fatalf("process survived lab cleanup: %v", err)
	}
}

// TestIntegrationVMIPVS proves the VM lab: kernel IPVS programmed by Debian's
// ipvsadm, and NAT traffic from a client namespace to a real server namespace
// through a balancer namespace, all inside the VM.
func TestIntegrationVMIPVS(t *testing.T) {
	if !RunInVM(t, VMOptions{}) {
		return
	}
	l := New(t)
	front, back := l.LAN("front"), l.LAN("back")
	client, lb, rs := l.Node("client"), l.Node("lb"), l.Node("rs")
	client.Attach(front, "eth0", "198.51.100.2/24")
	lb.Attach(front, "eth0", "198.51.100.1/24", "198.51.100.10/32")
	lb.Attach(back, "eth1", "192.0.2.1/24")
	rs.Attach(back, "eth0", "192.0.2.15/24")
	rs.AddRoute("default", "192.0.2.1")
	lb.Sysctl("net.ipv4.ip_forward", "1")
	serveName(t, rs.Listen("tcp", "192.0.2.15:8080"), "rs1")

	lb.MustRun("ipvsadm", "-A", "-t", "198.51.100.10:80", "-s", "rr")
	lb.MustRun("ipvsadm", "-a", "-t", "198.51.100.10:80", "-r", "192.0.2.15:8080", "-m", "-w", "1")

	t.Run("service in /proc/net/ip_vs", func(t *testing.T) {
		// /proc/net/ip_vs prints addresses in hex: 198.51.100.10:80 is C633640A:0050.
		out := lb.MustRun("cat", "/proc/net/ip_vs")
		for _, want := range []string{"TCP  C633640A:0050 rr", "-> C000020F:1F90      Masq    1"} {
			if !strings.Contains(out, want) {
				t.Errorf("/proc/net/ip_vs lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("NAT traffic reaches the real server", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			if got := readName(t, client, "198.51.100.10:80"); got != "rs1" {
				t.Fatalf("request %d through the VIP: got %q, want rs1", i, got)
			}
		}
		// The kernel folds its per-CPU counters into the totals every 2 s
		// (the rate estimator), so poll for a bounded while.
		var out string
		for deadline := time.Now().Add(6 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
			out = lb.MustRun("ipvsadm", "-L", "-n", "--stats")
			if strings.Contains(out, "-> 192.0.2.15:8080                     3 ") {
				return
			}
		}
		t.Errorf("ipvsadm --stats does not count 3 connections to the real server:\n%s", out)
	})
	t.Run("keepalived programs IPVS in the VM", func(t *testing.T) {
		// Debian's keepalived is in the guest as the reference the
		// migration and HA tests compare with.
		dir := t.TempDir()
		conf := dir + "/keepalived.conf"
		err := os.WriteFile(conf, []byte(`virtual_server 198.51.100.20 80 {
    delay_loop 60
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    real_server 192.0.2.15 8080 {
        weight 4
    }
}
`), 0o644)
		if err != nil {
			t.Fatal(err)
		}
		p := lb.Start("keepalived", "-n", "--check", "-f", conf,
			"-p", dir+"/keepalived.pid", "-c", dir+"/checkers.pid")
		want := "-a -t 198.51.100.20:80 -r 192.0.2.15:8080 -m -w 4"
		var out string
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if out = lb.MustRun("ipvsadm", "-S", "-n"); strings.Contains(out, want) {
				break
			}
		}
		if !strings.Contains(out, want) {
			t.Errorf("keepalived did not program %q:\n%s", want, out)
		}
		p.Signal(syscall.SIGTERM)
		p.Wait(10 * time.Second)
	})
	t.Run("no IPVS in other namespaces", func(t *testing.T) {
		if out := client.MustRun("ipvsadm", "-L", "-n"); strings.Contains(out, "198.51.100.10") {
			t.Errorf("IPVS table leaked into the client namespace:\n%s", out)
		}
	})
}

// TestIntegrationVMForward proves the way from the host into the VM: a
// server of a node in the guest, exposed on a forwarded port, answers the
// host while the guest waits in CallHost, which carries a message out.
func TestIntegrationVMForward(t *testing.T) {
	var got string
	host := func(t *testing.T, h HostSide) {
		if string(h.Message) != "hello from the guest" {
			t.Errorf("message %q, want %q", h.Message, "hello from the guest")
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", h.Ports[7000]), 10*time.Second)
		if err != nil {
			t.Fatalf("dial the forwarded port: %v", err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			t.Fatalf("read through the forwarded port: %v", err)
		}
		got = strings.TrimSpace(line)
	}
	if !RunInVM(t, VMOptions{Forward: []int{7000}, Host: host}) {
		if got != "srv" {
			t.Errorf("the host read %q through the forwarded port, want srv", got)
		}
		return
	}
	l := New(t)
	srv := l.Node("srv")
	srv.AddAddr("lo", "192.0.2.7/32")
	serveName(t, srv.Listen("tcp", "192.0.2.7:7000"), "srv")
	srv.Expose(7000, "192.0.2.7:7000")
	CallHost(t, []byte("hello from the guest"))
}
