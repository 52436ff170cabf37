package ipvs_test

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/ipvs"
)

// benchTable is nSvc TCP NAT services (198.51.100.1-100, ports 1000 up)
// with nDest real servers each (192.0.2.1 up, port 80).
func benchTable(nSvc, nDest int) ipvs.Table {
	var t ipvs.Table
	for i := 0; i < nSvc; i++ {
		svc := ipvs.Service{Protocol: ipvs.TCP, Address: netip.AddrFrom4([4]byte{198, 51, 100, byte(1 + i%100)}),
			Port: uint16(1000 + i/100), Scheduler: "wlc"}
		dests := make([]ipvs.Destination, nDest)
		for j := range dests {
			dests[j] = ipvs.Destination{Address: netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + j)}), Port: 80,
				ForwardMethod: ipvs.Masq, Weight: 1}
		}
		t.Add(svc, dests...)
	}
	return t
}

// restoreRules renders a table as ipvsadm -R input.
func restoreRules(t ipvs.Table) string {
	var b strings.Builder
	for _, s := range t.Services {
		id := fmt.Sprintf("-t %s", netip.AddrPortFrom(s.Address, s.Port))
		fmt.Fprintf(&b, "-A %s -s %s\n", id, s.Scheduler)
		for _, d := range s.Destinations {
			fmt.Fprintf(&b, "-a %s -r %s -m -w %d\n", id, netip.AddrPortFrom(d.Address, d.Port), d.Weight)
		}
	}
	return b.String()
}

