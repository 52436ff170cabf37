package halab

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lbd-project/lbd/internal/lab"
)

// The benchmark's client load runs as a process of its own inside the
// client namespace (this binary in the role "load"): every
// socket it opens is in that namespace, so requests can be plain
// goroutines. In the test process each dial would have to lock an OS
// thread into the namespace for as long as it waits, and during a
// failover thousands wait.

// loadResult is what one load run measured.
type loadResult struct {
	Rate     int     `json:"rate"`      // requests per second asked for
	Seconds  float64 `json:"seconds"`   // how long requests were started
	Sent     int     `json:"sent"`      // requests started
	OK       int     `json:"ok"`        // answered correctly within the timeout
	Failed   int     `json:"failed"`    // error or no answer within the timeout
	Skipped  int     `json:"skipped"`   // not started: the in-flight limit was reached
	GapMS    float64 `json:"gap_ms"`    // longest time between two answers
	GapAtS   float64 `json:"gap_at_s"`  // when that gap began, from the start
	P50MS    float64 `json:"p50_ms"`    // latency of answered requests
	P99MS    float64 `json:"p99_ms"`    //
	FirstErr string  `json:"first_err"` // one failure, for the log
	// FailBuckets counts failed requests by start time, per bucketWidth
	// from the start, so that the benchmark can tell failures before the
	// kill (an overloaded or stalled machine) from the failover's.
	FailBuckets []int `json:"fail_buckets"`
}

// bucketWidth is the resolution of loadResult.FailBuckets.
const bucketWidth = 100 * time.Millisecond

// failedBefore counts the failed requests that started before at (to
// bucketWidth).
func (r loadResult) failedBefore(at time.Duration) int {
	n := 0
	for i, c := range r.FailBuckets {
		if time.Duration(i+1)*bucketWidth <= at {
			n += c
		}
	}
	return n
}

// achieved is the rate at which requests were started.
func (r loadResult) achieved() float64 { return float64(r.Sent) / r.Seconds }

// lost counts requests that got no answer, started or not.
func (r loadResult) lost() int { return r.Failed + r.Skipped }

// maxInFlight bounds the load's goroutines. It is above rate x timeout for
// every rate the benchmark tries, so that requests hanging in an outage
// do not stop new ones from starting.
const maxInFlight = 5000

// loadMain is the load process: it sends -rate requests per second for
// -duration to -addr, each a new TCP connection that sends one line and
// must get it echoed within -timeout, then prints a loadResult as JSON.
func loadMain(args []string) int {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	rate := fs.Int("rate", 100, "requests per second")
	duration := fs.Duration("duration", 5*time.Second, "how long to start requests")
	timeout := fs.Duration("timeout", time.Second, "deadline of one request")
	addr := fs.String("addr", vipService, "echo service")
	if err := fs.Parse(args); err != nil || *rate <= 0 || *duration <= 0 || *duration > 5*time.Minute {
		fmt.Fprintln(os.Stderr, "load: bad arguments", args)
		return 2
	}
	res := generate(*addr, *rate, *duration, *timeout)
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		return 1
	}
	return 0
}

// generate runs the load. Request i is started at i/rate seconds, late
// ones at once after a late wake-up: the offered load is open-loop, so a
// slow lab does not slow it down (a client too slow to start requests
// on time shows as an achieved rate below the one asked for).
func generate(addr string, rate int, duration, timeout time.Duration) loadResult {
	var (
		mu        sync.Mutex
		done      []time.Duration // completion times of answered requests
		latencies []time.Duration
		failed    int
		buckets   = make([]int, duration/bucketWidth+1)
		firstErr  string
		wg        sync.WaitGroup
	)
	slots := make(chan struct{}, maxInFlight)
	total := int(int64(rate) * int64(duration) / int64(time.Second))
	start := time.Now()
	fmt.Println("load: started") // the benchmark times its kill from here
	sent, skipped := 0, 0
	for sent+skipped < total {
		due := min(total, int(time.Since(start).Seconds()*float64(rate))+1)
		for sent+skipped < due {
			select {
			case slots <- struct{}{}:
			default:
				skipped++
				mu.Lock()
				buckets[min(len(buckets)-1, int(time.Since(start)/bucketWidth))]++
				mu.Unlock()
				continue
			}
			sent++
			wg.Add(1)
			go func(id int) {
				defer func() { <-slots; wg.Done() }()
				t0 := time.Now()
				err := request(addr, id, t0.Add(timeout))
				t1 := time.Now()
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					if failed == 0 {
						firstErr = fmt.Sprintf("%.3fs: %v", t0.Sub(start).Seconds(), err)
					}
					failed++
					buckets[min(len(buckets)-1, int(t0.Sub(start)/bucketWidth))]++
					return
				}
				done = append(done, t1.Sub(start))
				latencies = append(latencies, t1.Sub(t0))
			}(sent)
		}
		time.Sleep(time.Millisecond)
	}
	seconds := time.Since(start).Seconds()
	wg.Wait()
	end := time.Since(start)

	res := loadResult{Rate: rate, Seconds: seconds, Sent: sent, OK: len(done), Failed: failed, Skipped: skipped,
		FirstErr: firstErr, FailBuckets: buckets}
	slices.Sort(done)
	slices.Sort(latencies)
	prev := time.Duration(0)
	for _, d := range append(done, end) {
		if gap := d - prev; gap > time.Duration(res.GapMS*float64(time.Millisecond)) {
			res.GapMS, res.GapAtS = ms(gap), prev.Seconds()
		}
		prev = d
	}
	if n := len(latencies); n > 0 {
		res.P50MS, res.P99MS = ms(latencies[n/2]), ms(latencies[n*99/100])
	}
	return res
}

// request is one connection: send a line, read it back, reset the
// connection (no TIME_WAIT left behind, and fewer packets for the TCG
// VM to carry than a FIN handshake).
func request(addr string, id int, deadline time.Time) error {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.(*net.TCPConn).SetLinger(0)
	c.SetDeadline(deadline)
	msg := fmt.Sprintf("request %09d\n", id)
	if _, err := io.WriteString(c, msg); err != nil {
		return err
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != msg {
		return fmt.Errorf("sent %q, got %q", msg, buf)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// load is a running load process.
type load struct {
	proc    *lab.Process
	started time.Time // when its "started" line was seen, within 10 ms
}

// startLoad runs the load process in n and waits until it has started
// sending.
func startLoad(n *lab.Node, rate int, duration, timeout time.Duration) (*load, error) {
	l := &load{proc: n.StartRole("load", "-rate", strconv.Itoa(rate), "-duration", duration.String(), "-timeout", timeout.String(), "-addr", vipService)}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !l.proc.Exited(); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(l.proc.Out.String(), "load: started") {
			l.started = time.Now()
			return l, nil
		}
	}
	return nil, fmt.Errorf("load process did not start: %s", l.proc.Out.String())
}

// result waits up to limit for the load to end and returns what it
// measured.
func (l *load) result(limit time.Duration) (loadResult, error) {
	var res loadResult
	if err := l.proc.Wait(limit); err != nil {
		return res, fmt.Errorf("load process: %v: %s", err, l.proc.Out.String())
	}
	out := []byte(l.proc.Out.String())
	i := bytes.LastIndex(bytes.TrimSpace(out), []byte("\n{"))
	if err := json.Unmarshal(bytes.TrimSpace(out[i+1:]), &res); err != nil {
		return res, fmt.Errorf("load process output: %v: %s", err, out)
	}
	return res, nil
}
