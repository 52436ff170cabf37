package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Lab is one test's topology. Create it with New; everything it made is torn
// down by the test's cleanup, in reverse order, even when the test fails.
type Lab struct {
	tb    testing.TB
	mu    sync.Mutex
	nodes []*Node
	procs []*Process
	links int // counter for unique bridge-side veth names
}

// New returns an empty lab for tb. It skips (or fails, see RequiredEnv) when
// the test cannot create network namespaces.
func New(tb testing.TB) *Lab {
	tb.Helper()
	RequireRoot(tb)
	l := &Lab{tb: tb}
	tb.Cleanup(l.close)
	return l
}

// Node is a host in the lab: one network namespace with loopback up.
type Node struct {
	Name string
	lab  *Lab
	ns   netns.NsHandle
	nl   *netlink.Handle
	// named: the namespace is /var/run/netns/Name (NamedNode), deleted
	// at cleanup.
	named bool
}

// LAN is an Ethernet segment: a bridge inside a namespace of its own.
type LAN struct {
	Name   string
	sw     *Node
	bridge netlink.Link
}

// Node creates a node called name (used in messages only).
func (l *Lab) Node(name string) *Node {
	l.tb.Helper()
	ns, err := newNetns()
	if err != nil {
		l.tb.Fatalf("lab: node %s: %v", name, err)
	}
	return l.addNode(name, ns, false)
}

// NamedNode creates a node whose namespace has a name, as `ip netns add`
// gives one: the file /var/run/netns/NAME, for code that enters a
// namespace by name (global.net_namespace). NAME, the node's Name, is
// prefix, a dash and a random number. Cleanup deletes it; unlike the
// anonymous namespaces of Node, a test process killed before its cleanup
// leaves it behind (ip netns delete NAME removes it).
func (l *Lab) NamedNode(prefix string) *Node {
	l.tb.Helper()
	RequireCommand(l.tb, "ip")
	name := fmt.Sprintf("%s-%08x", prefix, rand.Uint32())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		l.tb.Fatalf("lab: ip netns add %s: %v\n%s", name, err, out)
	}
	ns, err := netns.GetFromName(name)
	if err != nil {
		deleteNamedNetns(l.tb, name)
		l.tb.Fatalf("lab: node %s: %v", name, err)
	}
	return l.addNode(name, ns, true)
}

// addNode makes ns a node of l, with loopback up.
func (l *Lab) addNode(name string, ns netns.NsHandle, named bool) *Node {
	l.tb.Helper()
	nl, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		ns.Close()
		if named {
			deleteNamedNetns(l.tb, name)
		}
		l.tb.Fatalf("lab: node %s: netlink handle: %v", name, err)
	}
	n := &Node{Name: name, lab: l, ns: ns, nl: nl, named: named}
	l.mu.Lock()
	l.nodes = append(l.nodes, n)
	l.mu.Unlock()
	n.setUp("lo")
	return n
}

// deleteNamedNetns removes the namespace name that NamedNode added.
func deleteNamedNetns(tb testing.TB, name string) {
	if out, err := exec.Command("ip", "netns", "delete", name).CombinedOutput(); err != nil {
		tb.Errorf("lab: ip netns delete %s: %v\n%s", name, err, out)
	}
}

// LAN creates a bridged segment called name.
func (l *Lab) LAN(name string) *LAN {
	l.tb.Helper()
	sw := l.Node("switch-" + name)
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br0"}}
	if err := sw.nl.LinkAdd(br); err != nil {
		l.tb.Fatalf("lab: LAN %s: add bridge: %v", name, err)
	}
	sw.setUp("br0")
	return &LAN{Name: name, sw: sw, bridge: br}
}

// Attach plugs n into lan with a veth whose node end is called ifname, and
// assigns addrs (CIDR notation, e.g. "192.0.2.1/24", "2001:db8::1/64").
func (n *Node) Attach(lan *LAN, ifname string, addrs ...string) {
	n.lab.tb.Helper()
	n.lab.mu.Lock()
	n.lab.links++
	peer := fmt.Sprintf("p%d", n.lab.links)
	n.lab.mu.Unlock()
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: ifname},
		PeerName:      peer,
		PeerNamespace: netlink.NsFd(lan.sw.ns),
	}
	if err := n.nl.LinkAdd(veth); err != nil {
		n.lab.tb.Fatalf("lab: %s: attach %s to LAN %s: %v", n.Name, ifname, lan.Name, err)
	}
	p, err := lan.sw.nl.LinkByName(peer)
	if err != nil {
		n.lab.tb.Fatalf("lab: LAN %s: find port %s: %v", lan.Name, peer, err)
	}
	if err := lan.sw.nl.LinkSetMaster(p, lan.bridge); err != nil {
		n.lab.tb.Fatalf("lab: LAN %s: enslave %s: %v", lan.Name, peer, err)
	}
	lan.sw.setUp(peer)
	n.setUp(ifname)
	for _, a := range addrs {
		n.AddAddr(ifname, a)
	}
}

