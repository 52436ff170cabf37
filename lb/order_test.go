package lb

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/lbd-project/lbd/ipvs"
	"github.com/lbd-project/lbd/ipvs/ipvstest"
)

// bgpWeb has a virtual server announced over BGP (mh) with real servers
// %s, and one that is not, with the same real servers.
func bgpWeb(rss string) string {
	return `bgp:
  local_asn: 65001
  router_id: 192.0.2.11
  peers: [{address: 192.0.2.1, asn: 65000}]
virtual_servers:
  - address: 192.0.2.10:80
    announce: bgp
    scheduler: mh
    quorum: 2
    sorry_server: 203.0.113.99:80
    check: {type: TCP}
    real_servers: [` + rss + `]
  - address: 192.0.2.20:80
    real_servers: [` + rss + `]
`
}

var (
	bgpSvc   = web
	plainSvc = ipvs.ServiceKey{Family: ipvs.IPv4, Protocol: ipvs.TCP, Address: netip.MustParseAddr("192.0.2.20"), Port: 80}
)

// list returns the kernel's list of svc's destinations, head first, with
// weights.
func (h *harness) list(svc ipvs.ServiceKey) string {
	h.t.Helper()
	ds, err := h.k.Destinations(context.Background(), ipvs.Service{Protocol: svc.Protocol, Address: svc.Address, Port: svc.Port})
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%s/%d", d.Destination, d.Weight))
	}
	return strings.Join(out, " ")
}

