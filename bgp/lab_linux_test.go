package bgp

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/rpc"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/lab"
	api "github.com/osrg/gobgp/v3/api"
)

// The lab tests run each speaker as this test binary run again in a node
// (the "speaker" role): gobgp opens its listener and its connections on
// goroutines of its own, which a thread locked into a namespace cannot
// hold. The test drives it over net/rpc on a Unix socket, which the
// nodes share through the file system.
func TestMain(m *testing.M) {
	lab.Main(m, lab.Roles{"speaker": runSpeakerRole})
}

// Ctl is the speaker role's RPC service.
type Ctl struct{ s *Speaker }

type AnnounceArgs struct {
	Prefix netip.Prefix
	Route  Route
}

func (c *Ctl) Start(cfg Config, _ *struct{}) error       { return c.s.Start(context.Background(), cfg) }
func (c *Ctl) Reconfigure(cfg Config, _ *struct{}) error { return c.s.Reconfigure(cfg) }
func (c *Ctl) Announce(a AnnounceArgs, _ *struct{}) error {
	return c.s.Announce(a.Prefix, a.Route)
}
func (c *Ctl) Withdraw(p netip.Prefix, _ *struct{}) error { return c.s.Withdraw(p) }
func (c *Ctl) Stats(_ struct{}, st *Stats) error          { *st = c.s.Stats(); return nil }

// RIBPaths counts the paths in gobgp's global RIB (lbd's own and any
// received one that got past the import policy).
func (c *Ctl) RIBPaths(_ struct{}, n *int) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	for _, f := range []Family{IPv4Unicast, IPv6Unicast} {
		req := &api.ListPathRequest{TableType: api.TableType_GLOBAL, Family: apiFamily(f)}
		if err := c.s.srv.ListPath(context.Background(), req, func(d *api.Destination) { *n += len(d.Paths) }); err != nil {
			return err
		}
	}
	return nil
}
func (c *Ctl) Drain(limit time.Duration, took *time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var err error
	*took, err = c.s.Drain(ctx)
	return err
}

// runSpeakerRole serves a Speaker on the Unix socket args[0] until killed.
func runSpeakerRole(args []string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := rpc.NewServer()
	if err := srv.Register(&Ctl{s: New(log)}); err != nil {
		log.Error("register", "err", err)
		return 1
	}
	ln, err := net.Listen("unix", args[0])
	if err != nil {
		log.Error("listen", "err", err)
		return 1
	}
	srv.Accept(ln)
	return 0
}

// remote is a speaker running in a node.
type remote struct {
	t *testing.T
	c *rpc.Client
}

func startSpeaker(t *testing.T, n *lab.Node, cfg Config) *remote {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	n.StartRole("speaker", sock)
	var c *rpc.Client
	lab.WaitFor(t, 10*time.Second, 20*time.Millisecond, "speaker control socket", func() bool {
		var err error
		c, err = rpc.Dial("unix", sock)
		return err == nil
	})
	t.Cleanup(func() { c.Close() })
	r := &remote{t: t, c: c}
	r.call("Start", cfg, nil)
	return r
}

func (r *remote) call(method string, args, reply any) {
	r.t.Helper()
	if reply == nil {
		reply = &struct{}{}
	}
	if err := r.c.Call("Ctl."+method, args, reply); err != nil {
		r.t.Fatalf("speaker %s: %v", method, err)
	}
}

func (r *remote) stats() Stats {
	r.t.Helper()
	var st Stats
	r.call("Stats", struct{}{}, &st)
	return st
}

func (r *remote) peer(a netip.Addr) PeerStatus {
	r.t.Helper()
	for _, p := range r.stats().Peers {
		if p.Address == a {
			return p
		}
	}
	r.t.Fatalf("no peer %v", a)
	return PeerStatus{}
}

func (r *remote) waitEstablished(a netip.Addr) {
	r.t.Helper()
	lab.WaitFor(r.t, 30*time.Second, 50*time.Millisecond, fmt.Sprintf("session with %v established", a), func() bool {
		return r.peer(a).State == StateEstablished
	})
}

// bird is BIRD 2 running in a node.
// birdNeighbor is one BGP protocol of BIRD's configuration.
type birdNeighbor struct {
	name, local, addr string
	family            string // ipv4 or ipv6
	export            string // BIRD export clause, "none" by default
	password          string
}

const (
	routerASN = 65000
	lbdASN    = 65001
)

