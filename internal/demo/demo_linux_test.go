package demo

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/internal/lab/lbdrole"
)

func TestMain(m *testing.M) { lab.Main(m, lab.Roles{"lbd": lbdrole.Run}) }

var (
	vip     = netip.MustParseAddr("198.51.100.10")
	vipURL  = "http://198.51.100.10/"
	healthy = "ok\n"
)

// say narrates a line of the demo; make demo shows only these.
func say(format string, args ...any) {
	fmt.Printf("demo| "+format+"\n", args...)
}

// realServer is a Go HTTP server in its own namespace that answers "/" with
// its name and "/health" with a body whose MD5 the checks expect.
type realServer struct {
	mu     sync.Mutex
	health string
}

func startRealServer(t *testing.T, n *lab.Node, name, addr string) *realServer {
	rs := &realServer{health: healthy}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "%s\n", name) })
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		rs.mu.Lock()
		defer rs.mu.Unlock()
		io.WriteString(w, rs.health)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ln := n.Listen("tcp", addr)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return rs
}

// setHealthy makes the health page pass or fail the digest check.
func (rs *realServer) setHealthy(ok bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.health = healthy
	if !ok {
		rs.health = "degraded\n"
	}
}

// client sends HTTP requests to the VIP from the client namespace, one TCP
// connection each.
type client struct {
	http *http.Client
	// slowestConnect is the longest, in nanoseconds, a connection to the
	// VIP took to open or to fail to open since takeSlowestConnect last
	// read it: 1 s or more is a SYN lost and sent again, which a failed
	// request alone does not tell (plain scheduling also strands
	// connections that were open when the VIP moved).
	slowestConnect atomic.Int64
}

// clientTimeout bounds each request of the demo's clients: long enough for
// the TCG VM, short enough that an outage shows as failed requests.
const clientTimeout = 500 * time.Millisecond

func newClient(n *lab.Node, timeout time.Duration) *client {
	return &client{http: n.HTTPClient(timeout)}
}

// get returns the name of whoever answered, or an error.
func (c *client) get() (string, error) {
	start := time.Now()
	var connected atomic.Bool // set on the transport's side
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) {
		connected.Store(true)
		c.noteConnect(time.Since(start))
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, vipURL, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if !connected.Load() {
			c.noteConnect(time.Since(start))
		}
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64))
	return strings.TrimSpace(string(b)), err
}

// noteConnect records that a connection took d to open or to fail.
func (c *client) noteConnect(d time.Duration) {
	for {
		old := c.slowestConnect.Load()
		if int64(d) <= old || c.slowestConnect.CompareAndSwap(old, int64(d)) {
			return
		}
	}
}

// takeSlowestConnect returns the longest connect since it was last called.
func (c *client) takeSlowestConnect() time.Duration {
	return time.Duration(c.slowestConnect.Swap(0))
}

// request is one get whose answer does not matter, for lab's request loops.
func (c *client) request() error {
	_, err := c.get()
	return err
}

// spread sends n requests and counts answers by server.
func (c *client) spread(n int) (map[string]int, lab.LoadResult) {
	counts := map[string]int{}
	var r lab.LoadResult
	for range n {
		who, err := c.get()
		r.Count(err)
		if err == nil {
			counts[who]++
		}
	}
	return counts, r
}

// balancer is one lbd (or keepalived) with its configuration file.
type balancer struct {
	name, file string
	node       *lab.Node
	proc       *lab.Process
	keepalived bool // run Debian's keepalived on file instead
}

func (b *balancer) start(t *testing.T) {
	if b.keepalived {
		b.proc = b.node.StartKeepalived(b.file)
		return
	}
	b.proc = b.node.StartRole("lbd", "-f", b.file)
}

// restart starts b again once its last process has exited: two at once
// would share a control socket and state (or pid files).
func (b *balancer) restart(t *testing.T) {
	t.Helper()
	if err := b.proc.Wait(10 * time.Second); !b.proc.Exited() {
		t.Fatalf("%s: %v", b.name, err)
	}
	b.start(t)
}

