package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/vrrp"
)

// oneVIPYAML is one instance with keepalived's 1 s adverts, fast
// takeover at its defaults.
func oneVIPYAML(prio int) string {
	return fmt.Sprintf(`vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 61
    priority: %d
    advert_interval: 1s
    virtual_ipaddresses: [192.0.2.100/24]
`, prio)
}

// A killed Master, with 1 s adverts:
//   - lbd alone SIGKILLed, host and link up: its kernel still answers the
//     Backup's pings, so the Backup takes over by the advert timer, and
//     the dead Master's address goes with its lease, so the two hold it
//     together for less than one master-down interval;
//   - host gone (link down, then SIGKILL): the pings stop and the Backup
//     takes over well before the master-down interval.
func TestLabKilledMasterTakeover(t *testing.T) {
	l := lab.New(t)
	lan := l.LAN("lan")
	n1 := newNode(l, lan, "lb1", "192.0.2.1/24")
	n2 := newNode(l, lan, "lb2", "192.0.2.2/24")
	masterDown := 3*time.Second + 609375*time.Microsecond // priority 100, 1 s
	lease := vrrp.VIPLease(time.Second)

	lb1 := startLBD(t, n1, oneVIPYAML(150))
	lb2 := startLBD(t, n2, oneVIPYAML(100))
	armed := func(from int) bool { return len(lb2.lines(from, "fast takeover armed", "peer=192.0.2.1")) > 0 }
	eventually(t, 8*time.Second, "lb1 master with the VIP, lb2's fast takeover armed", func() bool {
		return n1.HasAddr(vipA) && !n2.HasAddr(vipA) && armed(0)
	})
	out := n1.MustRun("ip", "-o", "addr", "show", "dev", "eth0", "to", "192.0.2.100")
	if !strings.Contains(out, "dynamic") || strings.Contains(out, "valid_lft forever") {
		t.Errorf("the master's VIP has no lease: %s", out)
	}

	// lbd alone dies.
	mark := len(lb2.log())
	lb1.p.Signal(syscall.SIGKILL)
	t0 := time.Now()
	var took, gone time.Duration
	eventually(t, masterDown+lease+3*time.Second, "lb2 takes the VIP and lb1 loses it", func() bool {
		if took == 0 && n2.HasAddr(vipA) {
			took = time.Since(t0)
		}
		if gone == 0 && !n1.HasAddr(vipA) {
			gone = time.Since(t0)
		}
		return took > 0 && gone > 0
	})
	t.Logf("lbd killed: backup took the VIP after %v, the dead master's VIP went after %v (lease %v)", took, gone, lease)
	if got := masterLines(t, lb2, mark); len(got) != 1 || !strings.Contains(got[0], "master down timer expired") {
		t.Errorf("lb2 should take over by the advert timer (lb1's kernel still answers pings): %q", got)
	}
	// The down timer runs from lb1's last advert, up to 1 s before the kill.
	if took < masterDown-time.Second-200*time.Millisecond {
		t.Errorf("lb2 took over after %v, before the master-down interval %v after lb1's last advert", took, masterDown)
	}
	if overlap := gone - took; overlap > masterDown {
		t.Errorf("both held the VIP for %v, more than one master-down interval (%v)", overlap, masterDown)
	}
	if gone > lease+1500*time.Millisecond {
		t.Errorf("the dead master kept its VIP %v, lease %v", gone, lease)
	}

	// lb1 comes back and preempts; then its host dies.
	lb1 = startLBD(t, n1, oneVIPYAML(150))
	mark = len(lb2.log())
	eventually(t, 10*time.Second, "lb1 master again, lb2 armed again", func() bool {
		return n1.HasAddr(vipA) && !n2.HasAddr(vipA) && armed(mark)
	})
	mark = len(lb2.log())
	n1.SetLink("eth0", false)
	lb1.p.Signal(syscall.SIGKILL)
	t0 = time.Now()
	eventually(t, masterDown+2*time.Second, "lb2 takes the VIP", func() bool { return n2.HasAddr(vipA) })
	took = time.Since(t0)
	t.Logf("host down: backup took the VIP after %v (master-down interval %v)", took, masterDown)
	if got := masterLines(t, lb2, mark); len(got) != 1 || !strings.Contains(got[0], `reason="master unreachable"`) {
		t.Errorf("lb2 should take over by fast takeover: %q", got)
	}
	if took > 2*time.Second {
		t.Errorf("fast takeover took %v, want under 2s (master-down interval %v)", took, masterDown)
	}
}

// masterLines returns x's log lines from mark on that say it became
// MASTER, once there is one: lbd adds the addresses before it logs the
// change, so a test that saw the address may be a moment early.
func masterLines(t *testing.T, x *lbdProc, mark int) []string {
	t.Helper()
	find := func() []string { return x.lines(mark, `msg="vrrp: state change"`, "state=MASTER") }
	lab.Poll(2*time.Second, 10*time.Millisecond, func() bool { return len(find()) > 0 })
	return find()
}

