package metrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Serve serves /metrics on addr until the returned function is called
// (which waits, at most 2 s, for the scrapes in progress); it returns the
// address it listens on. ctx carries values only: cancelling it does not
// stop the server.
func (m *Metrics) Serve(ctx context.Context, addr string) (func(), string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	return m.serve(ctx, ln), ln.Addr().String(), nil
}

// serve serves /metrics on ln.
func (m *Metrics) serve(ctx context.Context, ln net.Listener) func() {
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
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
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: slogErrorLog{m}, Timeout: 2 * scrapeTimeout})
}

type slogErrorLog struct{ m *Metrics }

func (l slogErrorLog) Println(v ...any) { l.m.log.Error("lbd: metrics", "err", v) }
