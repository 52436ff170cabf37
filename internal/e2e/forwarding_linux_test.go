// Package e2e holds end-to-end tests that send real traffic through the lb
// engine programming the kernel's IPVS inside the lab VM.
package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/ipvs"
	"github.com/lbd-project/lbd/lb"
	"github.com/vishvananda/netlink"
)

// rig is one subtest's lab: a client, a balancer node running the engine
// with an IPVS client opened in its namespace, and real servers rs1, rs2.
type rig struct {
	t      *testing.T
	l      *lab.Lab
	client *lab.Node
	lb     *lab.Node
	rs     []*lab.Node
	ipvs   *ipvs.Client
	ctx    context.Context
	eng    *lb.Engine
}

func newRig(t *testing.T) *rig {
	t.Helper()
	l := lab.New(t)
	r := &rig{t: t, l: l, client: l.Node("client"), lb: l.Node("lb")}
	r.rs = []*lab.Node{l.Node("rs1"), l.Node("rs2")}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	r.ctx = ctx
	return r
}

// serve runs a TCP server in n on addr that writes n's name and closes.
func (r *rig) serve(n *lab.Node, addr string) {
	r.t.Helper()
	lab.Serve(r.t, n.Listen("tcp", addr), func(c net.Conn) {
		c.SetDeadline(time.Now().Add(3 * time.Second))
		fmt.Fprintln(c, n.Name)
	})
}

// start opens the IPVS client in the balancer and runs an engine for yaml.
func (r *rig) start(yaml string) {
	r.t.Helper()
	if err := r.lb.Do(func() (err error) { r.ipvs, err = ipvs.Open(); return err }); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { r.ipvs.Close() })
	cfg, err := conf.Parse("e2e.yaml", []byte(yaml))
	if err != nil {
		r.t.Fatal(err)
	}
	eng, err := lb.New(cfg, lb.Options{
		Kernel: r.ipvs,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(r.ctx)
	done := make(chan struct{})
	go func() { defer close(done); eng.Run(ctx) }()
	r.t.Cleanup(func() { cancel(); <-done })
	if _, err := eng.Status(ctx); err != nil {
		r.t.Fatal(err)
	}
	r.eng = eng
}

// reload gives the running engine a new configuration.
func (r *rig) reload(yaml string) {
	r.t.Helper()
	cfg, err := conf.Parse("e2e.yaml", []byte(yaml))
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.eng.Reload(r.ctx, cfg); err != nil {
		r.t.Fatal(err)
	}
}

// ipvsadm runs Debian's ipvsadm in the balancer.
func (r *rig) ipvsadm(args ...string) string {
	r.t.Helper()
	var out strings.Builder
	cmd := exec.CommandContext(r.ctx, "ipvsadm", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := r.lb.RunCmd(cmd); err != nil {
		r.t.Fatalf("ipvsadm %v: %v: %s", args, err, out.String())
	}
	return out.String()
}

// waitRules waits up to 10 s until ipvsadm -S -n prints every line of want.
func (r *rig) waitRules(want ...string) {
	r.t.Helper()
	var got string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		got = r.ipvsadm("-S", "-n")
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(got, w+"\n")
		}
		if ok {
			return
		}
	}
	r.t.Fatalf("ipvsadm -S -n\n%s\nlacks\n%s", got, strings.Join(want, "\n"))
}

