package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/lbd-project/lbd/healthcheck"
	"github.com/lbd-project/lbd/ipvs"
	"github.com/lbd-project/lbd/lb"
	"github.com/lbd-project/lbd/vrrp"
)

// scrapeTimeout bounds what one scrape waits for the daemon loop, the
// engine and the kernel.
const scrapeTimeout = 3 * time.Second

// Source is where the scrape-time series come from.
type Source struct {
	// State asks the daemon loop for its state; it must give up when ctx
	// ends (the loop may be busy with a reload).
	State func(ctx context.Context) (State, error)
	// Engine returns the load-balancing engine, or nil when lbd runs
	// without IPVS (VRRP only).
	Engine func() Engine
	// SpoofedEchoReplies counts forged ICMP echo replies the health
	// checks' pinger dropped (healthcheck.Pinger.SpoofedReplies); nil:
	// not exported.
	SpoofedEchoReplies func() uint64
}

// State is the daemon loop's part of a scrape.
type State struct {
	Generation uint64    // 0 at start, +1 per applied reload
	LoadedAt   time.Time // when the running configuration was loaded
	VRRP       []vrrp.InstanceStats
	BGP        *BGP // nil without a bgp section
}

// Engine is what the metrics read from the load-balancing engine
// (*lb.Engine).
type Engine interface {
	Status(ctx context.Context) (lb.Status, error)
	Stats(ctx context.Context) (ipvs.Table, error)
}

// ReloadResult is the result label of lbd_reloads_total.
type ReloadResult string

// The results of a reload.
const (
	ReloadOK          ReloadResult = "ok"
	ReloadInvalid     ReloadResult = "invalid"      // bad file, nothing changed
	ReloadRejected    ReloadResult = "rejected"     // the engine refused it, nothing changed
	ReloadApplyFailed ReloadResult = "apply_failed" // in effect, kernel changes failed and are retried
)

// Metrics holds the instruments and the registry.
type Metrics struct {
	src         Source
	log         *slog.Logger
	errLog      *errorLog // the /metrics server's
	reg         *prometheus.Registry
	reloads     *prometheus.CounterVec
	checkTime   *prometheus.HistogramVec
	checkResult *prometheus.CounterVec

	// checked holds the label values (virtual server, real server, check
	// type) of the check series, so those of real servers that are gone
	// can be deleted rather than exported for ever.
	mu      sync.Mutex
	checked map[[3]string]bool
}

// New returns the metrics of src; log gets what goes wrong while
// collecting and serving them.
func New(src Source, log *slog.Logger) *Metrics {
	m := &Metrics{
		src:     src,
		log:     log,
		errLog:  &errorLog{log: log, now: time.Now},
		reg:     prometheus.NewRegistry(),
		checked: map[[3]string]bool{},
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lbd_reloads_total",
			Help: "Configuration reloads by result: ok, invalid (bad file, nothing changed), rejected (engine refused, nothing changed), apply_failed (in effect, kernel changes failed and are retried)."},
			[]string{"result"}),
		checkTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lbd_healthcheck_duration_seconds",
			Help:    "Duration of health-check probes.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}},
			[]string{"virtual_server", "real_server", "type"}),
		checkResult: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lbd_healthcheck_results_total",
			Help: "Health-check probe results (success or failure)."},
			[]string{"virtual_server", "real_server", "type", "result"}),
	}
	// Every result exists from the start, so that an alert on failed
	// reloads has a series to compare with.
	for _, r := range []ReloadResult{ReloadOK, ReloadInvalid, ReloadRejected, ReloadApplyFailed} {
		m.reloads.WithLabelValues(string(r))
	}
	m.reg.MustRegister(m.reloads, m.checkTime, m.checkResult, &collector{m: m},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Reload counts a reload.
func (m *Metrics) Reload(r ReloadResult) { m.reloads.WithLabelValues(string(r)).Inc() }

// CheckerFactory wraps f so that every probe is timed and counted.
func (m *Metrics) CheckerFactory(f lb.CheckerFactory) lb.CheckerFactory {
	return func(s lb.CheckSpec) (healthcheck.Checker, error) {
		c, err := f(s)
		if err != nil {
			return nil, err
		}
		m.mu.Lock()
		m.checked[[3]string{s.VirtualServer, s.RealServer, s.Check.Type}] = true
		m.mu.Unlock()
		took := m.checkTime.WithLabelValues(s.VirtualServer, s.RealServer, s.Check.Type)
		ok := m.checkResult.WithLabelValues(s.VirtualServer, s.RealServer, s.Check.Type, "success")
		fail := m.checkResult.WithLabelValues(s.VirtualServer, s.RealServer, s.Check.Type, "failure")
		return healthcheck.Observe(c, func(r healthcheck.Result) {
			took.Observe(r.Latency.Seconds())
			if r.OK {
				ok.Inc()
			} else {
				fail.Inc()
			}
		}), nil
	}
}

// PruneChecks deletes the check series of real servers the engine no
// longer checks (a reload or a run-time change removed them). It asks the
// engine; without one, or when the engine does not answer in time, it
// does nothing (the next call catches up).
func (m *Metrics) PruneChecks() {
	e := m.src.Engine()
	if e == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	st, err := e.Status(ctx)
	if err != nil {
		return
	}
	live := map[[2]string]bool{}
	for _, v := range st.VirtualServers {
		for _, r := range v.RealServers {
			if r.Checked && !r.Draining {
				live[[2]string{v.Name, r.Address}] = true
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.checked {
		if live[[2]string{k[0], k[1]}] {
			continue
		}
		m.checkTime.DeleteLabelValues(k[0], k[1], k[2])
		m.checkResult.DeleteLabelValues(k[0], k[1], k[2], "success")
		m.checkResult.DeleteLabelValues(k[0], k[1], k[2], "failure")
		delete(m.checked, k)
	}
}