// startBird runs BIRD in n with a kernel protocol per family that merges
// equal routes into multipath (ECMP) routes, static routes to export to
// lbd, and the neighbors.
func startBird(t *testing.T, n *lab.Node, routerID string, neighbors ...birdNeighbor) *lab.Bird {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "router id %s;\nlog stderr all;\nprotocol device { scan time 1; }\n", routerID)
	for _, fam := range []string{"ipv4", "ipv6"} {
		fmt.Fprintf(&b, "protocol kernel k%s { %s { import none; export all; }; merge paths on limit 16; }\n", fam, fam)
	}
	b.WriteString("protocol static st4 { ipv4; route 198.51.100.0/25 blackhole; route 198.51.100.128/25 blackhole; }\n")
	for _, nb := range neighbors {
		export := nb.export
		if export == "" {
			export = "none"
		}
		fmt.Fprintf(&b, "protocol bgp %s {\n local %s as %d;\n neighbor %s as %d;\n hold time 9;\n connect retry time 1;\n error wait time 1, 5;\n", nb.name, nb.local, routerASN, nb.addr, lbdASN)
		if nb.password != "" {
			fmt.Fprintf(&b, " password %q;\n", nb.password)
		}
		fmt.Fprintf(&b, " %s { import all; export %s; };\n}\n", nb.family, export)
	}
	return n.StartBird(t, b.String())
}

var (
	routerV4 = netip.MustParseAddr("192.0.2.1")
	routerV6 = netip.MustParseAddr("2001:db8::1")
	vip4     = netip.MustParsePrefix("203.0.113.10/32")
	vip6     = netip.MustParsePrefix("2001:db8:ffff::10/128")
)

func lbdConfig(id string, listen uint16, peers ...PeerConfig) Config {
	return Config{LocalASN: lbdASN, RouterID: netip.MustParseAddr(id), ListenPort: listen, Peers: peers}
}

func routerPeer() PeerConfig {
	return PeerConfig{Address: routerV4, ASN: routerASN, HoldTime: 9 * time.Second}
}

