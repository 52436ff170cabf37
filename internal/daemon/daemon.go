package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lbd-project/lbd/bfd"
	"github.com/lbd-project/lbd/bgp"
	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/healthcheck"
	"github.com/lbd-project/lbd/internal/control"
	"github.com/lbd-project/lbd/internal/events"
	"github.com/lbd-project/lbd/internal/metrics"
	"github.com/lbd-project/lbd/internal/statuspage"
	"github.com/lbd-project/lbd/lb"
	"github.com/lbd-project/lbd/systemd"
	"github.com/lbd-project/lbd/vrrp"
)

// daemon is the main loop: it owns the set of running units, reloads and
// stops them, and reports to systemd.
type daemon struct {
	path    string
	log     *slog.Logger
	sd      *systemd.Notifier
	host    vrrp.Host
	clock   vrrp.Clock                         // nil: the real time
	notify  atomic.Pointer[vrrp.NotifyOptions] // notify_timeout and script_user, read by the notify queues
	changed chan struct{}
	ping    chan chan struct{}
	units   map[string]*running
	order   []string    // unit keys in configuration order
	reqs    chan func() // run on the main loop (control socket, metrics)

	cfg *conf.Config // running configuration
	// parser remembers the file's virtual servers, so a reload of a big
	// file decodes only the ones that changed.
	parser     conf.Parser
	generation uint64
	loadedAt   time.Time
	lastReload *control.ReloadOutcome
	// events are the recent VRRP transitions, health changes and reloads
	// (status's events), written from the runners, the engine and here.
	events *events.Ring

	// The load-balancing engine; nil without IPVS (VRRP only).
	engine     *lb.Engine
	kernel     lb.Kernel
	stopEngine func()
	roles      *roleQueue
	metrics    *metrics.Metrics

	// The BGP side (announce: bgp); nil without a bgp section.
	anycast     *anycast
	stopAnycast context.CancelFunc

	// Seams for tests.
	load       func(path string) (*conf.Config, error) // parser.Load
	openKernel kernelOpener
	newChecker lb.CheckerFactory
	pinger     *healthcheck.Pinger // of the default newChecker
	engineOpts func(*lb.Options)
	newSpeaker func(*slog.Logger) routeSpeaker
	openVIP    func(dev string) (vipSet, error)
	openBFD    func() (bfd.Conn, error)
	openStatic func() (staticNet, error)
	static     staticNet // opened by applyStatic when first needed
	// bfd is the one BFD manager (bfd.go), opened when first needed.
	bfdMu sync.Mutex
	bfd   *bfd.Manager
	// started is closed once serve has started everything (tests wait
	// for it); metricsAddr is then the metrics listener's address.
	started     chan struct{}
	metricsAddr string
}

// maxEvents is how many recent events status keeps: a few hours of a
// flapping real server, or the last reloads with their plans.
const maxEvents = 200

// running is a unit's VRRP runner and how to stop it.
type running struct {
	spec   unitSpec
	r      *vrrp.Runner
	cancel context.CancelFunc
}

// newDaemon wires a daemon on host h; pinger is PING_CHECK's echo prober,
// shared by every target (and, through h, by fast takeover).
func newDaemon(path string, log *slog.Logger, h vrrp.Host, pinger *healthcheck.Pinger) *daemon {
	d := &daemon{
		path:    path,
		log:     log,
		sd:      systemd.NewNotifier(log),
		host:    h,
		changed: make(chan struct{}, 1),
		ping:    make(chan chan struct{}),
		units:   map[string]*running{},
		reqs:    make(chan func()),
		started: make(chan struct{}),
		events:  events.New(maxEvents),

		openKernel: openIPVS,
		pinger:     pinger,
		newChecker: lb.NewCheckerFactory(pinger),
		newSpeaker: func(l *slog.Logger) routeSpeaker { return bgp.New(l) },
		openVIP:    openVIPs,
		openBFD:    openBFD,
		openStatic: openStatic,
	}
	d.load = d.parser.Load
	return d
}

