package daemon

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/control"
	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/vrrp"
	"github.com/mdlayher/packet"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// hostileYAML is lbd for TestHostileInput: one VRRPv3 instance, MASTER
// alone at priority 200, holding the VIP on "front"; a track file (weight
// -10) the attacks replace; a kernel IPVS virtual server whose one real
// server is checked by PING_CHECK.
const hostileYAML = `global:
  control_socket: DIR/control.sock
  state_dir: DIR/state
  metrics_address: 198.51.100.1:9274
  lvs_reconcile_interval: 1h
vrrp_instances:
  - name: VI_1
    interface: front
    virtual_router_id: 51
    priority: 200
    advert_interval: 100ms
    garp_master_delay: 0
    virtual_ipaddresses: [198.51.100.10/32]
    track_files: [{path: DIR/track, weight: -10}]
virtual_servers:
  - address: 198.51.100.10:80
    scheduler: rr
    vrrp_instance: VI_1
    check: {type: PING, delay_loop: 200ms, connect_timeout: 1s, retry: 0, warmup: 0}
    real_servers: [192.0.2.15:80]
`

// TestHostileInput attacks a running lbd (this test binary re-executed as
// lbd, in a balancer namespace of the lab VM, with kernel IPVS) with
// hostile input, and checks after each attack that lbd is alive, still
// MASTER, holds the VIP, left the IPVS table alone, and counted what it
// dropped in /metrics.
//
// Topology: one LAN "front" (198.51.100.0/24) joins lb (.1), the attacker
// "evil" (.66) and a client (.2); a LAN "back" (192.0.2.0/24) joins lb
// (.1) and the real server rs1 (.15).
func TestHostileInput(t *testing.T) {
	if !lab.RunInVM(t, lab.VMOptions{}) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	l := lab.New(t)
	front, back := l.LAN("front"), l.LAN("back")
	lbn, evil, client := l.Node("lb"), l.Node("evil"), l.Node("client")
	lbn.Attach(front, "front", "198.51.100.1/24")
	evil.Attach(front, "eth0", "198.51.100.66/24")
	client.Attach(front, "eth0", "198.51.100.2/24")
	lbn.Attach(back, "back", "192.0.2.1/24")
	lbn.Sysctl("net.ipv4.ip_forward", "1")
	rs := l.Node("rs1")
	rs.Attach(back, "eth0", "192.0.2.15/24")
	rs.AddRoute("default", "192.0.2.1")
	vip := netip.MustParseAddr("198.51.100.10")
	lbAddr := netip.MustParseAddr("198.51.100.1")

	dir := t.TempDir()
	file := filepath.Join(dir, "lbd.yaml")
	yaml := strings.ReplaceAll(hostileYAML, "DIR", dir)
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	track := filepath.Join(dir, "track")
	if err := os.WriteFile(track, []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "state"), 0o700); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, file)
	cmd.Env = append(os.Environ(), runAsLBD+"=1")
	p := lbn.StartCmd(cmd)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("lbd output:\n%s", p.Out.String())
		}
		p.Signal(syscall.SIGTERM)
		p.Wait(20 * time.Second)
	})
	sock := filepath.Join(dir, "control.sock")

	ipvsadm := func() string {
		t.Helper()
		var out strings.Builder
		cmd := exec.CommandContext(ctx, "ipvsadm", "-S", "-n")
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := lbn.RunCmd(cmd); err != nil {
			t.Fatalf("ipvsadm: %v: %s", err, out.String())
		}
		return out.String()
	}
	call := func(timeout time.Duration, method string, params, result any) error {
		return controlCall(ctx, timeout, sock, method, params, result)
	}
	status := func() control.StatusResult {
		t.Helper()
		var st control.StatusResult
		if err := call(10*time.Second, control.MethodStatus, nil, &st); err != nil {
			t.Fatalf("status: %v", err)
		}
		return st
	}
	rsUp := func(st control.StatusResult) bool {
		return len(st.VirtualServers) == 1 && len(st.VirtualServers[0].RealServers) == 1 && st.VirtualServers[0].RealServers[0].Up
	}
	// scrape fetches /metrics from the client node.
	scrape := func() string { return httpGet(t, client, "198.51.100.1:9274", "/metrics") }

	// Baseline: MASTER, the VIP, the service with rs1 up.
	var rules string
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		rules = ipvsadm()
		if strings.Contains(rules, "-A -t 198.51.100.10:80 -s rr") && strings.Contains(rules, "-r 192.0.2.15:80") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lbd did not install the service:\n%s", rules)
		}
	}
	if st := status(); len(st.VRRPInstances) != 1 || st.VRRPInstances[0].State != "MASTER" || !rsUp(st) {
		t.Fatalf("baseline status: %+v %+v", st.VRRPInstances, st.VirtualServers)
	}

	// intact checks what every attack must leave as it was; ipvs says
	// whether the table must be exactly the baseline.
	intact := func(t *testing.T, ipvs bool) {
		t.Helper()
		if p.Exited() {
			t.Fatal("lbd exited")
		}
		st := status()
		if len(st.VRRPInstances) != 1 || st.VRRPInstances[0].State != "MASTER" {
			t.Errorf("no longer MASTER: %+v", st.VRRPInstances)
		}
		if !lbn.HasAddr(vip) {
			t.Error("the VIP left its interface")
		}
		if ipvs {
			if got := ipvsadm(); got != rules {
				t.Errorf("the IPVS table changed:\n%s\nwas:\n%s", got, rules)
			}
		}
	}

	t.Run("vrrp", func(t *testing.T) {
		// Forged adverts from evil, each claiming priority 254 (above
		// lbd's 200: accepted, one would demote lbd to BACKUP).
		src := netip.MustParseAddr("198.51.100.66")
		base := vrrp.Advert{Version: vrrp.Version3, VRID: 51, Priority: 254, Interval: 100 * time.Millisecond,
			Addrs: []netip.Addr{vip}}
		mk := func(dst netip.Addr, f func(a *vrrp.Advert)) []byte {
			a := base
			f(&a)
			b, err := a.Marshal(src, dst)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		same := func(*vrrp.Advert) {}
		group := vrrp.MulticastIPv4
		badSum := mk(group, same)
		badSum[6] ^= 0x55
		v4 := mk(group, same)
		v4[0] = 4<<4 | v4[0]&0x0f // version 4: no such VRRP
		huge := mk(group, same)
		huge[3] = 200 // 200 addresses in a one-address packet
		cases := []struct {
			name    string
			ttl     int
			dst     netip.Addr
			payload []byte
			reason  string
		}{
			{"ttl 64", 64, group, mk(group, same), "ttl"},
			{"bad checksum", 255, group, badSum, "checksum"},
			{"version 2 to a v3 instance", 255, group,
				mk(group, func(a *vrrp.Advert) { a.Version, a.Interval = vrrp.Version2, time.Second }), "version"},
			{"version 4", 255, group, v4, "version"},
			{"wrong vrid", 255, group, mk(group, func(a *vrrp.Advert) { a.VRID = 52 }), "vrid"},
			{"truncated header", 255, group, mk(group, same)[:6], "truncated"},
			{"address count past the end", 255, group, huge, "truncated"},
			{"longer than its address count", 255, group, append(mk(group, same), make([]byte, 64)...), "addr_count"},
			{"interval 0", 255, group, mk(group, func(a *vrrp.Advert) { a.Interval = 0 }), "interval"},
			{"unicast destination", 255, lbAddr, mk(lbAddr, same), "destination"},
		}
		const n = 10
		body := scrape()
		before := map[string]float64{}
		want := map[string]float64{}
		for _, c := range cases {
			if _, ok := before[c.reason]; !ok {
				before[c.reason] = metricValue(body, "lbd_vrrp_packets_dropped_total", `instance="VI_1"`, `reason="`+c.reason+`"`)
			}
			want[c.reason] += n
		}
		for _, c := range cases {
			for range n {
				if err := evil.SendRawIPv4("eth0", 112, c.ttl, c.dst, c.payload); err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
			}
		}
		var got map[string]float64
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			body = scrape()
			got = map[string]float64{}
			ok := true
			for r, w := range want {
				got[r] = metricValue(body, "lbd_vrrp_packets_dropped_total", `instance="VI_1"`, `reason="`+r+`"`) - before[r]
				ok = ok && got[r] >= w
			}
			if ok || time.Now().After(deadline) {
				break
			}
		}
		for r, w := range want {
			if got[r] < w {
				t.Errorf("reason %q: %v more drops counted, want at least %v", r, got[r], w)
			}
		}
		intact(t, true)
	})

	t.Run("forged echo replies", func(t *testing.T) {
		// Design: the attacker becomes the router toward the real server
		// (lb gets a /32 route to rs1 via evil, as a hijacked next hop
		// would), so lbd's echo requests for rs1 reach evil's link, and
		// rs1 itself is gone: evil does not forward. evil reads the
		// requests off its link (AF_PACKET, datagram mode: the IP packet)
		// and answers each from its own address with the request's exact
		// ID and sequence. A ping socket delivers such a reply (the kernel
		// matches on the ID); the Pinger must see that the source is not
		// the target, count it as spoofed, and let rs1 go down.
		var capture *packet.Conn
		var forge net.PacketConn
		err := evil.Do(func() error {
			ifi, err := net.InterfaceByName("eth0")
			if err != nil {
				return err
			}
			if capture, err = packet.Listen(ifi, packet.Datagram, unix.ETH_P_IP, nil); err != nil {
				return err
			}
			forge, err = net.ListenPacket("ip4:icmp", "198.51.100.66")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		defer capture.Close()
		defer forge.Close()
		rsAddr := netip.MustParseAddr("192.0.2.15")
		var forged atomic.Int64
		done := make(chan struct{})
		go func() {
			defer close(done)
			buf := make([]byte, 1500)
			for {
				n, _, err := capture.ReadFrom(buf)
				if err != nil {
					return
				}
				b := buf[:n]
				if len(b) < 20 || b[0]>>4 != 4 || b[9] != 1 {
					continue
				}
				hl := int(b[0]&0x0f) * 4
				dst, _ := netip.AddrFromSlice(b[16:20])
				src, _ := netip.AddrFromSlice(b[12:16])
				if dst != rsAddr || len(b) < hl {
					continue
				}
				m, err := icmp.ParseMessage(1, b[hl:])
				if err != nil || m.Type != ipv4.ICMPTypeEcho {
					continue
				}
				echo, ok := m.Body.(*icmp.Echo)
				if !ok {
					continue
				}
				reply, err := (&icmp.Message{Type: ipv4.ICMPTypeEchoReply, Body: echo}).Marshal(nil)
				if err != nil {
					continue
				}
				if _, err := forge.WriteTo(reply, &net.IPAddr{IP: src.AsSlice()}); err == nil {
					forged.Add(1)
				}
			}
		}()
		defer func() { capture.Close(); <-done }()

		lbn.MustRun("ip", "route", "add", "192.0.2.15/32", "via", "198.51.100.66")
		restored := false
		restore := func() {
			if !restored {
				restored = true
				lbn.MustRun("ip", "route", "del", "192.0.2.15/32")
			}
		}
		defer restore()
		var st control.StatusResult
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			st = status()
			if !rsUp(st) || time.Now().After(deadline) {
				break
			}
		}
		if rsUp(st) {
			t.Errorf("forged echo replies kept the unreachable real server up (%d forged): %+v", forged.Load(), st.VirtualServers)
		}
		if forged.Load() == 0 {
			t.Error("the attacker saw no echo request to forge a reply for")
		}
		spoofed := metricValue(scrape(), "lbd_icmp_spoofed_replies_total")
		if spoofed <= 0 {
			t.Errorf("lbd_icmp_spoofed_replies_total %v after %d forged replies", spoofed, forged.Load())
		}
		t.Logf("%d forged replies, %v counted as spoofed", forged.Load(), spoofed)
		// The dead real server leaves the table; the service stays.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			got := ipvsadm()
			if !strings.Contains(got, "192.0.2.15") && strings.Contains(got, "-A -t 198.51.100.10:80 -s rr") {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("the down real server is still in the table:\n%s", got)
				break
			}
		}
		// Forging goes on (a failed check waits its 1 s connect_timeout,
		// then 200 ms): the real server stays down, and every forged
		// reply is counted (but one in flight).
		time.Sleep(2500 * time.Millisecond)
		if st := status(); rsUp(st) {
			t.Errorf("forged echo replies brought the real server back up: %+v", st.VirtualServers)
		}
		if n, spoofed := forged.Load(), metricValue(scrape(), "lbd_icmp_spoofed_replies_total"); n < 3 || spoofed < float64(n-1) {
			t.Errorf("%d replies forged, %v counted as spoofed", n, spoofed)
		} else {
			t.Logf("%d replies forged, %v counted as spoofed", n, spoofed)
		}
		intact(t, false)

		// The route back to the real server: it comes back up, and the
		// table is the baseline again for the attacks that follow.
		restore()
		for deadline := time.Now().Add(15 * time.Second); ipvsadm() != rules; time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("rs1 did not come back:\n%s", ipvsadm())
			}
		}
	})

	t.Run("alias bomb reload", func(t *testing.T) {
		before := metricValue(scrape(), "lbd_reloads_total", `result="invalid"`)
		gen := status().Generation
		// Four nested aliased lists, each 20 wide (virtual servers → real
		// servers → urls → status codes, as in conf's TestAliasBombRefused),
		// appended to the running file's virtual servers: under 1 kB of
		// text that would expand to 20⁴ status codes.
		const k = 20
		rep := func(alias string) string { return strings.Repeat(", "+alias, k-1) }
		bombYAML := yaml +
			"  - &vs {address: 198.51.100.20:80, real_servers: [" +
			"&rs {address: 192.0.2.30, check: {type: HTTP_GET, urls: [" +
			"&u {path: /, status_code: [&s 200" + rep("*s") + "]}" + rep("*u") + "]}}" + rep("*rs") + "]}\n" +
			strings.Repeat("  - *vs\n", k-1)
		// atAlias reports whether the file:line:col error points at an
		// alias ("*") of the bomb.
		atAlias := func(err error) bool {
			rest, ok := strings.CutPrefix(err.Error(), file+":")
			if !ok {
				return false
			}
			f := strings.SplitN(rest, ":", 3)
			if len(f) < 3 {
				return false
			}
			line, err1 := strconv.Atoi(f[0])
			col, err2 := strconv.Atoi(f[1])
			lines := strings.Split(bombYAML, "\n")
			return err1 == nil && err2 == nil && line >= 1 && line <= len(lines) && col >= 1 && col <= len(lines[line-1]) &&
				lines[line-1][col-1] == '*'
		}
		if err := os.WriteFile(file, []byte(bombYAML), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.WriteFile(file, []byte(yaml), 0o644)
		// While the reload runs, status calls keep being answered.
		stop := make(chan struct{})
		statusErr := make(chan error, 1)
		go func() {
			var err error
			for {
				select {
				case <-stop:
					statusErr <- err
					return
				default:
				}
				var st control.StatusResult
				if e := call(3*time.Second, control.MethodStatus, nil, &st); e != nil && err == nil {
					err = e
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
		start := time.Now()
		err := call(10*time.Second, control.MethodReload, nil, nil)
		took := time.Since(start)
		close(stop)
		if e := <-statusErr; e != nil {
			t.Errorf("status during the bomb reload: %v", e)
		}
		if err == nil {
			t.Fatal("the alias bomb was loaded")
		}
		if took > 5*time.Second {
			t.Errorf("refusing the bomb took %v", took)
		}
		if !atAlias(err) || !strings.Contains(err.Error(), "alias") {
			t.Errorf("the refusal does not name the alias position: %v", err)
		}
		t.Logf("refused in %v: %v", took, err)
		after := metricValue(scrape(), "lbd_reloads_total", `result="invalid"`)
		if after < before+1 {
			t.Errorf(`lbd_reloads_total{result="invalid"} %v -> %v`, before, after)
		}
		// The running configuration is the one before: same generation,
		// one virtual server (the bomb's are not there).
		if st := status(); st.Generation != gen || len(st.VirtualServers) != 1 || st.LastReload == nil || st.LastReload.OK {
			t.Errorf("after the refused bomb: generation %d (was %d), %d virtual servers, last reload %+v",
				st.Generation, gen, len(st.VirtualServers), st.LastReload)
		}
		intact(t, true)
	})

	t.Run("track file", func(t *testing.T) {
		adverts := func() float64 {
			return metricValue(scrape(), "lbd_vrrp_adverts_sent_total", `instance="VI_1"`)
		}
		for _, kind := range []string{"fifo", "sparse 64 GB"} {
			if err := os.Remove(track); err != nil {
				t.Fatal(err)
			}
			switch kind {
			case "fifo":
				// Nobody ever writes it: a read would block forever.
				if err := syscall.Mkfifo(track, 0o644); err != nil {
					t.Fatal(err)
				}
			default:
				f, err := os.Create(track)
				if err != nil {
					t.Fatal(err)
				}
				if err := f.Truncate(64 << 30); err != nil {
					t.Fatal(err)
				}
				f.Close()
			}
			a0 := adverts()
			time.Sleep(2 * time.Second) // ten reads of the file
			if a1 := adverts(); a1 < a0+5 {
				t.Errorf("%s: adverts sent %v -> %v in 2 s", kind, a0, a1)
			}
			intact(t, true)
		}
		os.Remove(track)
		if err := os.WriteFile(track, []byte("0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	})

	// Idle clients send nothing; slow ones send a request a byte every
	// 300 ms that never ends (slowloris). Either way each server cuts
	// them at its own deadline, which a trickle does not extend, and goes
	// on answering others.
	for _, slow := range []bool{false, true} {
		crowdedOut(t, slow, sock, client, call, scrape)
	}
	intact(t, true)
}

// crowdedOut opens 20 idle (or slow) connections to the control socket
// and 20 to the metrics endpoint and checks that status and a scrape are
// still answered and that every connection is closed at the server's
// deadline.
func crowdedOut(t *testing.T, slow bool, sock string, client *lab.Node,
	call func(time.Duration, string, any, any) error, scrape func() string) {
	kind := "idle"
	if slow {
		kind = "slow"
	}
	t.Run(kind+" clients", func(t *testing.T) {
		var ctl, met []net.Conn
		defer func() {
			for _, c := range append(ctl, met...) {
				c.Close()
			}
		}()
		for range 20 {
			c, err := net.Dial("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			ctl = append(ctl, c)
			m, err := client.Dial("tcp", "198.51.100.1:9274", 3*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			met = append(met, m)
		}
		opened := time.Now()
		if slow {
			for _, c := range ctl {
				go trickle(c, `{"method":"status","params":`, opened.Add(15*time.Second))
			}
			for _, c := range met {
				go trickle(c, "GET /metrics HTTP/1.1\r\nHost: lbd\r\nX-Slow: ", opened.Add(15*time.Second))
			}
		}
		// closedAt watches each idle connection from now on, and sends
		// how long after opening the server closed it (or -1 if it was
		// still open 15 s later). A read with a deadline already past
		// fails at once, so the watch cannot wait until the checks below.
		closedAt := func(conns []net.Conn) chan time.Duration {
			ch := make(chan time.Duration, len(conns))
			for _, c := range conns {
				go func() {
					c.SetReadDeadline(opened.Add(15 * time.Second))
					_, err := io.Copy(io.Discard, c)
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						ch <- -1
						return
					}
					ch <- time.Since(opened)
				}()
			}
			return ch
		}
		ctlClosed, metClosed := closedAt(ctl), closedAt(met)
		// The control server holds 16 connections: with 20 idle ones
		// the extra are refused "busy" at once and the 16 are dropped at
		// the 2 s request deadline, so a status call retried on "busy"
		// must get through within 3 s of the idle clients connecting.
		var statusErr error
		for {
			var st control.StatusResult
			statusErr = call(3*time.Second, control.MethodStatus, nil, &st)
			var ce *control.Error
			if statusErr == nil || !errors.As(statusErr, &ce) || ce.Code != control.CodeBusy || time.Since(opened) > 3*time.Second {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if statusErr != nil {
			t.Errorf("status with 20 %s control clients: %v", kind, statusErr)
		} else if took := time.Since(opened); took > 3*time.Second {
			t.Errorf("status answered %v after the %s clients connected", took, kind)
		} else {
			t.Logf("status answered %v after the %s clients connected", took.Round(time.Millisecond), kind)
		}
		start := time.Now()
		scraped := make(chan string, 1)
		go func() {
			defer func() { recover() }()
			scraped <- scrape()
		}()
		select {
		case body := <-scraped:
			if !strings.Contains(body, "lbd_vrrp_state") {
				t.Errorf("scrape with 20 %s clients: %q", kind, body)
			}
		case <-time.After(7 * time.Second):
			t.Errorf("no scrape within 7 s with 20 %s metrics clients", kind)
		}
		t.Logf("scrape took %v", time.Since(start))
		// Control: the 16 the server took are closed at the 2 s idle
		// deadline, the 4 beyond its limit refused "busy" at once.
		checkClosed := func(what string, ch chan time.Duration, n int, limit time.Duration) {
			t.Helper()
			var worst time.Duration
			for range n {
				d := <-ch
				if d < 0 || d > limit {
					t.Errorf("a %s %s connection was closed after %v (-1: not in 15 s), want within %v", kind, what, d, limit)
					return
				}
				worst = max(worst, d)
			}
			t.Logf("%s %s connections all closed within %v", kind, what, worst.Round(time.Millisecond))
		}
		checkClosed("control", ctlClosed, len(ctl), 2*time.Second+time.Second)
		// Metrics: the server serves 16 connections at a time; the 4
		// beyond wait in the listen backlog until the first 16 are closed
		// at the 5 s idle timeout, then get 5 s of their own.
		checkClosed("metrics", metClosed, len(met), 2*5*time.Second+2*time.Second)
	})
}

// trickle writes start to c, then a byte every 300 ms, until a write
// fails or until.
func trickle(c net.Conn, start string, until time.Time) {
	if _, err := io.WriteString(c, start); err != nil {
		return
	}
	for time.Now().Before(until) {
		time.Sleep(300 * time.Millisecond)
		c.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := c.Write([]byte{' '}); err != nil {
			return
		}
	}
}

// metricValue returns the value of the sample of metric name carrying all
// the given label pairs (`k="v"`) in a Prometheus text body, or 0.
func metricValue(body, name string, labels ...string) float64 {
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if !ok {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			return v
		}
	}
	return 0
}