// TestLabAnnounceWithdrawDrain: IPv4 and IPv6 sessions with BIRD come up;
// a VIP announced with communities and MED reaches BIRD's table and the
// router's FIB; a withdrawal takes it out of both (the times are logged);
// Drain takes everything out and returns once the withdrawals are sent.
func TestLabAnnounceWithdrawDrain(t *testing.T) {
	l := lab.New(t)
	router, lb := l.Node("router"), l.Node("lb")
	router.Link("r0", lb, "l0")
	router.AddAddr("r0", "192.0.2.1/24")
	router.AddAddr("r0", "2001:db8::1/64")
	lb.AddAddr("l0", "192.0.2.11/24")
	lb.AddAddr("l0", "2001:db8::11/64")
	b := startBird(t, router, "192.0.2.1",
		birdNeighbor{name: "lbd4", local: "192.0.2.1", addr: "192.0.2.11", family: "ipv4"},
		birdNeighbor{name: "lbd6", local: "2001:db8::1", addr: "2001:db8::11", family: "ipv6"})
	v6peer := PeerConfig{Address: routerV6, ASN: routerASN, HoldTime: 9 * time.Second}
	s := startSpeaker(t, lb, lbdConfig("192.0.2.11", 0, routerPeer(), v6peer))
	s.waitEstablished(routerV4)
	s.waitEstablished(routerV6)
	lab.WaitFor(t, 10*time.Second, 50*time.Millisecond, "BIRD: lbd4 and lbd6 established", func() bool {
		return b.Established("lbd4") && b.Established("lbd6")
	})

	med := uint32(50)
	s.call("Announce", AnnounceArgs{vip4, Route{Communities: []uint32{65001<<16 | 100}, MED: &med,
		LargeCommunities: []LargeCommunity{{65001, 1, 2}}}}, nil)
	s.call("Announce", AnnounceArgs{vip6, Route{MED: &med}}, nil)
	if _, ok := lab.Poll(10*time.Second, 10*time.Millisecond, func() bool {
		return b.Route(vip4.String()) != "" && b.Route(vip6.String()) != ""
	}); !ok {
		t.Fatalf("VIPs not in BIRD:\n%s", b.MustQuery("show", "route", "all"))
	}
	r := b.Route(vip4.String())
	for _, want := range []string{"(65001,100)", "BGP.med: 50", "(65001, 1, 2)", "via 192.0.2.11"} {
		if !strings.Contains(r, want) {
			t.Errorf("BIRD's route for %v lacks %q:\n%s", vip4, want, r)
		}
	}
	if r6 := b.Route(vip6.String()); !strings.Contains(r6, "via 2001:db8::11") {
		t.Errorf("BIRD's route for %v: want next hop 2001:db8::11 (self):\n%s", vip6, r6)
	}
	lab.WaitFor(t, 10*time.Second, 10*time.Millisecond, "VIP in the router's FIB", func() bool { return router.FIBNexthops("203.0.113.10") == 1 })
	if p := s.peer(routerV4); p.Advertised != 1 {
		t.Errorf("peer %v: Advertised %d, want 1", routerV4, p.Advertised)
	}

	// Withdraw: time to BIRD's table and to the router's kernel FIB.
	start := time.Now()
	s.call("Withdraw", vip4, nil)
	called := time.Since(start)
	ribDone := make(chan time.Duration, 1)
	go func() {
		took, _ := lab.Poll(10*time.Second, 2*time.Millisecond, func() bool {
			out, _ := b.Query("show", "route", "for", vip4.String())
			return strings.Contains(out, "Network not found")
		})
		ribDone <- took + called
	}()
	fib, ok := lab.Poll(10*time.Second, 2*time.Millisecond, func() bool { return router.FIBNexthops("203.0.113.10") == 0 })
	if !ok {
		t.Fatalf("%v still in the router's FIB", vip4)
	}
	rib := <-ribDone
	if b.Route(vip4.String()) != "" {
		t.Fatalf("%v still in BIRD", vip4)
	}
	t.Logf("withdraw: Withdraw call %v, gone from BIRD's table after %v, from the kernel FIB after %v", called, rib, fib+called)

	// Drain withdraws the rest and returns once it is sent.
	s.call("Announce", AnnounceArgs{vip4, Route{}}, nil)
	lab.WaitFor(t, 10*time.Second, 10*time.Millisecond, "VIP back in BIRD", func() bool { return b.Route(vip4.String()) != "" })
	var took time.Duration
	s.call("Drain", 10*time.Second, &took)
	if took > time.Second {
		t.Errorf("Drain took %v", took)
	}
	gone, ok := lab.Poll(5*time.Second, 2*time.Millisecond, func() bool {
		return b.Route(vip4.String()) == "" && b.Route(vip6.String()) == ""
	})
	if !ok {
		t.Fatalf("routes still in BIRD after Drain")
	}
	t.Logf("drain: returned after %v; BIRD had no route %v after its return", took, gone)
	st := s.stats()
	if st.Routes != 0 {
		t.Errorf("Routes after Drain: %d", st.Routes)
	}
	for _, p := range st.Peers {
		if p.State != StateEstablished || p.Advertised != 0 || p.Resets != 0 {
			t.Errorf("after Drain: %+v", p)
		}
	}
}

// TestLabECMP: three balancers announce the same VIP; the router's FIB
// has a multipath route over all three; one withdraws, two are left.
func TestLabECMP(t *testing.T) {
	l := lab.New(t)
	lan := l.LAN("lan")
	router := l.Node("router")
	router.Attach(lan, "r0", "192.0.2.1/24")
	var nbs []birdNeighbor
	var speakers []*remote
	for i := 1; i <= 3; i++ {
		nbs = append(nbs, birdNeighbor{name: fmt.Sprintf("lbd%d", i), local: "192.0.2.1", addr: fmt.Sprintf("192.0.2.1%d", i), family: "ipv4"})
	}
	startBird(t, router, "192.0.2.1", nbs...)
	for i := 1; i <= 3; i++ {
		n := l.Node(fmt.Sprintf("lb%d", i))
		n.Attach(lan, "l0", fmt.Sprintf("192.0.2.1%d/24", i))
		s := startSpeaker(t, n, lbdConfig(fmt.Sprintf("192.0.2.1%d", i), 0, routerPeer()))
		speakers = append(speakers, s)
	}
	for _, s := range speakers {
		s.waitEstablished(routerV4)
		s.call("Announce", AnnounceArgs{vip4, Route{}}, nil)
	}
	lab.WaitFor(t, 15*time.Second, 10*time.Millisecond, "3 next hops in the router's FIB", func() bool { return router.FIBNexthops("203.0.113.10") == 3 })
	t.Logf("FIB:\n%s", router.MustRun("ip", "route", "show", "203.0.113.10"))
	speakers[1].call("Withdraw", vip4, nil)
	took, ok := lab.Poll(10*time.Second, 2*time.Millisecond, func() bool { return router.FIBNexthops("203.0.113.10") == 2 })
	if !ok {
		t.Fatalf("FIB still has %d next hops", router.FIBNexthops("203.0.113.10"))
	}
	out := router.MustRun("ip", "route", "show", "203.0.113.10")
	if strings.Contains(out, "192.0.2.12 ") {
		t.Errorf("withdrawn balancer still a next hop:\n%s", out)
	}
	t.Logf("ECMP: one of three withdrew, FIB down to 2 next hops after %v", took)
}