// write replaces b's configuration file.
func (b *balancer) write(t *testing.T, text string) {
	t.Helper()
	if err := os.WriteFile(b.file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (b *balancer) ipvs(t *testing.T) string { return b.node.MustRun("ipvsadm", "-S", "-n") }

func (b *balancer) holdsVIP() bool { return b.node.HasAddr(vip) }

// hasRealServers reports whether b's kernel has every real server with
// weight 1 (up: with inhibit_on_failure a failed one stays with weight 0).
func hasRealServers(t *testing.T, b *balancer) bool { return allUp(b.ipvs(t)) }

// allUp reports whether out, an ipvsadm -S dump, has every real server
// with weight 1.
func allUp(out string) bool {
	for _, name := range []string{"rs1", "rs2", "rs3"} {
		if !strings.Contains(out, rule(rsAddr[name], 1)) {
			return false
		}
	}
	return true
}

// waitBackup waits until b runs as backup with every real server up in
// its kernel table. The table outlives a restart, so the process must
// also say that its VRRP instance is BACKUP: a handover to a balancer
// still starting is another test.
func waitBackup(t *testing.T, b *balancer) {
	t.Helper()
	said := "state=BACKUP" // in lbd's state change line
	if b.keepalived {
		said = "Entering BACKUP STATE"
	}
	lab.WaitFor(t, 20*time.Second, 50*time.Millisecond, b.name+" BACKUP with every real server", func() bool {
		return strings.Contains(b.proc.Out.String(), said) && !b.holdsVIP() && hasRealServers(t, b)
	})
}

// scheduling is how the balancers pick real servers.
type scheduling int

const (
	// consistent: mh (Maglev hashing of the client's address and port)
	// over a destination list that never changes order (a failed server
	// keeps its place with weight 0), so both balancers map a connection
	// to the same real server, and sloppy TCP, so the new master forwards
	// a connection it never saw to where the old one did.
	consistent scheduling = iota
	// plain: rr, failed servers removed, sloppy TCP off: what most
	// keepalived set-ups run.
	plain
)

// config is a balancer's YAML: VRRP carrying the VIP and a direct-routing
// virtual server scheduled as sched says.
func config(dir string, priority int, weights map[string]int, sched scheduling) string {
	digest := md5.Sum([]byte(healthy))
	var rs strings.Builder
	for _, name := range []string{"rs1", "rs2", "rs3"} {
		fmt.Fprintf(&rs, "      - address: %s\n        weight: %d\n", rsAddr[name], weights[name])
	}
	scheduler := `scheduler: mh
    scheduler_flags: [mh-port, mh-fallback]
    inhibit_on_failure: true`
	if sched == plain {
		scheduler = "scheduler: rr"
	}
	// Both balancers share the VM's file system: each gets its own control
	// socket and state directory.
	return fmt.Sprintf(`global:
  router_id: lb-%[1]d
  control_socket: %[5]s/lb-%[1]d.sock
  state_dir: %[5]s/lb-%[1]d
  lvs_sloppy_tcp: %[6]v
vrrp_instances:
  - name: VI_WEB
    interface: eth0
    virtual_router_id: 51
    priority: %[2]d
    version: 3
    advert_interval: 100ms
    nopreempt: true
    virtual_ipaddresses:
      - 198.51.100.10/24
virtual_servers:
  - name: web
    address: 198.51.100.10:80
    protocol: TCP
    %[7]s
    forwarding: DR
    sorry_server: 198.51.100.30:80
    check:
      type: HTTP_GET
      delay_loop: 500ms
      connect_timeout: 300ms
      retry: 0
      warmup: 0s
      urls:
        - {path: /health, digest: %[3]s}
    real_servers:
%[4]s`, priority, priority, hex.EncodeToString(digest[:]), rs.String(), dir, sched == consistent, scheduler)
}

var rsAddr = map[string]string{"rs1": "198.51.100.21:80", "rs2": "198.51.100.22:80", "rs3": "198.51.100.23:80"}

// rule is the ipvsadm -S line of a destination with its weight.
func rule(addr string, weight int) string {
	return fmt.Sprintf("-r %s -g -w %d", addr, weight)
}

// eventually polls cond every 50 ms up to limit and returns how long it took.
func eventually(limit time.Duration, cond func() bool) (time.Duration, bool) {
	return lab.Poll(limit, 50*time.Millisecond, cond)
}

type step struct {
	name, result string
	ok           bool
}

// demoLab is the demo's network: a client, two balancers, three real
// servers and a sorry server, on one LAN in namespaces of the VM.
type demoLab struct {
	client  *lab.Node
	lbs     []*balancer // lb1, lb2, not started
	servers map[string]*realServer
	dir     string // the balancers' files, sockets and state
}

func newDemoLab(t *testing.T) *demoLab {
	l := lab.New(t)
	lan := l.LAN("lan")
	d := &demoLab{client: l.Node("client"), servers: map[string]*realServer{}, dir: t.TempDir()}
	d.client.Attach(lan, "eth0", "198.51.100.2/24")
	for i, name := range []string{"lb1", "lb2"} {
		n := l.Node(name)
		n.Attach(lan, "eth0", fmt.Sprintf("198.51.100.%d/24", 11+i))
		d.lbs = append(d.lbs, &balancer{name: name, node: n, file: filepath.Join(d.dir, name+".yaml")})
	}
	for _, name := range []string{"rs1", "rs2", "rs3", "sorry"} {
		n := l.Node(name)
		addr := "198.51.100.30:80"
		if name != "sorry" {
			addr = rsAddr[name]
		}
		host, _, _ := strings.Cut(addr, ":")
		// Direct routing: the VIP on loopback, never answered for in ARP.
		n.Sysctl("net.ipv4.conf.all.arp_ignore", "1")
		n.Sysctl("net.ipv4.conf.all.arp_announce", "2")
		n.Attach(lan, "eth0", host+"/24")
		n.AddAddr("lo", vip.String()+"/32")
		d.servers[name] = startRealServer(t, n, name, ":80")
	}
	return d
}

func TestDemo(t *testing.T) {
	if !lab.RunInVM(t, lab.VMOptions{MemoryMB: 1536, Timeout: 8 * time.Minute}) {
		return
	}
	var steps []step
	record := func(name string, ok bool, format string, args ...any) {
		res := fmt.Sprintf(format, args...)
		steps = append(steps, step{name, res, ok})
		mark := "ok"
		if !ok {
			mark = "FAILED"
			t.Errorf("%s: %s", name, res)
		}
		say("  -> %s (%s)", res, mark)
	}
	defer func() {
		say("")
		say("%-34s %-6s %s", "step", "result", "measured")
		say("%s", strings.Repeat("-", 78))
		for _, s := range steps {
			mark := "ok"
			if !s.ok {
				mark = "FAILED"
			}
			say("%-34s %-6s %s", s.name, mark, s.result)
		}
	}()

	say("Building the lab: client, lb1, lb2, rs1-rs3 and a sorry server in network namespaces on one LAN")
	d := newDemoLab(t)
	lbs, lb1, lb2, servers, dir := d.lbs, d.lbs[0], d.lbs[1], d.servers, d.dir
	weights := map[string]int{"rs1": 1, "rs2": 1, "rs3": 1}
	for i, b := range lbs {
		b.write(t, config(dir, 150-50*i, weights, consistent))
		b.start(t)
	}
	c := newClient(d.client, clientTimeout)

	say("")
	say("1. lb1 (priority 150) and lb2 (100) elect a master; mh spreads requests by client address and port")
	took, ok := eventually(10*time.Second, func() bool {
		_, err := c.get()
		return lb1.holdsVIP() && !lb2.holdsVIP() && err == nil
	})
	if !ok {
		record("election", false, "lb1 did not become the only master in %v", took.Round(time.Millisecond))
		return
	}
	record("election", true, "lb1 MASTER, VIP answering %v after start", took.Round(time.Millisecond))
	counts, res := c.spread(30)
	record("traffic spread (mh, 30 requests)", res.Failed == 0 && counts["rs1"] > 0 && counts["rs2"] > 0 && counts["rs3"] > 0,
		"rs1=%d rs2=%d rs3=%d failed=%d%s", counts["rs1"], counts["rs2"], counts["rs3"], res.Failed, res.Why())

	say("")
	say("2. rs2's health page changes: its HTTP_GET digest no longer matches")
	servers["rs2"].setHealthy(false)
	took, ok = eventually(10*time.Second, func() bool { return strings.Contains(lb1.ipvs(t), rule(rsAddr["rs2"], 0)) })
	record("rs2 failed by digest check", ok, "weight 0 in IPVS %v after the change", took.Round(time.Millisecond))
	counts, res = c.spread(20)
	record("traffic avoids rs2", res.Failed == 0 && counts["rs2"] == 0,
		"rs1=%d rs2=%d rs3=%d failed=%d%s", counts["rs1"], counts["rs2"], counts["rs3"], res.Failed, res.Why())
	servers["rs2"].setHealthy(true)
	took, ok = eventually(10*time.Second, func() bool { return strings.Contains(lb1.ipvs(t), rule(rsAddr["rs2"], 1)) })
	record("rs2 restored", ok, "weight 1 again %v after recovery", took.Round(time.Millisecond))

	say("")
	say("3. every real server fails its check: the sorry server answers")
	for _, n := range []string{"rs1", "rs2", "rs3"} {
		servers[n].setHealthy(false)
	}
	took, ok = eventually(10*time.Second, func() bool { who, err := c.get(); return err == nil && who == "sorry" })
	record("sorry server installed", ok, "answering %v after the last real server failed", took.Round(time.Millisecond))
	for _, n := range []string{"rs1", "rs2", "rs3"} {
		servers[n].setHealthy(true)
	}
	took, ok = eventually(10*time.Second, func() bool {
		out := lb1.ipvs(t)
		return allUp(out) && !strings.Contains(out, "198.51.100.30")
	})
	record("real servers back, sorry gone", ok, "%v", took.Round(time.Millisecond))

	say("")
	say("4. lb1 dies (link down, SIGKILL): lb2 takes the VIP")
	load := []func() error{c.request}
	res = lab.UnderLoad(load, func() {
		lb1.node.SetLink("eth0", false)
		lb1.proc.Signal(syscall.SIGKILL)
		took, ok = eventually(10*time.Second, func() bool { _, err := c.get(); return lb2.holdsVIP() && err == nil })
	})
	record("unplanned failover", ok && res.LongestGap < 2*time.Second,
		"client outage %v (%d of %d requests failed), VIP on lb2 after %v%s",
		res.LongestGap.Round(time.Millisecond), res.Failed, res.Sent, took.Round(time.Millisecond), res.Why())

	say("")
	say("5. lb1 comes back as backup (nopreempt); lb2 is stopped: planned handover back")
	lb1.node.SetLink("eth0", true)
	lb1.restart(t)
	if _, ok = lab.Poll(10*time.Second, 50*time.Millisecond, func() bool { return !lb1.holdsVIP() && hasRealServers(t, lb1) }); !ok {
		record("lb1 rejoins as backup", false, "lb1 did not settle as backup with every real server")
	}
	time.Sleep(time.Second) // let lb1's checks settle
	res = lab.UnderLoad(load, func() {
		lb2.proc.Signal(syscall.SIGTERM)
		took, ok = eventually(10*time.Second, func() bool { return lb1.holdsVIP() && !lb2.holdsVIP() })
	})
	// The VIP moves with no gap (lb2 keeps it until lb1 has it), and a
	// connection lb2 scheduled reaches lb1 mid-stream: sloppy TCP lets lb1
	// schedule it from that packet, and the same Maglev table sends it to
	// the same real server, so no request fails.
	record("planned handover (SIGTERM lb2)", ok && res.Failed == 0 && res.LongestGap < time.Second,
		"%d of %d requests failed, longest gap %v, lb1 MASTER after %v%s",
		res.Failed, res.Sent, res.LongestGap.Round(time.Millisecond), took.Round(time.Millisecond), res.Why())
	lb2.restart(t)

	say("")
	say("6. reload lb1 with rs1's weight 1 -> 3: one kernel change, nothing else disturbed")
	before := lb1.ipvs(t)
	weights["rs1"] = 3
	lb1.write(t, config(dir, 150, weights, consistent))
	logBefore := len(lb1.proc.Out.String())
	res = lab.UnderLoad(load, func() {
		lb1.proc.Signal(syscall.SIGHUP)
		took, ok = eventually(10*time.Second, func() bool { return strings.Contains(lb1.ipvs(t), rule(rsAddr["rs1"], 3)) })
	})
	gone, added := diffLines(before, lb1.ipvs(t))
	transitions := strings.Count(lb1.proc.Out.String()[logBefore:], "vrrp: state change")
	record("reload (one weight)", ok && len(gone) == 1 && len(added) == 1 && res.Failed == 0 && transitions == 0 && lb1.holdsVIP(),
		"applied in %v; rules changed: %q -> %q; %d requests failed; %d VRRP transitions%s",
		took.Round(time.Millisecond), strings.Join(gone, "; "), strings.Join(added, "; "), res.Failed, transitions, res.Why())
}

// diffLines returns the lines only in a and the lines only in b.
func diffLines(a, b string) (gone, added []string) {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
			m[l] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	for l := range ma {
		if !mb[l] {
			gone = append(gone, l)
		}
	}
	for l := range mb {
		if !ma[l] {
			added = append(added, l)
		}
	}
	sort.Strings(gone)
	sort.Strings(added)
	return gone, added
}
