package ipvstest

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lbd-project/lbd/ipvs"
)

var (
	ctx = context.Background()
	web = ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP, Address: netip.MustParseAddr("192.0.2.10"), Port: 80, Scheduler: "mh"}
)

func dest(addr string) ipvs.Destination {
	return ipvs.Destination{Family: ipvs.IPv4, Address: netip.MustParseAddr(addr), Port: 80, ForwardMethod: ipvs.Masq, Weight: 1}
}

func TestKernelErrnos(t *testing.T) {
	k := NewKernel()
	rs1 := dest("192.0.2.15")
	for _, tt := range []struct {
		name string
		err  error
		want unix.Errno
	}{
		{"destination of a missing service", k.NewDestination(ctx, web, rs1), unix.ESRCH},
		{"edit of a missing service", k.UpdateService(ctx, web), unix.ESRCH},
		{"add", k.NewService(ctx, web), 0},
		{"add again", k.NewService(ctx, web), unix.EEXIST},
		{"edit of a missing destination", k.UpdateDestination(ctx, web, rs1), unix.ENOENT},
		{"delete of a missing destination", k.DeleteDestination(ctx, web, rs1), unix.ENOENT},
		{"add destination", k.NewDestination(ctx, web, rs1), 0},
		{"add destination again", k.NewDestination(ctx, web, rs1), unix.EEXIST},
		{"zero a missing service", k.ZeroService(ctx, ipvs.Service{Protocol: ipvs.UDP, Address: web.Address, Port: 53}), unix.ESRCH},
	} {
		if tt.want == 0 {
			if tt.err != nil {
				t.Errorf("%s: %v", tt.name, tt.err)
			}
			continue
		}
		var oe *ipvs.OpError
		if !errors.As(tt.err, &oe) || !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: %v, want an *ipvs.OpError of %v", tt.name, tt.err, tt.want)
		}
	}
	if n := len(k.Changes()); n != 8 {
		t.Errorf("%d changes recorded, want the 8 sent", n)
	}
}

// TestKernelOrder checks that destinations list as the kernel's do: each
// added one at the head of the list, so the last added first, with its
// Position; that mh and sh walk. A dump sorts them by address and keeps
// the list order in Position.
func TestKernelOrder(t *testing.T) {
	k := NewKernel()
	add := []string{"192.0.2.17", "192.0.2.15", "192.0.2.16"}
	want := []string{"192.0.2.16", "192.0.2.15", "192.0.2.17"}
	p := ipvs.Plan{Changes: []ipvs.Change{{Op: ipvs.Add, Service: web}}}
	for _, a := range add {
		d := dest(a)
		p.Changes = append(p.Changes, ipvs.Change{Op: ipvs.Add, Service: web, Destination: &d})
	}
	if _, err := k.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	ds, err := k.Destinations(ctx, web)
	if err != nil || len(ds) != len(add) {
		t.Fatalf("destinations %v, %v", ds, err)
	}
	for i, d := range ds {
		if d.Address.String() != want[i] || d.Position != i {
			t.Errorf("destination %d is %s at %d, want %s", i, d.Address, d.Position, want[i])
		}
	}
	tb, err := k.Dump(ctx)
	if err != nil || len(tb.Services) != 1 {
		t.Fatalf("dump %v, %v", tb, err)
	}
	for i, d := range tb.Services[0].Destinations {
		if wantAddr := []string{"192.0.2.15", "192.0.2.16", "192.0.2.17"}[i]; d.Address.String() != wantAddr || want[d.Position] != wantAddr {
			t.Errorf("dumped destination %d is %s at %d, want %s at its list position", i, d.Address, d.Position, wantAddr)
		}
	}
	// Load takes the list order from Position, as a dump gives it.
	k2 := NewKernel()
	k2.Load(tb)
	if ds2, _ := k2.Destinations(ctx, web); !slices.Equal(ds2, ds) {
		t.Errorf("loaded a dump: list %v, want %v", ds2, ds)
	}
}

// TestKernelRefusesInvalidPlan checks that, like Client.Apply, a plan with
// an invalid change changes nothing.
func TestKernelRefusesInvalidPlan(t *testing.T) {
	k := NewKernel()
	bad := web
	bad.Scheduler = "no such scheduler"
	res, err := k.Apply(ctx, ipvs.Plan{Changes: []ipvs.Change{{Op: ipvs.Add, Service: web}, {Op: ipvs.Add, Service: bad}}})
	if err == nil || len(res.Failed()) != 2 {
		t.Fatalf("apply: %v, results %+v", err, res.Results)
	}
	if svcs, _ := k.Services(ctx); len(svcs) != 0 || len(k.Changes()) != 0 {
		t.Errorf("invalid plan changed the table: %v, %v", svcs, k.Changes())
	}
}