// Link connects n and m with a veth cable, ends named ifN and ifM.
func (n *Node) Link(ifN string, m *Node, ifM string) {
	n.lab.tb.Helper()
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: ifN},
		PeerName:      ifM,
		PeerNamespace: netlink.NsFd(m.ns),
	}
	if err := n.nl.LinkAdd(veth); err != nil {
		n.lab.tb.Fatalf("lab: link %s:%s to %s:%s: %v", n.Name, ifN, m.Name, ifM, err)
	}
	n.setUp(ifN)
	m.setUp(ifM)
}

// AddDummy creates a dummy interface called ifname in n, up.
func (n *Node) AddDummy(ifname string) {
	n.lab.tb.Helper()
	if err := n.nl.LinkAdd(&netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: ifname}}); err != nil {
		n.lab.tb.Fatalf("lab: %s: add dummy %s: %v", n.Name, ifname, err)
	}
	n.setUp(ifname)
}

// AddAddr assigns cidr to ifname. IPv6 addresses skip duplicate address
// detection so they are usable at once.
func (n *Node) AddAddr(ifname, cidr string) {
	n.lab.tb.Helper()
	link := n.link(ifname)
	addr, err := netlink.ParseAddr(cidr)
	if err != nil {
		n.lab.tb.Fatalf("lab: %s: address %q: %v", n.Name, cidr, err)
	}
	if addr.IP.To4() == nil {
		addr.Flags |= syscall.IFA_F_NODAD
	}
	if err := n.nl.AddrAdd(link, addr); err != nil {
		n.lab.tb.Fatalf("lab: %s: add %s to %s: %v", n.Name, cidr, ifname, err)
	}
}

// HasAddr reports whether the node has addr on any interface.
func (n *Node) HasAddr(addr netip.Addr) bool {
	n.lab.tb.Helper()
	// A dump that races with an address change (a daemon adding its VIP)
	// is interrupted; the kernel asks for a retry.
	addrs, err := n.nl.AddrList(nil, netlink.FAMILY_ALL)
	for try := 0; errors.Is(err, netlink.ErrDumpInterrupted) && try < 10; try++ {
		addrs, err = n.nl.AddrList(nil, netlink.FAMILY_ALL)
	}
	if err != nil {
		n.lab.tb.Fatalf("lab: %s: list addresses: %v", n.Name, err)
	}
	for _, a := range addrs {
		if got, ok := netip.AddrFromSlice(a.IP); ok && got.Unmap() == addr {
			return true
		}
	}
	return false
}

// SetLink sets ifname up or down (for failover tests).
func (n *Node) SetLink(ifname string, up bool) {
	n.lab.tb.Helper()
	link := n.link(ifname)
	var err error
	if up {
		err = n.nl.LinkSetUp(link)
	} else {
		err = n.nl.LinkSetDown(link)
	}
	if err != nil {
		n.lab.tb.Fatalf("lab: %s: set %s up=%v: %v", n.Name, ifname, up, err)
	}
}

// AddRoute routes dst (a prefix, or "default") via the gateway address via.
func (n *Node) AddRoute(dst, via string) {
	n.lab.tb.Helper()
	gw, err := netip.ParseAddr(via)
	if err != nil {
		n.lab.tb.Fatalf("lab: %s: route via %q: %v", n.Name, via, err)
	}
	if dst == "default" {
		dst = "0.0.0.0/0"
		if gw.Is6() {
			dst = "::/0"
		}
	}
	_, prefix, err := net.ParseCIDR(dst)
	if err != nil {
		n.lab.tb.Fatalf("lab: %s: route to %q: %v", n.Name, dst, err)
	}
	if err := n.nl.RouteAdd(&netlink.Route{Dst: prefix, Gw: gw.AsSlice()}); err != nil {
		n.lab.tb.Fatalf("lab: %s: route %s via %s: %v", n.Name, dst, via, err)
	}
}

// Sysctl writes value to the node's /proc/sys/KEY, KEY in dotted form
// ("net.ipv4.ip_forward"). Network sysctls are per namespace.
func (n *Node) Sysctl(key, value string) {
	n.lab.tb.Helper()
	path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	err := n.Do(func() error { return os.WriteFile(path, []byte(value), 0o644) })
	if err != nil {
		n.lab.tb.Fatalf("lab: %s: sysctl %s=%s: %v", n.Name, key, value, err)
	}
}

// Do runs fn inside the node's namespace: sockets fn opens live there.
func (n *Node) Do(fn func() error) error {
	return doInNetns(n.ns, fn)
}

// Listen opens a listener inside the node.
func (n *Node) Listen(network, addr string) net.Listener {
	n.lab.tb.Helper()
	var ln net.Listener
	err := n.Do(func() (err error) {
		ln, err = net.Listen(network, addr)
		return err
	})
	if err != nil {
		n.lab.tb.Fatalf("lab: %s: listen %s %s: %v", n.Name, network, addr, err)
	}
	n.lab.tb.Cleanup(func() { ln.Close() })
	return ln
}

// Dial connects from inside the node, bounded by timeout.
func (n *Node) Dial(network, addr string, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := n.Do(func() (err error) {
		c, err = net.DialTimeout(network, addr, timeout)
		return err
	})
	return c, err
}

