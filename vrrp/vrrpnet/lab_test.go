//go:build linux

package vrrpnet_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	"github.com/lbd-project/lbd/vrrp"
	"github.com/lbd-project/lbd/vrrp/vrrpnet"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// This file holds the helpers of the lab tests: an lbd instance running in
// a lab node with real sockets, and checks of a node's addresses.

var (
	vip4 = netip.MustParseAddr("192.0.2.100")
	vip6 = netip.MustParseAddr("2001:db8::100")
)

// newNode creates a lab node whose IPv6 addresses skip duplicate address
// detection (so link-local sources are usable at once) and attaches it.
func newNode(t *testing.T, l *lab.Lab, lan *lab.LAN, name string, addrs ...string) *lab.Node {
	t.Helper()
	n := l.Node(name)
	n.Sysctl("net.ipv6.conf.default.accept_dad", "0")
	n.Sysctl("net.ipv6.conf.all.accept_dad", "0")
	n.Attach(lan, "eth0", addrs...)
	return n
}

// waitReady waits until eth0 of each node has no tentative address (the
// kernel finishes "DAD" only once it has seen the carrier come up, which
// the link watcher reports up to a second late) and each node reaches the
// next one over TCP (a refused connection is an answer).
func waitReady(t *testing.T, nodes ...*lab.Node) {
	t.Helper()
	for _, n := range nodes {
		eventually(t, 3*time.Second, n.Name+" eth0 addresses usable", func() bool {
			tentative := true
			n.Do(func() error {
				l, err := netlink.LinkByName("eth0")
				if err != nil {
					return err
				}
				addrs, err := netlink.AddrList(l, netlink.FAMILY_ALL)
				if err != nil {
					return err
				}
				tentative = false
				for _, a := range addrs {
					if a.Flags&unix.IFA_F_TENTATIVE != 0 {
						tentative = true
					}
				}
				return nil
			})
			return !tentative
		})
	}
	for i := 0; i+1 < len(nodes); i++ {
		from, to := nodes[i], nodes[i+1]
		var dst string
		to.Do(func() error {
			ifi, err := net.InterfaceByName("eth0")
			if err != nil {
				return err
			}
			addrs, _ := ifi.Addrs()
			for _, a := range addrs {
				if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
					dst = net.JoinHostPort(ipn.IP.String(), "9")
				}
			}
			return nil
		})
		if dst == "" {
			continue
		}
		eventually(t, 3*time.Second, from.Name+" reaches "+to.Name, func() bool {
			c, err := from.Dial("tcp", dst, 200*time.Millisecond)
			if c != nil {
				c.Close()
			}
			return err == nil || errors.Is(err, syscall.ECONNREFUSED)
		})
	}
}

// lbdOpts configures an lbd instance in a lab node.
type lbdOpts struct {
	version  vrrp.Version
	vrid     uint8
	prio     uint8
	interval time.Duration
	primary  netip.Addr // invalid: the link-local address of eth0
	vips     []netip.Addr
	peers    []netip.Addr
	auth     string // VRRPv2 PASS
	garp     vrrp.GARPConfig
	routes   []vrrp.Route
	rules    []vrrp.Rule
	group    netip.Addr
	vmac     *vrrp.VMAC // use_vmac: the VIPs go on it
}

// lbd is one instance run by lbd's VRRP runtime (vrrp.Runner on
// vrrpnet.Host), in a lab node.
type lbd struct {
	t       *testing.T
	node    *lab.Node
	r       *vrrp.Runner
	cancel  context.CancelFunc
	mu      sync.Mutex
	notes   []vrrp.Notification
	primary netip.Addr
}

// nsHost is vrrpnet.Host in a lab node: every socket and netlink handle
// is opened inside the node's network namespace.
type nsHost struct{ n *lab.Node }

func (h nsHost) Open(m *vrrp.MemberConfig) (io vrrp.MemberIO, err error) {
	err = h.n.Do(func() error {
		io, err = vrrpnet.Host{}.Open(m)
		return err
	})
	return io, err
}

func (h nsHost) LinkUp(ifname string) (up bool, err error) {
	err = h.n.Do(func() error {
		up, err = vrrpnet.Host{}.LinkUp(ifname)
		return err
	})
	return up, err
}

func (h nsHost) WatchLink(ctx context.Context, ifname string, fn func(bool)) error {
	return h.n.Do(func() error { return vrrpnet.Host{}.WatchLink(ctx, ifname, fn) })
}

func (h nsHost) OpenPinger() (vrrp.Pinger, error) {
	return nil, errors.New("lab: no fast takeover in these tests")
}

// withDefaults fills in what a test left out.
func (o lbdOpts) withDefaults() lbdOpts {
	if o.vrid == 0 {
		o.vrid = 51
	}
	if o.version == 0 {
		o.version = vrrp.Version3
	}
	if o.interval == 0 {
		o.interval = 100 * time.Millisecond
		if o.version == vrrp.Version2 {
			o.interval = time.Second
		}
	}
	if len(o.vips) == 0 {
		o.vips = []netip.Addr{vip4}
	}
	return o
}