// get connects from the client to vip and returns the name the server sent.
func (r *rig) get(vip string) string {
	r.t.Helper()
	c, err := r.client.Dial("tcp", vip, 3*time.Second)
	if err != nil {
		r.t.Fatalf("connect to %s: %v", vip, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		r.t.Fatalf("read from %s: %v (got %q)", vip, err, b)
	}
	return strings.TrimSpace(string(b))
}

// gets makes n connections and returns the answering names in order.
func (r *rig) gets(vip string, n int) []string {
	r.t.Helper()
	var names []string
	for range n {
		names = append(names, r.get(vip))
	}
	return names
}

// wantAlternating checks that rr alternated between rs1 and rs2.
func wantAlternating(t *testing.T, names []string) {
	t.Helper()
	seen := map[string]int{}
	for i, n := range names {
		seen[n]++
		if i > 0 && names[i-1] == n {
			t.Errorf("rr sent consecutive connections to the same server: %v", names)
			return
		}
	}
	if seen["rs1"] == 0 || seen["rs2"] == 0 || len(seen) != 2 {
		t.Errorf("answers %v, want rs1 and rs2 alternating", names)
	}
}

// drLAN puts client, balancer and real servers on one LAN; the balancer
// holds the VIP on its interface, the real servers on loopback (silent:
// arp_ignore/arp_announce for IPv4; IPv6 answers neighbour solicitations
// only for addresses of the receiving interface).
func (r *rig) drLAN(clientAddr, lbAddr, vip string, rsAddrs []string) {
	lan := r.l.LAN("lan")
	r.client.Attach(lan, "eth0", clientAddr)
	r.lb.Attach(lan, "eth0", lbAddr, vip)
	for i, n := range r.rs {
		if !strings.Contains(vip, ":") {
			n.Sysctl("net.ipv4.conf.all.arp_ignore", "1")
			n.Sysctl("net.ipv4.conf.all.arp_announce", "2")
		}
		n.Attach(lan, "eth0", rsAddrs[i])
		n.AddAddr("lo", vip)
	}
}

// tunnelRS gives the real servers the fallback ipip device tunl0 (which
// the ipip module creates in every namespace), up, with the VIP on it and
// reverse-path filtering off (decapsulated packets arrive on tunl0 from a
// client routed via eth0).
func (r *rig) tunnelRS(vip string) {
	for _, n := range r.rs {
		n.MustRun("ip", "link", "set", "tunl0", "up")
		n.AddAddr("tunl0", vip)
		for _, dev := range []string{"all", "default", "eth0", "tunl0"} {
			n.Sysctl("net.ipv4.conf."+dev+".rp_filter", "0")
		}
	}
}

// wantDecapsulated checks that every real server received packets through
// its tunnel device, not plain on eth0.
func (r *rig) wantDecapsulated() {
	r.t.Helper()
	for _, n := range r.rs {
		var rx uint64
		err := n.Do(func() error {
			l, err := netlink.LinkByName("tunl0")
			if err == nil && l.Attrs().Statistics != nil {
				rx = l.Attrs().Statistics.RxPackets
			}
			return err
		})
		if err != nil {
			r.t.Fatalf("%s: tunl0: %v", n.Name, err)
		}
		if rx == 0 {
			r.t.Errorf("%s: tunl0 received no packets: traffic was not tunnelled", n.Name)
		}
	}
}

// TestIntegrationVMForwarding sends real client traffic through IPVS
// services that the engine programs in the lab VM, for each forwarding
// method, IPv6, firewall marks and persistence.
func TestIntegrationVMForwarding(t *testing.T) {
	if !lab.RunInVM(t, lab.VMOptions{}) {
		return
	}

	t.Run("DR", func(t *testing.T) {
		r := newRig(t)
		r.drLAN("203.0.113.2/24", "203.0.113.1/24", "203.0.113.10/32", []string{"203.0.113.11/24", "203.0.113.12/24"})
		for _, n := range r.rs {
			r.serve(n, "203.0.113.10:80")
		}
		r.start(`virtual_servers:
  - address: 203.0.113.10:80
    scheduler: rr
    forwarding: DR
    real_servers: [203.0.113.11, 203.0.113.12]
`)
		r.waitRules("-a -t 203.0.113.10:80 -r 203.0.113.11:80 -g -w 1", "-a -t 203.0.113.10:80 -r 203.0.113.12:80 -g -w 1")
		wantAlternating(t, r.gets("203.0.113.10:80", 4))
	})

	t.Run("TUN ipip", func(t *testing.T) {
		r := newRig(t)
		r.drLAN("203.0.113.2/24", "203.0.113.1/24", "203.0.113.10/32", []string{"203.0.113.11/24", "203.0.113.12/24"})
		r.tunnelRS("203.0.113.10/32")
		for _, n := range r.rs {
			r.serve(n, "203.0.113.10:80")
		}
		r.start(`virtual_servers:
  - address: 203.0.113.10:80
    scheduler: rr
    forwarding: TUN
    real_servers: [203.0.113.11, 203.0.113.12]
`)
		r.waitRules("-a -t 203.0.113.10:80 -r 203.0.113.11:80 -i -w 1 --tun-type ipip", "-a -t 203.0.113.10:80 -r 203.0.113.12:80 -i -w 1 --tun-type ipip")
		wantAlternating(t, r.gets("203.0.113.10:80", 4))
		r.wantDecapsulated()
	})

	t.Run("TUN gue", func(t *testing.T) {
		r := newRig(t)
		r.drLAN("203.0.113.2/24", "203.0.113.1/24", "203.0.113.10/32", []string{"203.0.113.11/24", "203.0.113.12/24"})
		r.tunnelRS("203.0.113.10/32")
		for _, n := range r.rs {
			addFou(t, n, 6080)
			r.serve(n, "203.0.113.10:80")
		}
		r.start(`virtual_servers:
  - address: 203.0.113.10:80
    scheduler: rr
    forwarding: TUN
    tunnel: {type: gue, port: 6080}
    real_servers: [203.0.113.11, 203.0.113.12]
`)
		r.waitRules("-a -t 203.0.113.10:80 -r 203.0.113.11:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum",
			"-a -t 203.0.113.10:80 -r 203.0.113.12:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum")
		wantAlternating(t, r.gets("203.0.113.10:80", 4))
		r.wantDecapsulated()
	})

	t.Run("IPv6 NAT", func(t *testing.T) {
		r := newRig(t)
		r.client.Link("eth0", r.lb, "front")
		r.client.AddAddr("eth0", "2001:db8:1::2/64")
		r.lb.AddAddr("front", "2001:db8:1::1/64")
		r.lb.AddAddr("front", "2001:db8:1::10/128")
		r.lb.Sysctl("net.ipv6.conf.all.forwarding", "1")
		back := r.l.LAN("back")
		r.lb.Attach(back, "back", "2001:db8:2::1/64")
		for i, n := range r.rs {
			addr := fmt.Sprintf("2001:db8:2::%d", 11+i)
			n.Attach(back, "eth0", addr+"/64")
			n.AddRoute("default", "2001:db8:2::1")
			r.serve(n, "["+addr+"]:8080")
		}
		r.start(`virtual_servers:
  - address: "[2001:db8:1::10]:80"
    scheduler: rr
    forwarding: NAT
    real_servers: ["[2001:db8:2::11]:8080", "[2001:db8:2::12]:8080"]
`)
		r.waitRules("-a -t [2001:db8:1::10]:80 -r [2001:db8:2::11]:8080 -m -w 1", "-a -t [2001:db8:1::10]:80 -r [2001:db8:2::12]:8080 -m -w 1")
		wantAlternating(t, r.gets("[2001:db8:1::10]:80", 4))
	})

	t.Run("IPv6 DR", func(t *testing.T) {
		r := newRig(t)
		r.drLAN("2001:db8:3::2/64", "2001:db8:3::1/64", "2001:db8:3::10/128", []string{"2001:db8:3::11/64", "2001:db8:3::12/64"})
		for _, n := range r.rs {
			r.serve(n, "[2001:db8:3::10]:80")
		}
		r.start(`virtual_servers:
  - address: "[2001:db8:3::10]:80"
    scheduler: rr
    forwarding: DR
    real_servers: ["2001:db8:3::11", "2001:db8:3::12"]
`)
		r.waitRules("-a -t [2001:db8:3::10]:80 -r [2001:db8:3::11]:80 -g -w 1", "-a -t [2001:db8:3::10]:80 -r [2001:db8:3::12]:80 -g -w 1")
		wantAlternating(t, r.gets("[2001:db8:3::10]:80", 4))
	})

	t.Run("fwmark", func(t *testing.T) {
		r := newRig(t)
		r.drLAN("203.0.113.2/24", "203.0.113.1/24", "203.0.113.10/32", []string{"203.0.113.11/24", "203.0.113.12/24"})
		for _, n := range r.rs {
			r.serve(n, "203.0.113.10:80")
		}
		r.start(`virtual_servers:
  - fwmark: 7
    scheduler: rr
    forwarding: DR
    real_servers: [203.0.113.11:80, 203.0.113.12:80]
`)
		// ipvsadm shows DR real servers of a port-less fwmark service with port 0.
		r.waitRules("-A -f 7 -s rr", "-a -f 7 -r 203.0.113.11:0 -g -w 1", "-a -f 7 -r 203.0.113.12:0 -g -w 1")
		// Unmarked, the packets match no service: the balancer itself
		// (which holds the VIP, with nothing listening) refuses.
		if c, err := r.client.Dial("tcp", "203.0.113.10:80", 3*time.Second); err == nil {
			c.Close()
			t.Fatal("connected through the VIP before any packet was marked")
		}
		markVIP(t, r.lb, "203.0.113.10", 7)
		wantAlternating(t, r.gets("203.0.113.10:80", 4))
	})

	t.Run("persistence", func(t *testing.T) {
		r := newRig(t)
		r.drLAN("203.0.113.2/24", "203.0.113.1/24", "203.0.113.10/32", []string{"203.0.113.11/24", "203.0.113.12/24"})
		for _, n := range r.rs {
			r.serve(n, "203.0.113.10:80")
		}
		plain := `virtual_servers:
  - address: 203.0.113.10:80
    scheduler: rr
    forwarding: DR
    real_servers: [203.0.113.11, 203.0.113.12]
`
		r.start(plain)
		r.waitRules("-A -t 203.0.113.10:80 -s rr")
		wantAlternating(t, r.gets("203.0.113.10:80", 4))

		r.reload(strings.Replace(plain, "    scheduler: rr\n", "    scheduler: rr\n    persistence: true\n", 1))
		r.waitRules("-A -t 203.0.113.10:80 -s rr -p 360")
		names := r.gets("203.0.113.10:80", 6)
		for _, n := range names {
			if n != names[0] || (n != "rs1" && n != "rs2") {
				t.Errorf("with persistence, one client reached %v, want one real server throughout", names)
				break
			}
		}
	})
}