// Run runs a command inside the node and returns its combined output; a
// non-zero exit is an error that carries the output.
func (n *Node) Run(ctx context.Context, name string, args ...string) (string, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := n.RunCmd(cmd); err != nil {
		return out.String(), fmt.Errorf("%w: %s", err, out.String())
	}
	return out.String(), nil
}

// RunCmd runs a prepared command (with its own stdin, stdout, stderr)
// inside the node and waits for it.
func (n *Node) RunCmd(cmd *exec.Cmd) error {
	if err := startInNetns(n.ns, cmd); err != nil {
		return fmt.Errorf("%s: start %s: %w", n.Name, cmd.Path, err)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("%s: %s: %w", n.Name, strings.Join(cmd.Args, " "), err)
	}
	return nil
}

// MustRun is Run that fails the test on error.
func (n *Node) MustRun(name string, args ...string) string {
	n.lab.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := n.Run(ctx, name, args...)
	if err != nil {
		n.lab.tb.Fatalf("lab: %v", err)
	}
	return out
}

// Process is a command started in a node; the lab kills it at cleanup.
type Process struct {
	Cmd  *exec.Cmd
	Out  *SyncBuffer // stdout and stderr
	done chan struct{}
	err  error
}

// Start starts a long-running command inside the node. Its output is
// collected in Process.Out and logged if the test fails.
func (n *Node) Start(name string, args ...string) *Process {
	n.lab.tb.Helper()
	return n.StartCmd(exec.Command(name, args...))
}

// StartCmd is Start for a prepared command (say with its own environment);
// its stdout and stderr are replaced by Process.Out.
func (n *Node) StartCmd(cmd *exec.Cmd) *Process {
	n.lab.tb.Helper()
	p := &Process{Cmd: cmd, Out: &SyncBuffer{}, done: make(chan struct{})}
	p.Cmd.Stdout, p.Cmd.Stderr = p.Out, p.Out
	if err := startInNetns(n.ns, p.Cmd); err != nil {
		n.lab.tb.Fatalf("lab: %s: start %s: %v", n.Name, cmd.Path, err)
	}
	go func() { p.err = p.Cmd.Wait(); close(p.done) }()
	n.lab.mu.Lock()
	n.lab.procs = append(n.lab.procs, p)
	n.lab.mu.Unlock()
	return p
}

// StartKeepalived runs Debian's keepalived (VRRP and checker) in the
// foreground on file, logging to its output, with pid files of its own
// beside file (FILE-main.pid, ...): the nodes share the file system, and
// keepalived refuses to start while another one's pid file names a live
// process.
func (n *Node) StartKeepalived(file string) *Process {
	n.lab.tb.Helper()
	pid := func(s string) string { return strings.TrimSuffix(file, filepath.Ext(file)) + "-" + s + ".pid" }
	return n.Start("keepalived", "-n", "-l", "-D", "-G", "-f", file, "-p", pid("main"), "-r", pid("vrrp"), "-c", pid("checker"))
}

// Signal sends sig to the process (only ever to a PID this lab started).
func (p *Process) Signal(sig syscall.Signal) error {
	select {
	case <-p.done:
		return errors.New("process already exited")
	default:
		return p.Cmd.Process.Signal(sig)
	}
}

// Wait waits up to timeout for the process to exit and returns its error.
func (p *Process) Wait(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		return fmt.Errorf("process %d still running after %v", p.Cmd.Process.Pid, timeout)
	}
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill ends the process group this lab started, then reaps it.
func (p *Process) kill() {
	if p.Exited() {
		return
	}
	_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

func (n *Node) link(ifname string) netlink.Link {
	n.lab.tb.Helper()
	link, err := n.nl.LinkByName(ifname)
	if err != nil {
		n.lab.tb.Fatalf("lab: %s: interface %s: %v", n.Name, ifname, err)
	}
	return link
}

func (n *Node) setUp(ifname string) {
	n.lab.tb.Helper()
	if err := n.nl.LinkSetUp(n.link(ifname)); err != nil {
		n.lab.tb.Fatalf("lab: %s: set %s up: %v", n.Name, ifname, err)
	}
}

// close kills processes, then releases namespaces (which destroys their
// interfaces) in reverse order of creation. A second call does nothing.
func (l *Lab) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.procs) - 1; i >= 0; i-- {
		p := l.procs[i]
		p.kill()
		if l.tb.Failed() {
			l.tb.Logf("lab: output of %s:\n%s", p.Cmd, p.Out.String())
		}
	}
	for i := len(l.nodes) - 1; i >= 0; i-- {
		l.nodes[i].nl.Close()
		l.nodes[i].ns.Close()
		if l.nodes[i].named {
			deleteNamedNetns(l.tb, l.nodes[i].Name)
		}
	}
	l.procs, l.nodes = nil, nil
}

// HTTPClient is an HTTP client in n that opens a new connection for each
// request (a load of new connections, as the balancers see it), each
// request bounded by timeout.
func (n *Node) HTTPClient(timeout time.Duration) *http.Client {
	tr := &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return n.Dial(network, addr, timeout)
		},
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}
