package halab

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/lab"
)

// This file is `make bench-halab`: a client load through the VIP of the
// two-balancer NAT lab while the master dies (links down, SIGKILL), with
// lbd on both balancers and with Debian's keepalived 2.2.7 with the same
// settings, in the same VM run. Each request is a new TCP connection that
// sends a line and must get it echoed within a second; a request fails on
// any error or on no answer in time (a SYN lost in the outage is retried
// by the client's kernel only after 1 s, too late).

const (
	// benchRate is the load asked for. The TCG VM (one emulated CPU that
	// also runs both balancers' kernels, the real servers and the client,
	// on a host shared with other work) does not carry it: calibrate steps
	// up to the highest rate it sustains steadily, and the output says
	// which rate was used.
	benchRate     = 2000
	benchDuration = 20 * time.Second
	benchKillAt   = 5 * time.Second // into the load, then at lb1's next advert
	benchTimeout  = time.Second     // per request
	// benchAdvert is the VRRP advert interval of both implementations.
	// 1 s, keepalived's default: with 100 ms the backup of either one,
	// starved of the emulated CPU by the load (and by whatever else runs
	// on the host), misses three adverts and takes over from a live
	// master before the kill, which is not the failover measured here.
	benchAdvert = time.Second
	// benchRuns runs each implementation this often, alternating, so
	// that a slow spell of the shared host does not fall on one of them
	// only; the figures are medians.
	benchRuns = 3
)

// calibrationRates are tried in turn, up to benchRate. Upwards, so the
// lab is never first driven into an overload it then takes long to leave
// (a backlog of half-open connections, health checks timing out).
var calibrationRates = []int{100, 150, 200, 250, 300, 400, 500, 700, 1000, 1400, benchRate}

// runResult is one failover under load.
type runResult struct {
	loadResult
	takeover   time.Duration // kill to the VIP on lb2 (polled every 100 ms)
	beforeKill int           // requests failed before the kill
	// CPU time the master's and the backup's daemon (with its children)
	// used under load, from the load's start to the kill.
	cpuMaster, cpuBackup time.Duration
}

// TestBenchHALab is the failover-under-load benchmark; set LBD_BENCH=1.
func TestBenchHALab(t *testing.T) {
	if os.Getenv("LBD_BENCH") != "1" {
		t.Skip("benchmark: set LBD_BENCH=1 (make bench-halab)")
	}
	if !lab.RunInVM(t, lab.VMOptions{MemoryMB: 1536, Timeout: 20 * time.Minute}) {
		return
	}
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Fatalf("keepalived is not in the lab VM: %v", err)
	}
	v := vrrpSettings{advert: benchAdvert}
	var rate int
	t.Run("calibrate", func(t *testing.T) { rate = calibrate(t, v) })
	if t.Failed() {
		t.FailNow()
	}
	impls := []string{"lbd", "keepalived"}
	runs := map[string][]runResult{}
	for i := range benchRuns {
		for _, impl := range impls {
			t.Run(fmt.Sprintf("%s/%d", impl, i), func(t *testing.T) {
				r := failoverUnderLoad(t, impl, rate, v)
				runs[impl] = append(runs[impl], r)
				fmt.Printf("halab_run impl=%s run=%d rate_achieved=%.0f sent=%d failed=%d skipped=%d failed_before_kill=%d longest_gap_ms=%.1f takeover_ms=%.0f p50_ms=%.1f p99_ms=%.1f cpu_master_ms=%.0f cpu_backup_ms=%.0f\n",
					impl, i, r.achieved(), r.Sent, r.Failed, r.Skipped, r.beforeKill, r.GapMS, ms(r.takeover), r.P50MS, r.P99MS, ms(r.cpuMaster), ms(r.cpuBackup))
			})
			if t.Failed() {
				t.FailNow()
			}
		}
	}
	if rate < benchRate {
		fmt.Printf("halab_rate target=%d used=%d (the TCG VM does not sustain %d requests/s steadily; %d leaves a third of the highest rate it does in reserve)\n",
			benchRate, rate, benchRate, rate)
	} else {
		fmt.Printf("halab_rate target=%d used=%d\n", benchRate, rate)
	}
	failed := map[string]int{}
	for _, impl := range impls {
		rs := runs[impl]
		lost := median(rs, func(r runResult) float64 { return float64(r.lost()) })
		failed[impl] = int(lost)
		fmt.Printf("halab_%s runs=%d rate_achieved=%.0f failed=%.0f failed_before_kill=%.0f failed_from_kill=%.0f longest_gap_ms=%.1f takeover_ms=%.0f cpu_master_ms=%.0f cpu_backup_ms=%.0f (medians)\n",
			impl, len(rs),
			median(rs, func(r runResult) float64 { return r.achieved() }),
			lost,
			median(rs, func(r runResult) float64 { return float64(r.beforeKill) }),
			median(rs, func(r runResult) float64 { return float64(r.lost() - r.beforeKill) }),
			median(rs, func(r runResult) float64 { return r.GapMS }),
			median(rs, func(r runResult) float64 { return ms(r.takeover) }),
			median(rs, func(r runResult) float64 { return ms(r.cpuMaster) }),
			median(rs, func(r runResult) float64 { return ms(r.cpuBackup) }))
	}
	fmt.Printf("halab_bench lbd_failed=%d keepalived_failed=%d\n", failed["lbd"], failed["keepalived"])
}