// do runs fn on the main loop and waits for it.
func (d *daemon) do(ctx context.Context, fn func()) error {
	done := make(chan struct{})
	select {
	case d.reqs <- func() { fn(); close(done) }:
	case <-ctx.Done():
		return ctx.Err()
	}
	<-done
	return nil
}

// serve runs cfg until a stop signal or the end of ctx.
func (d *daemon) serve(ctx context.Context, cfg *conf.Config, sigs <-chan os.Signal) error {
	specs, err := units(cfg)
	if err != nil {
		return err
	}
	d.log.Info("lbd: starting", "file", d.path, "router_id", cfg.Global.RouterID, "config", cfg.Summary(), "pid", os.Getpid())
	d.metrics = metrics.New(metrics.Source{State: d.metricsState, Engine: d.metricsEngine,
		SpoofedEchoReplies: d.pinger.SpoofedReplies}, d.log)
	d.initTrackFiles(cfg)
	if err := d.startEngine(cfg); err != nil {
		return err
	}
	defer d.closeEngine()
	if err := d.startBGP(cfg); err != nil {
		return err
	}
	defer d.stopBGP()
	d.cfg, d.loadedAt = cfg, time.Now()
	d.notify.Store(&vrrp.NotifyOptions{Timeout: cfg.Global.NotifyTimeout.D(), User: cfg.Global.ScriptUser})
	d.applyStatic(cfg)
	defer d.closeStatic()
	d.apply(specs, diff(nil, specs))

	srvCtx, stopServers := context.WithCancel(context.Background())
	defer stopServers()
	if stop := d.startControl(srvCtx, cfg); stop != nil {
		defer stop()
	}
	if a := *cfg.Global.MetricsAddress; a != "" {
		// The status page shows what `ipvsctl status` does, beside
		// /metrics and under its limits.
		stop, addr, err := d.metrics.Serve(srvCtx, a, statuspage.New(d.statusResult, d.log))
		if err != nil {
			d.log.Error("lbd: cannot serve metrics; going on without them", "address", a, "err", err)
		} else {
			d.metricsAddr = addr
			defer stop()
		}
	}
	close(d.started)
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
			stopServers()
			d.log.Info("lbd: stopping", "signal", s.String())
			d.stop(sigs)
			return nil
		case <-d.changed:
			d.sd.Status(d.status())
		case reply := <-d.ping:
			close(reply)
		case fn := <-d.reqs:
			fn()
		}
	}
}

// closeEngine stops the engine after the units (whose last role changes
// it still takes).
func (d *daemon) closeEngine() {
	if d.roles != nil {
		d.roles.close()
	}
	if d.stopEngine != nil {
		d.stopEngine()
	}
}