// TestIntegrationVMBenchIPVS compares our client with ipvsadm on a large
// table in the same VM run: cold load of 10,000 services x 10 real servers
// (Apply vs ipvsadm -R), an incremental change (Dump + Diff + Apply), and a
// full Dump. It prints the raw figures and the line
// "ipvs_bench cold_ratio=X incr_ms=Y". Run it with `make bench-ipvs`.
func TestIntegrationVMBenchIPVS(t *testing.T) {
	if os.Getenv("LBD_BENCH") != "1" {
		t.Skip("benchmark: set LBD_BENCH=1 (make bench-ipvs)")
	}
	if !lab.RunInVM(t, lab.VMOptions{MemoryMB: 2048, Timeout: 20 * time.Minute}) {
		return
	}
	nSvc, nDest := 10000, 10
	if n, err := strconv.Atoi(os.Getenv("LBD_BENCH_SERVICES")); err == nil && n >= 2 { // quicker trial runs
		nSvc = n
	}
	// Each tool gets a fresh network namespace, so a fresh IPVS: the kernel
	// keeps deleted destinations in a per-namespace trash list for a
	// minute and scans it on every add, which would slow whichever tool
	// ran second after a flush.
	l := lab.New(t)
	ref, k := newKernel(t, l, "ipvsadm"), newKernel(t, l, "lbd")
	desired := benchTable(nSvc, nDest)
	rules := restoreRules(desired)

	start := time.Now()
	ref.ipvsadmIn(t, rules, "-R")
	ipvsadmRestore := time.Since(start)
	t.Logf("ipvsadm -R: %v", ipvsadmRestore)

	start = time.Now()
	saved := ref.ipvsadm(t, "-S", "-n")
	ipvsadmSave := time.Since(start)
	t.Logf("ipvsadm -S -n: %v", ipvsadmSave)
	if n := strings.Count(saved, "\n"); n != nSvc*(nDest+1) {
		t.Fatalf("ipvsadm -S -n printed %d rules, want %d", n, nSvc*(nDest+1))
	}
	start = time.Now()
	ref.ipvsadm(t, "-C") // its estimators would otherwise tax the second run
	ipvsadmClear := time.Since(start)

	start = time.Now()
	plan := ipvs.Diff(desired, ipvs.Table{})
	res, err := k.c.Apply(k.ctx, plan)
	coldApply := time.Since(start)
	t.Logf("cold Apply: %v", coldApply)
	if err != nil {
		t.Fatalf("cold apply: %v", err)
	}
	if got := k.ipvsadm(t, "-S", "-n"); got != saved {
		t.Fatal("ipvsadm -S -n after our cold apply differs from after ipvsadm -R")
	}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start = time.Now()
	dump, err := k.c.Dump(k.ctx)
	dumpTime := time.Since(start)
	runtime.ReadMemStats(&after)
	t.Logf("Dump: %v", dumpTime)
	if err != nil {
		t.Fatalf("dump: %v", err)
	}
	if p := ipvs.Diff(desired, dump); len(p.Changes) != 0 {
		t.Fatalf("Dump differs from the applied table in %d changes", len(p.Changes))
	}

	// Incremental: one service's real servers change (one reweighted, one
	// removed, one added) while 9,999 others stay as they are. The engine
	// knows which service its desired state changed, so it reads just that
	// one back from the kernel (DumpServices), plans and applies.
	changed := benchTable(nSvc, nDest)
	target := changed.Services[nSvc/2]
	target.Destinations[0].Weight = 5
	target.Destinations[1] = ipvs.DestinationEntry{Destination: ipvs.Destination{Address: netip.MustParseAddr("192.0.2.200"), Port: 80, Weight: 1}}
	start = time.Now()
	current, err := k.c.DumpServices(k.ctx, target.Service)
	if err != nil {
		t.Fatal(err)
	}
	incPlan := ipvs.Diff(ipvs.Table{Services: []ipvs.ServiceEntry{target}}, current)
	incRes, err := k.c.Apply(k.ctx, incPlan)
	incr := time.Since(start)
	t.Logf("incremental: %v", incr)
	if err != nil {
		t.Fatalf("incremental apply: %v", err)
	}
	if len(incPlan.Changes) != 3 || incRes.Messages != 3 {
		t.Errorf("incremental change: %d changes, %d netlink messages; want 3 and 3:\n%s",
			len(incPlan.Changes), incRes.Messages, incPlan)
	}
	// The whole table agrees with the changed configuration afterwards.
	if dump, err = k.c.Dump(k.ctx); err != nil {
		t.Fatal(err)
	}
	if p := ipvs.Diff(changed, dump); len(p.Changes) != 0 {
		t.Errorf("after the incremental apply the kernel differs in %d changes:\n%s", len(p.Changes), p)
	}

	// The reference: the same three changes to another service with
	// ipvsadm, as an operator or keepalived's ipvsadm-style scripts would
	// make them (one -R of three lines).
	other := changed.Services[nSvc/2+1]
	id := fmt.Sprintf("-t %s", netip.AddrPortFrom(other.Address, other.Port))
	d0, d1 := other.Destinations[0].Destination, other.Destinations[1].Destination
	three := fmt.Sprintf("-e %s -r %s -m -w 5\n-d %s -r %s\n-a %s -r 192.0.2.200:80 -m -w 1\n",
		id, netip.AddrPortFrom(d0.Address, d0.Port), id, netip.AddrPortFrom(d1.Address, d1.Port), id)
	start = time.Now()
	k.ipvsadmIn(t, three, "-R")
	ipvsadmIncr := time.Since(start)
	if out := k.ipvsadm(t, "-S", "-n"); !strings.Contains(out, id+" -r 192.0.2.200:80 -m -w 1") {
		t.Errorf("ipvsadm's incremental change is missing from the table")
	}

	ratio := coldApply.Seconds() / ipvsadmRestore.Seconds()
	fmt.Printf("ipvsadm_restore_s=%.2f ipvsadm_save_s=%.2f ipvsadm_clear_s=%.2f\n",
		ipvsadmRestore.Seconds(), ipvsadmSave.Seconds(), ipvsadmClear.Seconds())
	fmt.Printf("lbd_cold_apply_s=%.2f messages=%d batches=%d\n", coldApply.Seconds(), res.Messages, res.Batches)
	fmt.Printf("lbd_dump_s=%.2f dump_objects=%d dump_allocs=%d dump_alloc_mb=%.1f\n", dumpTime.Seconds(),
		nSvc*(nDest+1), after.Mallocs-before.Mallocs, float64(after.TotalAlloc-before.TotalAlloc)/(1<<20))
	fmt.Printf("lbd_incremental_ms=%.1f incremental_changes=%d incremental_messages=%d ipvsadm_incremental_ms=%.1f incr_ratio=%.3f\n",
		incr.Seconds()*1000, len(incPlan.Changes), incRes.Messages, ipvsadmIncr.Seconds()*1000, incr.Seconds()/ipvsadmIncr.Seconds())
	fmt.Printf("ipvs_bench cold_ratio=%.3f incr_ms=%.1f\n", ratio, incr.Seconds()*1000)
}
