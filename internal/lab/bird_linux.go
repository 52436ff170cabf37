package lab

import (
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// Bird is a BIRD 2 routing daemon running in a node: the router the BGP
// and BFD tests announce to and read back from.
type Bird struct {
	tb   testing.TB
	sock string
	proc *Process
}

// StartBird runs BIRD in n with the configuration text conf (its control
// socket is set here) and waits until it answers. It is killed at the end
// of the test.
func (n *Node) StartBird(tb testing.TB, conf string) *Bird {
	tb.Helper()
	RequireCommand(tb, "bird")
	RequireCommand(tb, "birdc")
	dir := tb.TempDir()
	file := filepath.Join(dir, "bird.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		tb.Fatal(err)
	}
	b := &Bird{tb: tb, sock: filepath.Join(dir, "bird.ctl")}
	b.proc = n.Start("bird", "-f", "-c", file, "-s", b.sock)
	WaitFor(tb, 10*time.Second, 20*time.Millisecond, "BIRD's control socket", func() bool {
		_, err := b.Query("show status")
		return err == nil
	})
	return b
}

// Process is the running bird.
func (b *Bird) Process() *Process { return b.proc }

// Query runs birdc with args (its socket is a file, reachable from any
// namespace) and returns what it printed.
func (b *Bird) Query(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "birdc", append([]string{"-s", b.sock}, args...)...).CombinedOutput()
	return string(out), err
}

// MustQuery is Query that fails the test on an error.
func (b *Bird) MustQuery(args ...string) string {
	b.tb.Helper()
	out, err := b.Query(args...)
	if err != nil {
		b.tb.Fatalf("birdc %v: %v: %s", args, err, out)
	}
	return out
}

// Route returns BIRD's "show route for PREFIX all", "" when it has no
// route for prefix.
func (b *Bird) Route(prefix string) string {
	b.tb.Helper()
	out, err := b.Query("show", "route", "for", prefix, "all")
	if strings.Contains(out, "Network not found") {
		return "" // birdc exits 1 then
	}
	if err != nil {
		b.tb.Fatalf("birdc show route for %s: %v: %s", prefix, err, out)
	}
	return out
}

// Established reports whether BIRD's protocol proto (a BGP session) is
// Established.
func (b *Bird) Established(proto string) bool {
	b.tb.Helper()
	return strings.Contains(b.MustQuery("show", "protocols", proto), "Established")
}

// FIBNexthops counts the next hops of n's kernel route to dst (an
// address): 0 without a route, more than one for an ECMP route. It asks
// netlink: the VM's busybox ip does not print multipath routes.
func (n *Node) FIBNexthops(dst string) int {
	n.lab.tb.Helper()
	a := netip.MustParseAddr(dst)
	var count int
	err := n.Do(func() error {
		family := netlink.FAMILY_V4
		if a.Is6() {
			family = netlink.FAMILY_V6
		}
		routes, err := netlink.RouteListFiltered(family, &netlink.Route{
			Dst: &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(a.BitLen(), a.BitLen())}}, netlink.RT_FILTER_DST)
		for _, r := range routes {
			count += max(len(r.MultiPath), 1)
		}
		return err
	})
	if err != nil {
		n.lab.tb.Fatalf("lab: %s: routes to %s: %v", n.Name, dst, err)
	}
	return count
}