// offLoop runs work on a goroutine of its own and, until it is done, goes
// on answering the watchdog's pings and passing state changes to systemd,
// so that long work of the main loop (a reload) never stops the watchdog
// pings. Other requests wait: work may change the state they read.
func (d *daemon) offLoop(work func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		work()
	}()
	for {
		select {
		case <-done:
			return
		case reply := <-d.ping:
			close(reply)
		case <-d.changed:
			d.sd.Status(d.status())
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
		for _, st := range r.r.Stats() {
			n++
			if st.State == vrrp.StateMaster {
				master++
			}
		}
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
		stopping = append(stopping, r.r.Done())
		delete(d.units, k)
	}
	after := make(chan struct{})
	go func() {
		for _, c := range stopping {
			<-c
		}
		close(after)
	}()
	d.order = d.order[:0]
	for _, s := range specs {
		d.order = append(d.order, s.Key)
		if r, ok := d.units[s.Key]; ok {
			r.spec = s // same fingerprint: only positions may differ
			continue
		}
		r, err := vrrp.NewRunner(vrrp.RunnerConfig{
			Group: s.Group, TrackingWeight: s.TrackingWeight, GroupNotify: s.GroupNotify, Members: s.Members,
			Host: d.host, Clock: d.clock, Logger: d.log, BFD: d.vrrpBFD,
			Notify:       func() vrrp.NotifyOptions { return *d.notify.Load() },
			OnTransition: d.transition,
		})
		if err != nil {
			// units() built the spec from a validated file: a refusal
			// here is a bug, said loudly rather than hidden.
			d.log.Error("lbd: cannot run VRRP", "unit", s.Key, "err", err)
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		d.units[s.Key] = &running{spec: s, r: r, cancel: cancel}
		go func() {
			select {
			case <-after:
			case <-ctx.Done():
			}
			r.Run(ctx)
		}()
	}
}

// transition is told every VRRP state change by the runners: the engine
// follows MASTER and not MASTER, systemd's STATUS every change. It runs
// on a runner's goroutine and must not block.
func (d *daemon) transition(n vrrp.Notification) {
	t := n.Transition
	if d.roles != nil && (t.To == vrrp.StateMaster || t.From == vrrp.StateMaster) {
		d.roles.set(n.Instance, t.To == vrrp.StateMaster)
	}
	msg := fmt.Sprintf("%s (was %s): %s", t.To, t.From, n.Reason)
	if t.Peer.IsValid() {
		msg += fmt.Sprintf("; peer %s priority %d", t.Peer, t.PeerPriority)
	}
	d.events.Add(control.Event{At: n.Time, Kind: control.EventVRRP, Subject: n.Instance, Message: msg})
	select {
	case d.changed <- struct{}{}:
	default:
	}
}

// reload is SIGHUP (and the control socket's "reload"): parse and
// validate once; a bad file changes nothing. A good one goes to the
// engine first (which refuses it whole, changing nothing, if it cannot
// prepare it), then to the VRRP units (diff, apply). Handed-over units
// that the reload keeps get their priority back.
func (d *daemon) reload() (control.ReloadResult, error) {
	var res control.ReloadResult
	d.sd.Reloading()
	d.log.Info("lbd: reloading", "file", d.path)
	var (
		cfg     *conf.Config
		specs   []unitSpec
		err     error
		r       lb.ReloadResult
		engErr  error
		applied bool
	)
	// Loading a big file and applying it to a big kernel table take
	// seconds: done off the loop, which meanwhile answers the watchdog.
	d.offLoop(func() {
		cfg, err = d.load(d.path)
		if err == nil {
			specs, err = units(cfg)
		}
		if err == nil && d.engine == nil && needsIPVS(cfg) {
			err = errNoIPVS
		}
		if err != nil {
			return
		}
		d.initTrackFiles(cfg)
		if d.engine == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		r, engErr = d.engine.Reload(ctx, cfg)
		cancel()
		applied = true
	})
	if err != nil {
		var list conf.ErrorList
		if errors.As(err, &list) {
			for _, e := range list {
				d.log.Error("lbd: configuration error", "err", e.Error())
			}
		}
		return res, d.reloadFailed(metrics.ReloadInvalid, err)
	}
	result := metrics.ReloadOK
	if applied {
		if r.Generation == 0 && engErr != nil {
			return res, d.reloadFailed(metrics.ReloadRejected, engErr)
		}
		res.Changes = r.Plan.Lines()
		d.metrics.PruneChecks()
		if engErr != nil {
			result = metrics.ReloadApplyFailed
			d.log.Error("lbd: reload applied with failures; retrying", "err", engErr)
		}
	}
	old := make([]unitSpec, 0, len(d.order))
	for _, k := range d.order {
		old = append(old, d.units[k].spec)
	}
	p := diff(old, specs)
	d.notify.Store(&vrrp.NotifyOptions{Timeout: cfg.Global.NotifyTimeout.D(), User: cfg.Global.ScriptUser})
	d.applyStatic(cfg)
	d.apply(specs, p)
	d.reloadBGP(cfg)
	for _, k := range p.Keep {
		r := d.units[k].r
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			r.Handover(ctx, true)
		}()
	}
	restartOnly := d.keepRestartOnly(cfg)
	d.cfg, d.loadedAt = cfg, time.Now()
	d.generation++
	res.Generation = d.generation
	d.lastReload = &control.ReloadOutcome{At: d.loadedAt, OK: true}
	msg := fmt.Sprintf("ok: generation %d, %d kernel %s", d.generation, len(res.Changes), plural(len(res.Changes), "change"))
	if result == metrics.ReloadApplyFailed {
		msg = fmt.Sprintf("applied with failures, retrying: %s", firstError(engErr))
	}
	if restartOnly != "" {
		msg += "; " + restartOnly
	}
	d.events.Add(control.Event{At: d.loadedAt, Kind: control.EventReload, Subject: d.path, Message: msg, Detail: res.Changes})
	d.metrics.Reload(result)
	d.log.Info("lbd: reloaded", "file", d.path, "config", cfg.Summary(), "generation", d.generation,
		"ipvs_changes", len(res.Changes), "kept", p.Keep, "restarted", p.Restart, "started", p.Start, "stopped", p.Stop)
	d.sd.Ready(d.status())
	return res, nil
}

