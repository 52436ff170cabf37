package lb

import (
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeNow is a clock the test moves.
type fakeNow struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeNow) get() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeNow) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const slowStartYAML = `virtual_servers:
  - address: 192.0.2.10:80
    slow_start: 10s
    alpha: true
    check: {type: TCP}
    real_servers:
      - {address: 198.51.100.1:80, weight: 10}
      - {address: 198.51.100.2:80, weight: 10, slow_start: 0s}
`

// weightOf is rs's weight in the fake kernel's table, -1 when absent.
func (h *harness) weightOf(rs string) int {
	m := regexp.MustCompile(`-r ` + regexp.QuoteMeta(rs) + ` .*-w (\d+)`).FindStringSubmatch(h.table())
	if m == nil {
		return -1
	}
	w, _ := strconv.Atoi(m[1])
	return w
}

func TestSlowStart(t *testing.T) {
	clock := &fakeNow{now: time.Unix(1700000000, 0)}
	h := start(t, slowStartYAML, nil, func(o *Options) { o.Now = clock.get; o.RampTick = 5 * time.Millisecond })
	const vs = "TCP 192.0.2.10:80"
	// Alpha: both down until their first success; the first ramps, the
	// second (slow_start: 0s) comes in at full weight.
	h.event(vs, "198.51.100.1:80", true)
	h.event(vs, "198.51.100.2:80", true)
	if w := h.weightOf("198.51.100.1:80"); w != 1 {
		t.Fatalf("weight %d at the start of the ramp, want 1\n%s", w, h.table())
	}
	if w := h.weightOf("198.51.100.2:80"); w != 10 {
		t.Errorf("weight %d without slow start, want 10", w)
	}
	var seen []int
	for range 10 {
		clock.add(time.Second)
		prev := seen
		h.eventually("the ramp steps", func() bool {
			w := h.weightOf("198.51.100.1:80")
			return len(prev) == 0 || w != prev[len(prev)-1]
		})
		seen = append(seen, h.weightOf("198.51.100.1:80"))
	}
	want := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if len(seen) != len(want) {
		t.Fatalf("weights %v", seen)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Errorf("weights each second %v, want %v", seen, want)
			break
		}
	}

	// A failure during a ramp ends it; coming back starts a new one.
	h.event(vs, "198.51.100.1:80", false)
	h.event(vs, "198.51.100.1:80", true)
	if w := h.weightOf("198.51.100.1:80"); w != 1 {
		t.Errorf("weight %d after coming back, want 1 (a new ramp)", w)
	}
	clock.add(5 * time.Second)
	h.eventually("half way", func() bool { return h.weightOf("198.51.100.1:80") == 5 })
	h.event(vs, "198.51.100.1:80", false)
	clock.add(10 * time.Second)
	h.event(vs, "198.51.100.1:80", true)
	if w := h.weightOf("198.51.100.1:80"); w != 1 {
		t.Errorf("weight %d: the failed ramp was not ended", w)
	}
}
