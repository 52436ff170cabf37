package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/systemd"
)

// daemon is the main loop: it owns the set of running units, reloads and
// stops them, and reports to systemd.
type daemon struct {
	path    string
	log     *slog.Logger
	sd      *systemd.Notifier
	host    host
	timeout atomic.Int64 // notify_timeout, read by the notify queues
	changed chan struct{}
	ping    chan chan struct{}
	units   map[string]*running
	order   []string // unit keys in configuration order
}

// running is a unit and how to stop it.
type running struct {
	spec   unitSpec
	u      *unit
	cancel context.CancelFunc
}

func newDaemon(path string, log *slog.Logger, h host) *daemon {
	return &daemon{
		path:    path,
		log:     log,
		sd:      systemd.NewNotifier(log),
		host:    h,
		changed: make(chan struct{}, 1),
		ping:    make(chan chan struct{}),
		units:   map[string]*running{},
	}
}

// serve runs cfg until a stop signal or the end of ctx.
func (d *daemon) serve(ctx context.Context, cfg *conf.Config, sigs <-chan os.Signal) error {
	specs, err := units(cfg)
	if err != nil {
		return err
	}
	d.log.Info("lbd: starting", "file", d.path, "router_id", cfg.Global.RouterID, "config", summary(cfg), "pid", os.Getpid())
	d.timeout.Store(int64(cfg.Global.NotifyTimeout.D()))
	d.apply(specs, diff(nil, specs))
	d.sd.Ready(d.status())

	wdCtx, stopWatchdog := context.WithCancel(context.Background())
	defer stopWatchdog()
	go d.sd.Watchdog(wdCtx, d.alive)

	for {
		select {
		case <-ctx.Done():
			d.stop(sigs)
			return nil
		case s := <-sigs:
			if s == syscall.SIGHUP {
				d.reload()
				continue
			}
			d.log.Info("lbd: stopping", "signal", s.String())
			d.stop(sigs)
			return nil
		case <-d.changed:
			d.sd.Status(d.status())
		case reply := <-d.ping:
			close(reply)
		}
	}
}

// alive reports whether the main loop answers within a second (for the
// systemd watchdog).
func (d *daemon) alive() bool {
	reply := make(chan struct{})
	select {
	case d.ping <- reply:
	case <-time.After(time.Second):
		return false
	}
	<-reply
	return true
}

// status is systemd's one-line STATUS.
func (d *daemon) status() string {
	n, master := 0, 0
	for _, r := range d.units {
		a, b := r.u.counts()
		n += a
		master += b
	}
	return fmt.Sprintf("%d VRRP %s: %d master", n, plural(n, "instance"), master)
}

// apply carries out a plan: stops what goes, then (once all of it has
// stopped) starts what comes; kept units are not touched.
func (d *daemon) apply(specs []unitSpec, p plan) {
	var stopping []<-chan struct{}
	for _, k := range append(append([]string(nil), p.Restart...), p.Stop...) {
		r := d.units[k]
		r.cancel()
		stopping = append(stopping, r.u.Done())
		delete(d.units, k)
	}
	after := make(chan struct{})
	go func() {
		for _, c := range stopping {
			<-c
		}
		close(after)
	}()
	env := unitEnv{log: d.log, host: d.host, notifyTimeout: &d.timeout, changed: d.changed}
	d.order = d.order[:0]
	for _, s := range specs {
		d.order = append(d.order, s.Key)
		if r, ok := d.units[s.Key]; ok {
			r.spec = s // same fingerprint: only positions may differ
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		u := newUnit(s, env)
		d.units[s.Key] = &running{spec: s, u: u, cancel: cancel}
		go u.run(ctx, after)
	}
}

// reload is SIGHUP: parse, validate, diff, apply. A bad file changes
// nothing.
func (d *daemon) reload() {
	d.sd.Reloading()
	d.log.Info("lbd: reloading", "file", d.path)
	cfg, err := conf.Load(d.path)
	var specs []unitSpec
	if err == nil {
		specs, err = units(cfg)
	}
	if err != nil {
		var list conf.ErrorList
		if errors.As(err, &list) {
			for _, e := range list {
				d.log.Error("lbd: configuration error", "err", e.Error())
			}
		}
		d.log.Error("lbd: reload failed; the running configuration stays", "file", d.path, "err", firstError(err))
		d.sd.Ready("reload failed: " + firstError(err))
		return
	}
	old := make([]unitSpec, 0, len(d.order))
	for _, k := range d.order {
		old = append(old, d.units[k].spec)
	}
	p := diff(old, specs)
	d.timeout.Store(int64(cfg.Global.NotifyTimeout.D()))
	d.apply(specs, p)
	d.log.Info("lbd: reloaded", "file", d.path, "config", summary(cfg),
		"kept", p.Keep, "restarted", p.Restart, "started", p.Start, "stopped", p.Stop)
	d.sd.Ready(d.status())
}

// stopLimit bounds the whole shutdown: handovers, notify_stop scripts.
const stopLimit = 60 * time.Second

// stop stops every unit (Masters hand over first) and waits for them; a
// second SIGTERM or SIGINT cuts the handovers short.
func (d *daemon) stop(sigs <-chan os.Signal) {
	d.sd.Stopping()
	for _, r := range d.units {
		r.cancel()
	}
	limit := time.NewTimer(stopLimit)
	defer limit.Stop()
	for _, r := range d.units {
		for waiting := true; waiting; {
			select {
			case <-r.u.Done():
				waiting = false
			case s := <-sigs:
				if s != syscall.SIGHUP {
					d.log.Warn("lbd: second stop signal; releasing addresses now", "signal", s.String())
					for _, r := range d.units {
						r.u.Abort()
					}
				}
			case <-d.changed:
				d.sd.Status(d.status())
			case reply := <-d.ping:
				close(reply)
			case <-limit.C:
				d.log.Error("lbd: units did not stop in time", "limit", stopLimit)
				return
			}
		}
	}
	d.log.Info("lbd: stopped")
}