// reloadFailed reports a refused reload; the running configuration stays.
func (d *daemon) reloadFailed(result metrics.ReloadResult, err error) error {
	d.log.Error("lbd: reload failed; the running configuration stays", "file", d.path, "err", firstError(err))
	d.sd.Ready("reload failed: " + firstError(err))
	d.lastReload = &control.ReloadOutcome{At: time.Now(), OK: false, Error: err.Error()}
	d.events.Add(control.Event{At: d.lastReload.At, Kind: control.EventReload, Subject: d.path,
		Message: fmt.Sprintf("failed (%s), the running configuration stays", result), Detail: strings.Split(err.Error(), "\n")})
	d.metrics.Reload(result)
	return err
}

// keepRestartOnly keeps the running values of the settings a reload cannot
// change in cfg, the configuration being loaded, so that every later
// reload compares with what is in force, and logs the ones the file
// changed. It returns the warning, "" without one.
func (d *daemon) keepRestartOnly(cfg *conf.Config) string {
	o, n := &d.cfg.Global, &cfg.Global
	var changed []string
	for _, s := range []struct {
		key      string
		old, new *string
	}{
		{"control_socket", &o.ControlSocket, &n.ControlSocket},
		{"state_dir", &o.StateDir, &n.StateDir},
		{"metrics_address", o.MetricsAddress, n.MetricsAddress},
		{"net_namespace", &o.NetNamespace, &n.NetNamespace},
	} {
		if *s.old != *s.new {
			changed = append(changed, fmt.Sprintf("%s %q (running: %q)", s.key, *s.new, *s.old))
			*s.new = *s.old
		}
	}
	if len(changed) == 0 {
		return ""
	}
	msg := "changes only at restart, the running value stays: " + strings.Join(changed, ", ")
	d.log.Warn("lbd: " + msg)
	return msg
}

// stopLimit bounds the whole shutdown: handovers, notify_stop scripts.
const stopLimit = 60 * time.Second

// stop stops every unit (Masters hand over first) and waits for them; a
// second SIGTERM or SIGINT cuts the handovers short.
func (d *daemon) stop(sigs <-chan os.Signal) {
	d.sd.Stopping()
	// Active/active first: the routers move the clients to the other
	// balancers while this one still serves them.
	d.offLoop(func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopLimit/2)
		defer cancel()
		d.drainBGP(ctx)
	})
	for _, r := range d.units {
		r.cancel()
	}
	limit := time.NewTimer(stopLimit)
	defer limit.Stop()
	for _, r := range d.units {
		for waiting := true; waiting; {
			select {
			case <-r.r.Done():
				waiting = false
			case s := <-sigs:
				if s != syscall.SIGHUP {
					d.log.Warn("lbd: second stop signal; releasing addresses now", "signal", s.String())
					for _, r := range d.units {
						r.r.Abort()
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