// fingerprint is the table fingerprint of svc from the engine's Stats,
// as status shows it.
func (h *harness) fingerprint(svc ipvs.ServiceKey) string {
	h.t.Helper()
	tb, err := h.e.Stats(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, e := range tb.Services {
		if e.Key() == svc {
			return ipvs.TableFingerprint(e)
		}
	}
	h.t.Fatalf("no service %s in Stats", svc)
	return ""
}

// planOf returns the plans the kernel got since the last ResetLog, the
// lines of svc only.
func planOf(k *ipvstest.Kernel, svc string) string {
	var b strings.Builder
	for _, p := range k.Plans() {
		for _, c := range p.Changes {
			if strings.Contains(c.String(), svc) {
				b.WriteString(c.String() + "\n")
			}
		}
	}
	return b.String()
}

const canonical = "198.51.100.3:80/1 198.51.100.2:80/1 198.51.100.1:80/1"

// TestEngineCanonicalOrderBGP checks that whatever the history (a fresh
// start with the real servers in any configuration order, a reload adding
// one that sorts in the middle, a run-time addition, a kernel table built
// in another order that the engine adopts), the kernel list of a BGP
// service ends in the one canonical order with the same fingerprint, by
// re-adding only the destinations out of place; and that a service not
// announced over BGP keeps its kernel order.
func TestEngineCanonicalOrderBGP(t *testing.T) {
	fresh := start(t, bgpWeb("198.51.100.3:80, 198.51.100.1:80, 198.51.100.2:80"), nil, nil)
	if got := fresh.list(bgpSvc); got != canonical {
		t.Fatalf("fresh start: list %s, want %s", got, canonical)
	}
	wantFP := fresh.fingerprint(bgpSvc)

	t.Run("reload adds one in the middle", func(t *testing.T) {
		h := start(t, bgpWeb("198.51.100.1:80, 198.51.100.3:80"), nil, nil)
		h.k.ResetLog()
		if _, err := h.e.Reload(h.ctx, mustParse(t, bgpWeb("198.51.100.1:80, 198.51.100.2:80, 198.51.100.3:80"))); err != nil {
			t.Fatal(err)
		}
		wantPlan := "+ -a -t 192.0.2.10:80 -r 198.51.100.2:80 -m -w 1\n" +
			"- -d -t 192.0.2.10:80 -r 198.51.100.3:80\n" +
			"+ -a -t 192.0.2.10:80 -r 198.51.100.3:80 -m -w 1\n"
		if got := planOf(h.k, "192.0.2.10:80"); got != wantPlan {
			t.Errorf("reload plan:\n%s\nwant only .3 re-added:\n%s", got, wantPlan)
		}
		if got := planOf(h.k, "192.0.2.20:80"); got != "+ -a -t 192.0.2.20:80 -r 198.51.100.2:80 -m -w 1\n" {
			t.Errorf("reload plan of the service without BGP:\n%s\nwant the one add", got)
		}
		if got := h.list(bgpSvc); got != canonical {
			t.Errorf("list %s, want %s", got, canonical)
		}
		if got := h.list(plainSvc); got != "198.51.100.2:80/1 198.51.100.3:80/1 198.51.100.1:80/1" {
			t.Errorf("service without BGP reordered: %s", got)
		}
		if fp := h.fingerprint(bgpSvc); fp != wantFP {
			t.Errorf("fingerprint %s, fresh start's %s", fp, wantFP)
		}
	})

	t.Run("run-time addition", func(t *testing.T) {
		h := start(t, bgpWeb("198.51.100.1:80, 198.51.100.3:80"), nil, nil)
		h.k.ResetLog()
		if err := h.e.RuntimeChange(h.ctx, RuntimeOp{Op: "add", Service: bgpSvc, Address: netip.MustParseAddrPort("198.51.100.2:80")}); err != nil {
			t.Fatal(err)
		}
		if got, want := planOf(h.k, "192.0.2.10:80"), "+ -a -t 192.0.2.10:80 -r 198.51.100.2:80 -m -w 1\n"+
			"- -d -t 192.0.2.10:80 -r 198.51.100.3:80\n+ -a -t 192.0.2.10:80 -r 198.51.100.3:80 -m -w 1\n"; got != want {
			t.Errorf("run-time add plan:\n%s\nwant\n%s", got, want)
		}
		if got := h.list(bgpSvc); got != canonical {
			t.Errorf("list %s, want %s", got, canonical)
		}
		if fp := h.fingerprint(bgpSvc); fp != wantFP {
			t.Errorf("fingerprint %s, fresh start's %s", fp, wantFP)
		}
	})

	t.Run("adopting a table built in another order", func(t *testing.T) {
		k := ipvstest.NewKernel()
		// The lists as another program left them: lowest address first.
		var tb ipvs.Table
		for _, svc := range []ipvs.ServiceKey{bgpSvc, plainSvc} {
			s := ipvs.Service{Protocol: svc.Protocol, Address: svc.Address, Port: svc.Port, Scheduler: "wlc"}
			if svc == bgpSvc {
				s.Scheduler = "mh"
			}
			var ds []ipvs.Destination
			for _, a := range []string{"198.51.100.1:80", "198.51.100.2:80", "198.51.100.3:80"} {
				ap := netip.MustParseAddrPort(a)
				ds = append(ds, ipvs.Destination{Address: ap.Addr(), Port: ap.Port(), Weight: 1})
			}
			tb.Add(s, ds...)
		}
		k.Load(tb)
		h := start(t, bgpWeb("198.51.100.1:80, 198.51.100.2:80, 198.51.100.3:80"), k, nil)
		wantPlan := "- -d -t 192.0.2.10:80 -r 198.51.100.2:80\n+ -a -t 192.0.2.10:80 -r 198.51.100.2:80 -m -w 1\n" +
			"- -d -t 192.0.2.10:80 -r 198.51.100.3:80\n+ -a -t 192.0.2.10:80 -r 198.51.100.3:80 -m -w 1\n"
		if got := planOf(k, "192.0.2.10:80"); got != wantPlan {
			t.Errorf("adoption plan:\n%s\nwant .2 and .3 re-added:\n%s", got, wantPlan)
		}
		if got := planOf(k, "192.0.2.20:80"); got != "" {
			t.Errorf("adoption touched the service without BGP:\n%s", got)
		}
		if got := h.list(bgpSvc); got != canonical {
			t.Errorf("list %s, want %s", got, canonical)
		}
		if got := h.list(plainSvc); got != "198.51.100.1:80/1 198.51.100.2:80/1 198.51.100.3:80/1" {
			t.Errorf("service without BGP reordered: %s", got)
		}
		if fp := h.fingerprint(bgpSvc); fp != wantFP {
			t.Errorf("fingerprint %s, fresh start's %s", fp, wantFP)
		}
		// Nothing left: the periodic reconcile sees no drift.
		if plan, _, err := h.e.Reconcile(h.ctx); err != nil || len(plan.Changes) != 0 {
			t.Errorf("reconcile after adoption: %v %v", plan, err)
		}
	})

	t.Run("sorry server swaps", func(t *testing.T) {
		const vs = "TCP 192.0.2.10:80"
		h := start(t, bgpWeb("198.51.100.2:80, 198.51.100.1:80"), nil, nil)
		h.k.ResetLog()
		h.event(vs, "198.51.100.1:80", false) // quorum 2 lost: the sorry server comes, the others stay at 0
		if got, want := planOf(h.k, "192.0.2.10:80"), "~ -e -t 192.0.2.10:80 -r 198.51.100.2:80 -m -w 0\n"+
			"~ -e -t 192.0.2.10:80 -r 198.51.100.1:80 -m -w 0\n+ -a -t 192.0.2.10:80 -r 203.0.113.99:80 -m -w 1\n"; got != want {
			t.Errorf("sorry server plan:\n%s\nwant\n%s", got, want)
		}
		if got, want := h.list(bgpSvc), "203.0.113.99:80/1 198.51.100.2:80/0 198.51.100.1:80/0"; got != want {
			t.Errorf("list with the sorry server %s, want %s", got, want)
		}
		h.event(vs, "198.51.100.1:80", true)
		if got, want := h.list(bgpSvc), "198.51.100.2:80/1 198.51.100.1:80/1"; got != want {
			t.Errorf("list after recovery %s, want %s", got, want)
		}
		// An engine that starts now, on a fresh kernel, builds the same.
		again := start(t, bgpWeb("198.51.100.1:80, 198.51.100.2:80"), nil, nil)
		if a, b := h.fingerprint(bgpSvc), again.fingerprint(bgpSvc); a != b {
			t.Errorf("fingerprint after the swaps %s, fresh %s", a, b)
		}
	})
}