// TestLabImportRejected: BIRD exports routes to lbd; the speaker counts
// them received and rejected, accepts none, installs none.
func TestLabImportRejected(t *testing.T) {
	l := lab.New(t)
	router, lb := l.Node("router"), l.Node("lb")
	router.Link("r0", lb, "l0")
	router.AddAddr("r0", "192.0.2.1/24")
	lb.AddAddr("l0", "192.0.2.11/24")
	startBird(t, router, "192.0.2.1", birdNeighbor{name: "lbd", local: "192.0.2.1", addr: "192.0.2.11", family: "ipv4", export: `where proto = "st4"`})
	cfg := lbdConfig("192.0.2.11", 0, routerPeer())
	s := startSpeaker(t, lb, cfg)
	s.waitEstablished(routerV4)
	lab.WaitFor(t, 10*time.Second, 20*time.Millisecond, "2 routes received", func() bool { return s.peer(routerV4).ReceivedPrefixes == 2 })
	p := s.peer(routerV4)
	if p.RejectedPrefixes != 2 || p.UpdatesReceived == 0 {
		t.Errorf("received routes: %+v", p)
	}
	s.call("Announce", AnnounceArgs{vip4, Route{}}, nil)
	var n int
	s.call("RIBPaths", struct{}{}, &n)
	if n != 1 {
		t.Errorf("gobgp's RIB holds %d paths, want 1 (lbd's own)", n)
	}

	// Reconfigure adding a peer leaves the unchanged one alone.
	before := s.peer(routerV4)
	cfg.Peers = append(cfg.Peers, PeerConfig{Address: netip.MustParseAddr("192.0.2.99"), ASN: routerASN})
	s.call("Reconfigure", cfg, nil)
	time.Sleep(500 * time.Millisecond)
	if after := s.peer(routerV4); after.State != StateEstablished || after.Resets != before.Resets || after.MessagesSent < before.MessagesSent {
		t.Errorf("unchanged peer disturbed by Reconfigure: before %+v, after %+v", before, after)
	}
	if st := s.stats(); len(st.Peers) != 2 || st.Peers[1].State == StateEstablished {
		t.Errorf("after adding a peer: %+v", st.Peers)
	}
	if out := lb.MustRun("ip", "route", "show", "198.51.100.0/25"); strings.TrimSpace(out) != "" {
		t.Errorf("route installed on the balancer: %s", out)
	}
}

// TestLabPasswordMismatch: with the wrong TCP MD5 password the session
// never comes up and the failed connections are counted; with the right
// one it does.
func TestLabPasswordMismatch(t *testing.T) {
	l := lab.New(t)
	router, lb := l.Node("router"), l.Node("lb")
	router.Link("r0", lb, "l0")
	router.AddAddr("r0", "192.0.2.1/24")
	lb.AddAddr("l0", "192.0.2.11/24")
	b := startBird(t, router, "192.0.2.1", birdNeighbor{name: "lbd", local: "192.0.2.1", addr: "192.0.2.11", family: "ipv4", password: "right"})
	wrong := routerPeer()
	wrong.Password = "wrong"
	cfg := lbdConfig("192.0.2.11", 0, wrong)
	s := startSpeaker(t, lb, cfg)
	lab.WaitFor(t, 30*time.Second, 100*time.Millisecond, "a failed connection counted", func() bool {
		p := s.peer(routerV4)
		if p.State == StateEstablished {
			t.Fatalf("established with the wrong password")
		}
		return p.ConnectFailures > 0
	})
	if b.Established("lbd") {
		t.Fatal("BIRD established with the wrong password")
	}
	p := s.peer(routerV4)
	t.Logf("wrong password: %d failed connections, last error %q", p.ConnectFailures, p.LastError)
	cfg.Peers[0].Password = "right"
	s.call("Reconfigure", cfg, nil)
	s.waitEstablished(routerV4)
}

