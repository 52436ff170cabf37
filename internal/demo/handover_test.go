package demo

import (
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/lab"
)

// handoverRounds is how many planned handovers each way of scheduling
// gets: enough that connections straddle the moment the VIP moves in
// every run (two clients, a request every 10 ms each).
const handoverRounds = 6

// TestPlannedHandovers hands the VIP back and forth under client load
// (SIGTERM to the master, which then restarts as backup), both ways: with
// consistent scheduling (mh, inhibit_on_failure, lvs_sloppy_tcp) no
// request may fail; with plain rr the failures are measured and reported
// beside it, as what the option saves.
func TestPlannedHandovers(t *testing.T) {
	if !lab.RunInVM(t, lab.VMOptions{MemoryMB: 1536, Timeout: 8 * time.Minute}) {
		return
	}
	failed, sent := map[scheduling]int{}, map[scheduling]int{}
	for _, sched := range []scheduling{consistent, plain} {
		name := map[scheduling]string{consistent: "consistent", plain: "plain"}[sched]
		t.Run(name, func(t *testing.T) {
			r := plannedHandovers(t, sched, handoverRounds)
			failed[sched], sent[sched] = r.failed, r.sent
		})
	}
	fmt.Printf("handover_bench handovers=%d requests=%d consistent_failed=%d plain_failed=%d\n",
		handoverRounds, sent[consistent]+sent[plain], failed[consistent], failed[plain])
	if failed[consistent] != 0 {
		t.Errorf("%d of %d requests failed across %d planned handovers with mh and sloppy TCP, want 0",
			failed[consistent], sent[consistent], handoverRounds)
	}
}

// plannedHandovers starts both balancers in a fresh lab and makes rounds
// planned handovers under the load of two clients, returning what the
// clients saw in total.
func plannedHandovers(t *testing.T, sched scheduling, rounds int) loadResult {
	d := newDemoLab(t)
	weights := map[string]int{"rs1": 1, "rs2": 1, "rs3": 1}
	for i, b := range d.lbs {
		b.write(t, config(d.dir, 150-50*i, weights, sched))
	}
	master, backup := d.lbs[0], d.lbs[1]
	t.Cleanup(func() {
		if t.Failed() {
			for _, b := range d.lbs {
				t.Logf("%s log:\n%s", b.name, b.proc.Out.String())
			}
		}
	})
	master.start(t)
	lab.WaitFor(t, 20*time.Second, 50*time.Millisecond, "lb1 MASTER with every real server", func() bool {
		return master.holdsVIP() && hasRealServers(t, master)
	})
	backup.start(t)
	waitBackup(t, backup)
	clients := []*client{newClient(d.client), newClient(d.client)}
	var total loadResult
	for round := range rounds {
		time.Sleep(time.Second) // the restarted backup's checks settle
		stop := make(chan struct{})
		results := make([]loadResult, len(clients))
		var wg sync.WaitGroup
		for i, c := range clients {
			wg.Go(func() { results[i] = c.load(stop, 30*time.Second) })
		}
		time.Sleep(300 * time.Millisecond)
		master.proc.Signal(syscall.SIGTERM)
		took, ok := eventually(10*time.Second, func() bool { return backup.holdsVIP() && !master.holdsVIP() })
		time.Sleep(300 * time.Millisecond)
		close(stop)
		wg.Wait()
		if !ok {
			t.Fatalf("round %d: %s did not take the VIP from %s within %v", round, backup.name, master.name, took)
		}
		var r loadResult
		why := ""
		for i, ri := range results {
			r.sent += ri.sent
			r.failed += ri.failed
			why += clients[i].why(ri.failed)
		}
		t.Logf("round %d: %s -> %s in %v: %d of %d requests failed%s",
			round, master.name, backup.name, took.Round(time.Millisecond), r.failed, r.sent, why)
		total.sent += r.sent
		total.failed += r.failed
		if err := master.proc.Wait(10 * time.Second); err != nil {
			t.Logf("%s exit: %v", master.name, err)
		}
		master.start(t)
		waitBackup(t, master)
		master, backup = backup, master
	}
	return total
}

// hasRealServers reports whether b's kernel has every real server with
// weight 1.
func hasRealServers(t *testing.T, b *balancer) bool {
	out := b.ipvs(t)
	for _, name := range []string{"rs1", "rs2", "rs3"} {
		if !strings.Contains(out, rule(rsAddr[name], 1)) {
			return false
		}
	}
	return true
}

// waitBackup waits until b runs as backup with every real server in its
// kernel table.
func waitBackup(t *testing.T, b *balancer) {
	t.Helper()
	lab.WaitFor(t, 20*time.Second, 50*time.Millisecond, b.name+" BACKUP with every real server", func() bool {
		return !b.holdsVIP() && hasRealServers(t, b)
	})
}
