package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/internal/control"
	"github.com/lbd-project/lbd/ipvs"
	"github.com/lbd-project/lbd/lb"
)

// This file wires the lb engine into the daemon: the kernel it programs,
// the run-time state file (lb.LoadState, lb.SaveState), and the VRRP
// roles it follows.

// errNoIPVS is the start-up (or reload) error of a configuration with
// virtual servers on a kernel without IPVS.
var errNoIPVS = errors.New("the configuration has virtual_servers (or lvs_sync_daemon / lvs_timeouts / lvs_sloppy_tcp) " +
	"but the kernel has no IPVS: load the ip_vs module (modprobe ip_vs) or remove them")

// kernelOpener opens the IPVS kernel interface; tests replace it.
type kernelOpener func() (lb.Kernel, io.Closer, error)

// openIPVS opens the kernel's IPVS over generic netlink.
func openIPVS() (lb.Kernel, io.Closer, error) {
	c, err := ipvs.Open()
	if err != nil {
		return nil, nil, err
	}
	return c, c, nil
}

// needsIPVS reports whether cfg cannot run without IPVS.
func needsIPVS(cfg *conf.Config) bool {
	g := cfg.Global
	return len(cfg.VirtualServers) > 0 || g.LVSSyncDaemon != nil || g.LVSTimeouts != nil || g.LVSSloppyTCP != nil
}

// startEngine opens IPVS and starts the engine for cfg. Without IPVS a
// configuration that needs it is an error; one that does not runs
// without an engine (VRRP only).
func (d *daemon) startEngine(cfg *conf.Config) error {
	k, closer, err := d.openKernel()
	if err != nil {
		if needsIPVS(cfg) {
			return fmt.Errorf("%w (%v)", errNoIPVS, err)
		}
		d.log.Info("lbd: no IPVS in this kernel; running VRRP only", "err", err)
		return nil
	}
	path := lb.StatePath(cfg)
	st, err := lb.LoadState(path)
	if err != nil {
		closer.Close()
		return err
	}
	opts := lb.Options{
		Kernel:     k,
		Logger:     d.log,
		NewChecker: d.metrics.CheckerFactory(d.newChecker),
		State:      st,
		SaveState:  func(st lb.State) error { return lb.SaveState(path, st) },
		OnHealth:   d.healthChanged,
	}
	if d.engineOpts != nil {
		d.engineOpts(&opts)
	}
	e, err := lb.New(cfg, opts)
	if err != nil {
		closer.Close()
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := e.Run(ctx); err != nil {
			d.log.Error("lbd: load-balancing engine failed", "err", err)
		}
	}()
	d.engine, d.kernel = e, k
	d.stopEngine = func() {
		cancel()
		<-done
		closer.Close()
	}
	d.roles = newRoleQueue(d.log, e)
	return nil
}

// healthChanged records a real server going up or down in the recent
// events; it runs on the engine's goroutine.
func (d *daemon) healthChanged(c lb.HealthChange) {
	state := "DOWN"
	if c.Up {
		state = "UP"
	}
	d.events.Add(control.Event{At: c.At, Kind: control.EventHealth, Subject: c.VirtualServer + " " + c.RealServer,
		Message: state + ": " + c.Reason})
}

// roleQueue carries VRRP role changes from the units to the engine
// without making a unit wait for the engine: a unit only records the
// latest role of its instance; one goroutine delivers them in order of
// arrival, the latest value of each.
type roleQueue struct {
	log    *slog.Logger
	e      *lb.Engine
	mu     sync.Mutex
	latest map[string]bool
	order  []string
	kick   chan struct{}
	quit   chan struct{}
	done   chan struct{}
}

func newRoleQueue(log *slog.Logger, e *lb.Engine) *roleQueue {
	q := &roleQueue{log: log, e: e, latest: map[string]bool{}, kick: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{})}
	go q.run()
	return q
}

// set records instance's role; it never blocks.
func (q *roleQueue) set(instance string, master bool) {
	q.mu.Lock()
	if _, ok := q.latest[instance]; !ok {
		q.order = append(q.order, instance)
	}
	q.latest[instance] = master
	q.mu.Unlock()
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

func (q *roleQueue) run() {
	defer close(q.done)
	for {
		stop := false
		select {
		case <-q.quit:
			stop = true
		case <-q.kick:
		}
		q.mu.Lock()
		order, latest := q.order, q.latest
		q.order, q.latest = nil, map[string]bool{}
		q.mu.Unlock()
		for _, inst := range order {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if err := q.e.SetVRRPState(ctx, inst, latest[inst]); err != nil {
				q.log.Error("lbd: cannot pass a VRRP role to the engine", "instance", inst, "err", err)
			}
			cancel()
		}
		if stop {
			return
		}
	}
}

// close delivers what is queued, then stops.
func (q *roleQueue) close() {
	close(q.quit)
	<-q.done
}