// TestLabGarbagePeer: junk on port 179, from the router's own address and
// from an unknown host, disturbs neither the session with BIRD nor the
// route it carries.
func TestLabGarbagePeer(t *testing.T) {
	l := lab.New(t)
	lan := l.LAN("lan")
	router, lb, evil := l.Node("router"), l.Node("lb"), l.Node("evil")
	router.Attach(lan, "r0", "192.0.2.1/24")
	lb.Attach(lan, "l0", "192.0.2.11/24")
	evil.Attach(lan, "e0", "192.0.2.66/24")
	b := startBird(t, router, "192.0.2.1", birdNeighbor{name: "lbd", local: "192.0.2.1", addr: "192.0.2.11", family: "ipv4"})
	s := startSpeaker(t, lb, lbdConfig("192.0.2.11", DefaultPort, routerPeer()))
	s.waitEstablished(routerV4)
	s.call("Announce", AnnounceArgs{vip4, Route{}}, nil)
	lab.WaitFor(t, 10*time.Second, 10*time.Millisecond, "VIP in BIRD", func() bool { return b.Route(vip4.String()) != "" })
	before := s.peer(routerV4)

	junk := [][]byte{
		[]byte("GET / HTTP/1.0\r\n\r\n"),
		append(bytesOf(0xff, 16), 0x00, 0x13, 0x09), // BGP marker, unknown type 9
		append(bytesOf(0xff, 16), 0xff, 0xff, 0x01), // length 65535
		bytesOf(0x00, 4096),
	}
	for _, from := range []*lab.Node{router, evil} {
		for _, j := range junk {
			c, err := from.Dial("tcp", "192.0.2.11:179", 5*time.Second)
			if err != nil {
				t.Fatalf("%s: dial: %v", from.Name, err)
			}
			c.SetDeadline(time.Now().Add(2 * time.Second))
			c.Write(j)
			buf := make([]byte, 4096)
			for {
				if _, err := c.Read(buf); err != nil {
					break
				}
			}
			c.Close()
		}
	}
	time.Sleep(time.Second)
	after := s.peer(routerV4)
	if after.State != StateEstablished || after.Resets != before.Resets || after.Uptime < before.Uptime {
		t.Errorf("session disturbed by junk: before %+v, after %+v", before, after)
	}
	if !b.Established("lbd") || b.Route(vip4.String()) == "" {
		t.Errorf("BIRD lost the session or the route:\n%s", b.MustQuery("show", "protocols", "all", "lbd"))
	}
	if st := s.stats(); st.UnknownConnections == 0 {
		t.Errorf("connections from an unknown host not counted: %+v", st)
	}
}

func bytesOf(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// A router that sends lbd more routes than it keeps (maxReceivedRoutes,
// all rejected anyway) has its session reset rather than filling lbd's
// memory; the routes go with it.
func TestLabReceivedRoutesBounded(t *testing.T) {
	l := lab.New(t)
	router, lb := l.Node("router"), l.Node("lb")
	router.Link("r0", lb, "l0")
	router.AddAddr("r0", "192.0.2.1/24")
	lb.AddAddr("l0", "192.0.2.11/24")
	var conf strings.Builder
	fmt.Fprintf(&conf, "router id 192.0.2.1;\nprotocol device { scan time 1; }\nprotocol static many { ipv4;\n")
	for i := range maxReceivedRoutes + 1 {
		fmt.Fprintf(&conf, " route 10.%d.%d.0/24 blackhole;\n", i/256, i%256)
	}
	fmt.Fprintf(&conf, "}\nprotocol bgp lbd { local 192.0.2.1 as %d; neighbor 192.0.2.11 as %d; hold time 9; connect retry time 1;\n"+
		" error wait time 1, 5; ipv4 { import all; export where proto = \"many\"; }; }\n", routerASN, lbdASN)
	router.StartBird(t, conf.String())
	s := startSpeaker(t, lb, lbdConfig("192.0.2.11", 0, routerPeer()))
	lab.WaitFor(t, 30*time.Second, 50*time.Millisecond, "the session reset for too many routes", func() bool {
		p := s.peer(routerV4)
		return p.Resets > 0 || p.NotificationsSent > 0
	})
	if p := s.peer(routerV4); p.ReceivedPrefixes > maxReceivedRoutes {
		t.Errorf("lbd holds %d received routes, more than %d", p.ReceivedPrefixes, maxReceivedRoutes)
	}
}