// IPv6: VRRPv3 adverts come from the master's link-local address, which
// the backup must ping through its own link.
func TestLabFastTakeoverIPv6(t *testing.T) {
	l := lab.New(t)
	lan := l.LAN("lan")
	n1 := newNode(l, lan, "lb1", "2001:db8::1/64")
	n2 := newNode(l, lan, "lb2", "2001:db8::2/64")
	vip := netip.MustParseAddr("2001:db8::100")
	yaml := func(prio int) string {
		return strings.Replace(oneVIPYAML(prio), "192.0.2.100/24", "2001:db8::100/64", 1)
	}
	lb1 := startLBD(t, n1, yaml(150))
	lb2 := startLBD(t, n2, yaml(100))
	eventually(t, 8*time.Second, "lb1 master, lb2's fast takeover armed on lb1's link-local address", func() bool {
		return n1.HasAddr(vip) && !n2.HasAddr(vip) && len(lb2.lines(0, "fast takeover armed", "peer=fe80::")) > 0
	})
	mark := len(lb2.log())
	n1.SetLink("eth0", false)
	lb1.p.Signal(syscall.SIGKILL)
	t0 := time.Now()
	eventually(t, 6*time.Second, "lb2 takes the VIP", func() bool { return n2.HasAddr(vip) })
	took := time.Since(t0)
	t.Logf("host down: backup took the IPv6 VIP after %v", took)
	if got := masterLines(t, lb2, mark); len(got) != 1 || !strings.Contains(got[0], `reason="master unreachable"`) {
		t.Errorf("lb2 should take over by fast takeover: %q", got)
	}
	if took > 2*time.Second {
		t.Errorf("fast takeover took %v, want under 2s", took)
	}
}

// lbd release, as lbd.service's ExecStopPost runs it: after a SIGKILL the
// dead master's addresses (advertised and excluded) go at once instead of
// with their lease, and its virtual routes and rules (which have no
// lease) go too, while the static ones stay; a second run finds nothing
// to do, and a bad file is refused with its reason.
func TestLabReleaseAfterKill(t *testing.T) {
	l := lab.New(t)
	lan := l.LAN("lan")
	n := newNode(l, lan, "lb1", "192.0.2.1/24")
	excluded := netip.MustParseAddr("198.51.100.7")
	yaml := strings.Replace(oneVIPYAML(150), "advert_interval: 1s", "advert_interval: 100ms", 1) +
		"    virtual_ipaddresses_excluded: [198.51.100.7/32]\n" +
		"    virtual_routes: [{to: 10.40.0.0/24, via: 192.0.2.254}]\n" +
		"    virtual_rules: [{from: 10.50.0.0/24, table: 101, priority: 300}]\n" +
		"static_routes: [{to: 10.20.0.0/24, via: 192.0.2.254}]\n"
	lb := startLBD(t, n, yaml)
	static := func() string { return n.MustRun("ip", "route", "show", "10.20.0.0/24") }
	routing := func() string {
		return n.MustRun("ip", "route", "show", "10.40.0.0/24") + n.MustRun("ip", "rule", "show", "priority", "300")
	}
	eventually(t, 5*time.Second, "lb1 master with both addresses, its route and rule, and the static route", func() bool {
		return n.HasAddr(vipA) && n.HasAddr(excluded) && strings.Count(routing(), "10.") == 2 && static() != ""
	})
	lb.p.Signal(syscall.SIGKILL)
	if err := lb.p.Wait(5 * time.Second); err == nil {
		t.Fatal("lbd exited cleanly after SIGKILL")
	}
	if !n.HasAddr(vipA) {
		t.Fatal("the VIP went with the process: nothing left for release to do")
	}
	out := n.MustRun(lbdBinary(t), "release", "-f", lb.cfg)
	for _, want := range []string{"instance VI_1: removed 192.0.2.100/24 from eth0", "instance VI_1: removed 198.51.100.7/32 from eth0",
		"instance VI_1: removed route 10.40.0.0/24 via 192.0.2.254", "instance VI_1: removed rule priority 300 from 10.50.0.0/24 table 101"} {
		if !strings.Contains(out, want) {
			t.Errorf("release output lacks %q:\n%s", want, out)
		}
	}
	if n.HasAddr(vipA) || n.HasAddr(excluded) {
		t.Error("addresses still on eth0 after lbd release")
	}
	if r := routing(); r != "" {
		t.Errorf("after lbd release the node still has %q", r)
	}
	if static() == "" {
		t.Error("lbd release took the static route away")
	}
	if out := n.MustRun(lbdBinary(t), "release", "-f", lb.cfg); out != "" {
		t.Errorf("a second release printed %q, want nothing", out)
	}
	bad := lb.cfg + ".bad"
	if err := os.WriteFile(bad, []byte("vrrp_instances:\n  - name: VI_1\n    priority: 300\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := n.Run(context.Background(), lbdBinary(t), "release", "-f", bad)
	if want := bad + ":2:5: vrrp instance VI_1: priority 300 outside 1..255"; err == nil || !strings.Contains(out, want) {
		t.Errorf("release of a bad file: err %v, output %q; want a failure with %q", err, out, want)
	}
}

// lbd release also takes the announce: bgp addresses off vip_interface
// (lo by default), where a killed lbd leaves them.
func TestLabReleaseBGP(t *testing.T) {
	l := lab.New(t)
	n := newNode(l, l.LAN("lan"), "lb1", "192.0.2.1/24")
	n.AddAddr("lo", "203.0.113.10/32")
	cfg := filepath.Join(t.TempDir(), "lbd.yaml")
	yaml := "bgp: {local_asn: 65001, router_id: 192.0.2.1, peers: [{address: 192.0.2.254, asn: 65000}]}\n" +
		"virtual_servers:\n  - {address: 203.0.113.10:80, announce: bgp, real_servers: [198.51.100.1:80]}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	out := n.MustRun(lbdBinary(t), "release", "-f", cfg)
	if want := "instance bgp: removed 203.0.113.10/32 from lo"; !strings.Contains(out, want) {
		t.Errorf("release output %q lacks %q", out, want)
	}
	if n.HasAddr(netip.MustParseAddr("203.0.113.10")) {
		t.Error("the BGP address is still on lo")
	}
}
