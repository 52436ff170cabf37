package daemon

import (
	"fmt"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/lab"
)

// unicastYAML is one instance with 1 s adverts to a unicast peer, fast
// takeover by mode.
func unicastYAML(prio int, vip, peer, mode string) string {
	return fmt.Sprintf(`vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 62
    priority: %d
    advert_interval: 1s
    unicast_peers: [%s]
    fast_takeover: %s
    virtual_ipaddresses: [%s/24]
`, prio, peer, mode, vip)
}

// hostDeath runs an lbd pair on its own LAN with fast takeover by mode,
// kills the master's host (link down, then SIGKILL) and returns how long
// the backup took to hold the VIP.
func hostDeath(t *testing.T, l *lab.Lab, name, net3, mode string) time.Duration {
	t.Helper()
	lan := l.LAN(name)
	a1, a2, vip := net3+".1", net3+".2", net3+".100"
	n1 := newNode(l, lan, name+"1", a1+"/24")
	n2 := newNode(l, lan, name+"2", a2+"/24")
	v := netip.MustParseAddr(vip)
	lb1 := startLBD(t, n1, unicastYAML(150, vip, a2, mode))
	lb2 := startLBD(t, n2, unicastYAML(100, vip, a1, mode))
	ready := func() bool { return len(lb2.lines(0, "fast takeover armed", "peer="+a1)) > 0 }
	if mode == "bfd" {
		ready = func() bool { return len(lb2.lines(0, "bfd session state", "peer="+a1, "state=Up")) > 0 }
	}
	eventually(t, 10*time.Second, name+": lb1 master with the VIP, lb2 watching it", func() bool {
		return n1.HasAddr(v) && !n2.HasAddr(v) && ready()
	})
	mark := len(lb2.log())
	n1.SetLink("eth0", false)
	lb1.p.Signal(syscall.SIGKILL)
	t0 := time.Now()
	eventually(t, 6*time.Second, name+": lb2 takes the VIP", func() bool { return n2.HasAddr(v) })
	took := time.Since(t0)
	if got := masterLines(t, lb2, mark); len(got) != 1 || !strings.Contains(got[0], `reason="master unreachable"`) {
		t.Errorf("%s: lb2 should take over by fast takeover: %q", name, got)
	}
	return took
}

// The master's host dies, 1 s adverts: fast takeover by ICMP echo
// (200 ms × 3 and the skew time) against BFD (100 ms × 3, at once), in
// the same run.
func TestLabFastTakeoverBFDvsICMP(t *testing.T) {
	l := lab.New(t)
	icmp := hostDeath(t, l, "icmp", "192.0.2", "icmp")
	bfd := hostDeath(t, l, "bfd", "198.51.100", "bfd")
	t.Logf("host down, 1s adverts: backup took the VIP after %v with icmp (200ms x 3 + skew), %v with bfd (100ms x 3)", icmp, bfd)
	if bfd > 700*time.Millisecond {
		t.Errorf("bfd fast takeover took %v, want well under a second", bfd)
	}
	if bfd >= icmp {
		t.Errorf("bfd (%v) not faster than icmp (%v)", bfd, icmp)
	}
}
