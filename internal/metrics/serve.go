package metrics

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/net/netutil"
)

// The /metrics server's limits. Anyone who can reach metrics_address may
// connect (on the default loopback address, any local user), so what a
// client holds is bounded: a scraper needs one connection and one
// request every few seconds, not more.
const (
	// readTimeout bounds reading a request, headers included, from the
	// connection's start or the previous request's end: a scrape request
	// is a few hundred bytes, and a client that sends nothing is dropped.
	readTimeout = 5 * time.Second
	// writeTimeout bounds a request from its end to its answer's last
	// byte; it exceeds the handler's timeout (2 × scrapeTimeout), so a
	// slow scrape still gets its answer, and cuts off a client that
	// reads the answer too slowly.
	writeTimeout = 2*scrapeTimeout + 4*time.Second
	// idleTimeout closes a kept-alive connection between scrapes.
	// Prometheus scrapes every 15 s or more by default: it reconnects,
	// which costs less than holding a descriptor per idle client.
	idleTimeout = 5 * time.Second
	// maxHeaderBytes: a scrape request's headers fit many times over.
	maxHeaderBytes = 4 << 10
	// maxConns caps the connections held at once: lbd's descriptors
	// are shared with the control socket, IPVS, VRRP and health checks.
	// The next client waits in the kernel's accept queue (costing lbd
	// nothing) until one is closed, which the timeouts above make a
	// matter of seconds.
	maxConns = 16
	// maxScrapes caps the collections running at once (each asks the
	// daemon loop, the engine and the kernel); the ones beyond get 503
	// at once rather than queue, and Prometheus tries again at its next
	// interval. Two lets a pair of HA Prometheus servers scrape together.
	maxScrapes = 2
	// errorLogEvery is how often the server's errors are logged at most.
	errorLogEvery = 10 * time.Second
)

// Serve serves /metrics on addr until the returned function is called
// (which waits, at most 2 s, for the scrapes in progress); it returns the
// address it listens on. other, when not nil, serves every other path (the
// status page), under the same limits. ctx carries values only:
// cancelling it does not stop the server.
func (m *Metrics) Serve(ctx context.Context, addr string, other http.Handler) (func(), string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	return m.serve(ctx, ln, other), ln.Addr().String(), nil
}

// serve serves /metrics, and other, on ln.
func (m *Metrics) serve(ctx context.Context, ln net.Listener, other http.Handler) func() {
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.handler())
	if other != nil {
		mux.Handle("/", other)
	}
	srv := &http.Server{Handler: mux, ReadTimeout: readTimeout, WriteTimeout: writeTimeout,
		IdleTimeout: idleTimeout, MaxHeaderBytes: maxHeaderBytes, ErrorLog: log.New(m.errLog, "", 0)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(netutil.LimitListener(ln, maxConns)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("lbd: metrics server failed", "err", err)
		}
	}()
	m.log.Info("lbd: serving metrics", "address", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	}
}

// handler is the /metrics handler.
func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: m.errLog, Timeout: 2 * scrapeTimeout,
		MaxRequestsInFlight: maxScrapes})
}

// errorLog logs the errors of the HTTP server (as its ErrorLog) and of
// the handler, at most one every errorLogEvery: an accept loop that
// fails, say because lbd is out of descriptors, retries every few
// milliseconds to every second and would otherwise fill the journal. The
// first error is logged; those that follow within errorLogEvery are
// counted, and the count goes with the next one logged.
type errorLog struct {
	log     *slog.Logger
	now     func() time.Time
	mu      sync.Mutex
	last    time.Time // when the last line was logged; zero before
	dropped int       // errors not logged since
}

// Write is the http.Server's ErrorLog output: one message per call.
func (l *errorLog) Write(p []byte) (int, error) {
	l.print(string(p))
	return len(p), nil
}

// Println is promhttp's error log.
func (l *errorLog) Println(v ...any) { l.print(fmt.Sprintln(v...)) }

func (l *errorLog) print(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !l.last.IsZero() && now.Sub(l.last) < errorLogEvery {
		l.dropped++
		return
	}
	args := []any{"err", strings.TrimSpace(msg)}
	if l.dropped > 0 {
		args = append(args, "dropped", l.dropped)
	}
	l.log.Error("lbd: metrics server", args...)
	l.last, l.dropped = now, 0
}