// median of f over rs (the upper one of an even count).
func median(rs []runResult, f func(runResult) float64) float64 {
	var xs []float64
	for _, r := range rs {
		xs = append(xs, f(r))
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// calibrate finds the highest rate of calibrationRates that the lab (with
// lbd, no failover) carries steadily for a few seconds: requests started
// on time (95 %), almost all answered (0.5 % lost at most), the median
// latency at most a tenth of the request timeout and the 99th percentile
// under it. Latency is what shows a queue building up, well before
// requests fail: a rate whose median is already a quarter of the timeout
// fails hundreds of requests in the 20 s runs. The host is shared, and a
// stall of the whole VM can spoil one try; a rate that fails is tried
// once more. It stops at the first rate that is not carried.
func calibrate(t *testing.T, v vrrpSettings) int {
	h := newHALab(t)
	h.startPair("lbd", v)
	best := 0
	for _, rate := range calibrationRates {
		steady := false
		for try := 0; try < 2 && !steady; try++ {
			l, err := startLoad(h.client, rate, 5*time.Second, benchTimeout)
			if err != nil {
				t.Fatal(err)
			}
			r, err := l.result(time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			steady = float64(r.lost()) <= 0.005*float64(r.Sent+r.Skipped) && r.achieved() >= 0.95*float64(rate) &&
				r.P50MS <= ms(benchTimeout)/10 && r.P99MS < ms(benchTimeout)
			fmt.Printf("halab_calibrate rate=%d achieved=%.0f failed=%d skipped=%d p50_ms=%.1f p99_ms=%.1f steady=%v\n",
				rate, r.achieved(), r.Failed, r.Skipped, r.P50MS, r.P99MS, steady)
			time.Sleep(time.Second) // let the backlog drain
		}
		if !steady {
			break
		}
		best = rate
	}
	if best == 0 {
		t.Fatalf("the lab does not carry even %d requests/s steadily", calibrationRates[0])
	}
	// A failover adds a burst on top of the load (clients' retried SYNs,
	// the new master's backlog), and 5 s steady is not 20 s steady: at
	// the highest steady rate the lab fell over after the kill, or before
	// it, with either implementation, and the counts measured overload
	// rather than the failover. Keep a third in reserve.
	use := calibrationRates[0]
	for _, rate := range calibrationRates {
		if rate <= best*2/3 {
			use = rate
		}
	}
	fmt.Printf("halab_calibrate best=%d used=%d (two thirds of the best, for headroom)\n", best, use)
	return use
}

// failoverUnderLoad runs the load at rate for benchDuration in a fresh
// lab with impl on both balancers and kills the master at its first
// advert benchKillAt into the load: killing both implementations at the
// same phase of the 1 s advert cycle keeps up to a second of outage, and
// rate times as many failures, out of the comparison.
func failoverUnderLoad(t *testing.T, impl string, rate int, v vrrpSettings) runResult {
	h := newHALab(t)
	lb1, lb2 := h.startPair(impl, v)
	// A few adverts more, so the backup runs on the master's timers.
	time.Sleep(2 * benchAdvert)
	l, err := startLoad(h.client, rate, benchDuration, benchTimeout)
	if err != nil {
		t.Fatal(err)
	}
	cpu1, cpu2 := lb1.cpu(), lb2.cpu()
	time.Sleep(time.Until(l.started.Add(benchKillAt)))
	h.client.WaitAdvert(netip.MustParseAddr("198.51.100.11"), 3*benchAdvert)
	if lb2.holdsVIP() || !lb1.holdsVIP() {
		t.Fatalf("%s: the VIP moved before the kill (the load starves VRRP at %d requests/s)", impl, rate)
	}
	cpu1, cpu2 = lb1.cpu()-cpu1, lb2.cpu()-cpu2
	killed := time.Now()
	lb1.die(t)
	took, ok := eventually(30*time.Second, lb2.holdsVIP)
	if !ok {
		t.Fatalf("%s: lb2 did not take the VIP within %v of the kill", impl, took.Round(time.Millisecond))
	}
	r := runResult{takeover: time.Since(killed), cpuMaster: cpu1, cpuBackup: cpu2}
	if r.loadResult, err = l.result(benchDuration + benchTimeout + time.Minute); err != nil {
		t.Fatal(err)
	}
	r.beforeKill = r.failedBefore(killed.Sub(l.started))
	t.Logf("%s: first failure %s", impl, r.FirstErr)
	return r
}

// cpu is the CPU time (user and system) used so far by the processes in
// the daemon's process group, which the lab started with the daemon as
// leader: lbd alone, or keepalived with its VRRP and checker children.
func (b *balancer) cpu() time.Duration {
	pgid := b.proc.Cmd.Process.Pid
	dirs, _ := os.ReadDir("/proc")
	var ticks int64
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp ... utime stime: comm may hold
		// spaces, so count fields after its closing parenthesis.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 13 {
			continue
		}
		if pgrp, _ := strconv.Atoi(f[2]); pgrp != pgid {
			continue
		}
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += utime + stime
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// clockTicks is the unit of /proc/PID/stat times (USER_HZ, 100 on Linux
// for x86).
const clockTicks = 100