func startLBD(t *testing.T, n *lab.Node, o lbdOpts) *lbd {
	t.Helper()
	o = o.withDefaults()
	x := &lbd{t: t, node: n, primary: o.primary}
	if !x.primary.IsValid() {
		if err := n.Do(func() (err error) {
			x.primary, err = vrrpnet.LinkLocal("eth0")
			return err
		}); err != nil {
			t.Fatalf("%s: %v", n.Name, err)
		}
	}
	mc := vrrp.MemberConfig{
		Interface: "eth0",
		Config: vrrp.Config{
			Name: fmt.Sprintf("%s_VI_%d", n.Name, o.vrid), Version: o.version, VRID: o.vrid, Priority: o.prio,
			AdvertInterval: o.interval, Primary: x.primary, VIPs: o.vips,
		},
		IPv6:   o.vips[0].Is6(),
		Peers:  o.peers,
		GARP:   o.garp,
		Routes: o.routes,
		Rules:  o.rules,
		Group:  o.group,
		VMAC:   o.vmac,
	}
	dev := "eth0"
	if o.vmac != nil {
		dev = o.vmac.Name
	}
	for _, v := range o.vips {
		mc.VIPs = append(mc.VIPs, vrrp.VIP{Prefix: netip.PrefixFrom(v, v.BitLen()), Dev: dev})
	}
	if o.auth != "" {
		mc.AuthType = vrrp.AuthSimple
		copy(mc.AuthData[:], o.auth)
	}
	var err error
	x.r, err = vrrp.NewRunner(vrrp.RunnerConfig{
		Members: []vrrp.MemberConfig{mc},
		Host:    nsHost{n},
		Logger:  slog.New(slog.NewTextHandler(t.Output(), nil)).With("node", n.Name),
		OnTransition: func(nt vrrp.Notification) {
			x.mu.Lock()
			x.notes = append(x.notes, nt)
			x.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatalf("%s: start lbd: %v", n.Name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	x.cancel = cancel
	go x.r.Run(ctx)
	t.Cleanup(x.stop)
	return x
}

// stop cancels the runner (a Master hands over) and waits for it.
func (x *lbd) stop() {
	x.cancel()
	select {
	case <-x.r.Done():
	case <-time.After(5 * time.Second):
		x.t.Errorf("%s: runner did not stop within 5s", x.node.Name)
	}
}

// state is the instance's state.
func (x *lbd) state() vrrp.State { return x.stats().State }

// stats is the instance's snapshot.
func (x *lbd) stats() vrrp.InstanceStats { return x.r.Stats()[0] }

// masterSince returns when the instance last became Master, if it is.
func (x *lbd) becameMaster(after time.Time) (time.Time, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, n := range x.notes {
		if n.Transition.To == vrrp.StateMaster && !n.Time.Before(after) {
			return n.Time, true
		}
	}
	return time.Time{}, false
}

func (x *lbd) transitions() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.notes)
}

// eventually polls cond every 10ms for at most d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	lab.WaitFor(t, d, 10*time.Millisecond, what, cond)
}

// keepalived is Debian's keepalived run in a lab node with its own files.
type keepalived struct {
	t    *testing.T
	node *lab.Node
	proc *lab.Process
	dir  string
}

// kaOpts configures one keepalived vrrp_instance.
type kaOpts struct {
	version  vrrp.Version
	vrid     uint8
	prio     uint8
	interval time.Duration
	vip      string // with prefix, e.g. 192.0.2.100/32
	auth     string
	src      string   // unicast_src_ip
	peers    []string // unicast_peer
	instance string   // more lines of the vrrp_instance
	top      string   // more top-level blocks
	global   string   // more lines of global_defs
}

const keepalivedBin = "/usr/sbin/keepalived"

func startKeepalived(t *testing.T, n *lab.Node, o kaOpts) *keepalived {
	t.Helper()
	lab.RequireCommand(t, keepalivedBin)
	dir := t.TempDir()
	notify := filepath.Join(dir, "notify.sh")
	script := fmt.Sprintf("#!/bin/sh\necho \"$3\" >> %s/states\n", dir)
	if err := os.WriteFile(notify, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n  router_id %s\n  script_user root\n%s}\n%s", n.Name, o.global, o.top)
	fmt.Fprintf(&b, "vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id %d\n", o.vrid)
	fmt.Fprintf(&b, "  priority %d\n  advert_int %g\n  version %d\n", o.prio, o.interval.Seconds(), o.version)
	if o.auth != "" {
		fmt.Fprintf(&b, "  authentication {\n    auth_type PASS\n    auth_pass %s\n  }\n", o.auth)
	}
	if o.src != "" {
		fmt.Fprintf(&b, "  unicast_src_ip %s\n  unicast_peer {\n    %s\n  }\n", o.src, strings.Join(o.peers, "\n    "))
	}
	fmt.Fprintf(&b, "  virtual_ipaddress {\n    %s\n  }\n  notify %s\n%s}\n", o.vip, notify, o.instance)
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	p := n.Start(keepalivedBin, "-n", "-l", "-D", "-G", "--vrrp", "-f", conf,
		"-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid"))
	k := &keepalived{t: t, node: n, proc: p, dir: dir}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("keepalived.conf:\n%s", b.String())
		}
	})
	return k
}

// state returns the last state keepalived's notify script recorded.
func (k *keepalived) state() string {
	b, _ := os.ReadFile(filepath.Join(k.dir, "states"))
	lines := strings.Fields(string(b))
	if len(lines) == 0 {
		return ""
	}
	return lines[len(lines)-1]
}

// logged reports whether keepalived's console output has s.
func (k *keepalived) logged(s string) bool { return strings.Contains(k.proc.Out.String(), s) }

// terminate stops keepalived with SIGTERM (it sends priority 0 as Master).
func (k *keepalived) terminate() {
	k.t.Helper()
	if err := k.proc.Signal(15); err != nil {
		k.t.Fatalf("keepalived: %v", err)
	}
	if err := k.proc.Wait(5 * time.Second); err != nil && !k.proc.Exited() {
		k.t.Fatalf("keepalived did not stop: %v", err)
	}
}
