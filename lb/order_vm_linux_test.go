package lb_test

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/ipvs"
	"github.com/lbd-project/lbd/ipvs/ipvstest"
	"github.com/lbd-project/lbd/lb"
)

// bgpVM is a virtual server announced over BGP, with real servers rss.
func bgpVM(rss string) string {
	return `global: {lvs_reconcile_interval: 1h}
bgp:
  local_asn: 65001
  router_id: 192.0.2.11
  peers: [{address: 192.0.2.1, asn: 65000}]
virtual_servers:
  - address: 198.51.100.10:80
    announce: bgp
    scheduler: mh
    forwarding: DR
    real_servers: [` + rss + `]
`
}

// balancer is a namespace with its own IPVS table.
type balancer struct {
	t    *testing.T
	node *lab.Node
	k    *ipvs.Client
	ctx  context.Context
}

func newBalancer(t *testing.T, l *lab.Lab, name string) *balancer {
	b := &balancer{t: t, node: l.Node(name)}
	if err := b.node.Do(func() (err error) { b.k, err = ipvs.Open(); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.k.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	b.ctx = ctx
	return b
}

// engine runs an engine for yaml on the balancer's table.
func (b *balancer) engine(yaml string) *lb.Engine {
	b.t.Helper()
	cfg, err := conf.Parse("vm.yaml", []byte(yaml))
	if err != nil {
		b.t.Fatal(err)
	}
	eng, err := lb.New(cfg, lb.Options{Kernel: b.k, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(b.ctx)
	done := make(chan struct{})
	go func() { defer close(done); eng.Run(ctx) }()
	b.t.Cleanup(func() { cancel(); <-done })
	if _, err := eng.Status(ctx); err != nil {
		b.t.Fatal(err)
	}
	return eng
}

func (b *balancer) reload(eng *lb.Engine, yaml string) {
	b.t.Helper()
	cfg, err := conf.Parse("vm.yaml", []byte(yaml))
	if err != nil {
		b.t.Fatal(err)
	}
	if _, err := eng.Reload(b.ctx, cfg); err != nil {
		b.t.Fatal(err)
	}
}

// list is the real servers of a service as `ipvsadm -Ln --nosort` lists
// them: the kernel's list, head first (ipvsadm sorts them by default),
// with their weights.
func (b *balancer) list(args ...string) []string {
	b.t.Helper()
	var out strings.Builder
	cmd := exec.CommandContext(b.ctx, "ipvsadm", append([]string{"-L", "-n", "--nosort"}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := b.node.RunCmd(cmd); err != nil {
		b.t.Fatalf("ipvsadm -Ln %v: %v: %s", args, err, out.String())
	}
	var rss []string
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] == "->" && f[1] != "RemoteAddress:Port" {
			rss = append(rss, f[1]+"/"+f[3])
		}
	}
	return rss
}

func (b *balancer) fingerprint(eng *lb.Engine) string {
	b.t.Helper()
	tb, err := eng.Stats(b.ctx)
	if err != nil || len(tb.Services) != 1 {
		b.t.Fatalf("stats: %v %v", tb, err)
	}
	return ipvs.TableFingerprint(tb.Services[0])
}

// TestIntegrationVMCanonicalOrder checks, on the kernel's IPVS, that the
// kernel puts each added destination at the head of the list, as the
// fake kernel does; and that two balancers whose engines got the same
// real servers of a BGP service through different histories (a fresh
// start; a start, a reload adding one in the middle and a run-time
// addition) end with the same list in ipvsadm -Ln --nosort and the same table
// fingerprint.
func TestIntegrationVMCanonicalOrder(t *testing.T) {
	if !lab.RunInVM(t, lab.VMOptions{}) {
		return
	}
	l := lab.New(t)

	t.Run("the kernel and the fake insert at the head", func(t *testing.T) {
		b := newBalancer(t, l, "raw")
		fake := ipvstest.NewKernel()
		svc := ipvs.Service{Protocol: ipvs.TCP, Address: netip.MustParseAddr("198.51.100.20"), Port: 80, Scheduler: "mh"}
		adds := []string{"192.0.2.16", "192.0.2.15", "192.0.2.17"}
		for _, k := range []interface {
			NewService(context.Context, ipvs.Service) error
			NewDestination(context.Context, ipvs.Service, ipvs.Destination) error
		}{b.k, fake} {
			if err := k.NewService(b.ctx, svc); err != nil {
				t.Fatal(err)
			}
			for _, a := range adds {
				if err := k.NewDestination(b.ctx, svc, ipvs.Destination{Address: netip.MustParseAddr(a), Port: 80, ForwardMethod: ipvs.Route, Weight: 1}); err != nil {
					t.Fatal(err)
				}
			}
		}
		got := b.list("-t", "198.51.100.20:80")
		want := []string{"192.0.2.17:80/1", "192.0.2.15:80/1", "192.0.2.16:80/1"}
		if !slices.Equal(got, want) {
			t.Errorf("ipvsadm -Ln --nosort after adding %v: %v, want the last added first: %v", adds, got, want)
		}
		ds, _ := fake.Destinations(b.ctx, svc)
		var fakeList []string
		for _, d := range ds {
			fakeList = append(fakeList, d.Destination.String()+"/1")
		}
		if !slices.Equal(fakeList, got) {
			t.Errorf("the fake kernel lists %v, the kernel %v", fakeList, got)
		}
		kd, _ := b.k.Destinations(b.ctx, svc)
		for i, d := range kd {
			if d.Position != i || d.Destination.String()+"/1" != got[i] {
				t.Errorf("Client.Destinations %d: %s at %d, ipvsadm %s", i, d.Destination, d.Position, got[i])
			}
		}
	})

	a, b := newBalancer(t, l, "lbA"), newBalancer(t, l, "lbB")
	all := "192.0.2.17:80, 192.0.2.15:80, 192.0.2.18:80, 192.0.2.16:80"
	engA := a.engine(bgpVM(all))

	engB := b.engine(bgpVM("192.0.2.15:80, 192.0.2.17:80"))
	b.reload(engB, bgpVM("192.0.2.15:80, 192.0.2.16:80, 192.0.2.17:80"))
	if err := engB.RuntimeChange(b.ctx, lb.RuntimeOp{Op: "add", Service: ipvs.ServiceKey{Family: ipvs.IPv4, Protocol: ipvs.TCP,
		Address: netip.MustParseAddr("198.51.100.10"), Port: 80}, Address: netip.MustParseAddrPort("192.0.2.18:80")}); err != nil {
		t.Fatal(err)
	}

	want := []string{"192.0.2.18:80/1", "192.0.2.17:80/1", "192.0.2.16:80/1", "192.0.2.15:80/1"}
	listA, listB := a.list("-t", "198.51.100.10:80"), b.list("-t", "198.51.100.10:80")
	if !slices.Equal(listA, want) || !slices.Equal(listB, want) {
		t.Errorf("ipvsadm -Ln --nosort lists\n A (fresh start):             %v\n B (reload, run-time add):    %v\nwant both %v", listA, listB, want)
	}
	if fa, fb := a.fingerprint(engA), b.fingerprint(engB); fa != fb {
		t.Errorf("table fingerprints differ: A %s, B %s", fa, fb)
	}
}
