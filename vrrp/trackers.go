package vrrp

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lbd-project/lbd/internal/safefile"
	"github.com/lbd-project/lbd/internal/script"
)

// This file holds the trackers: goroutines that watch a member's links,
// vrrp_scripts and track files and only deliver events to the loop.

// FaultLinkDown is the fault source of an instance whose interface is down.
const FaultLinkDown = "link down"

// fileInterval is how often a track_file is read.
const fileInterval = 200 * time.Millisecond

// TrackedLink is a track_interface entry: the vrrp.Track named Track
// follows Interface.
type TrackedLink struct{ Track, Interface string }

// TrackedFile is a track_file entry: the vrrp.Track named Track reads the
// number in Path.
type TrackedFile struct{ Track, Path string }

// TrackedScript is a vrrp_script as one instance tracks it.
type TrackedScript struct {
	Track    string // name of the vrrp.Track
	Name     string
	Args     []string
	Interval time.Duration
	Timeout  time.Duration
	Rise     int
	Fall     int
	InitFail bool
	User     string
}

// startTrackers starts the goroutines that watch each member's links,
// vrrp_scripts and track files, until ctx ends.
func (r *Runner) startTrackers(ctx context.Context) {
	for _, m := range r.members {
		i := m.idx
		if err := r.cfg.Host.WatchLink(ctx, m.cfg.Interface, func(up bool) {
			var ev Event = Recover{Source: FaultLinkDown}
			if !up {
				ev = Fault{Source: FaultLinkDown}
			}
			r.deliver(ctx, i, ev)
		}); err != nil {
			m.log.Error("vrrp: cannot watch the interface", "iface", m.cfg.Interface, "err", err)
		}
		for _, t := range m.cfg.TrackInterfaces {
			if err := r.cfg.Host.WatchLink(ctx, t.Interface, func(up bool) {
				m.log.Info("vrrp: tracked interface", "iface", t.Interface, "up", up)
				r.deliver(ctx, i, TrackChanged{Name: t.Track, Status: TrackStatus{Up: up}})
			}); err != nil {
				m.log.Error("vrrp: cannot watch tracked interface; counting it down", "iface", t.Interface, "err", err)
				go r.deliver(ctx, i, TrackChanged{Name: t.Track, Status: TrackStatus{Up: false}})
			}
		}
		for _, s := range m.cfg.Scripts {
			go r.runScript(ctx, m, s)
		}
		for _, f := range m.cfg.Files {
			go r.watchFile(ctx, m, f)
		}
	}
}

// hysteresis is keepalived's rise/fall: a check changes state after rise
// consecutive successes or fall consecutive failures.
type hysteresis struct {
	up         bool
	rise, fall int
	count      int // consecutive results against the current state
}

// add records one result and reports whether the state changed.
func (h *hysteresis) add(ok bool) bool {
	if ok == h.up {
		h.count = 0
		return false
	}
	h.count++
	need := h.fall
	if ok {
		need = h.rise
	}
	if h.count < max(need, 1) {
		return false
	}
	h.up, h.count = ok, 0
	return true
}

// runScript runs a vrrp_script every interval with script.Run (no shell,
// own process group, killed with its children at the timeout) and reports
// state changes. It starts as succeeded, or as failed with init_fail, as
// keepalived does; a script that cannot run at all counts as failed.
func (r *Runner) runScript(ctx context.Context, m *member, s TrackedScript) {
	log := m.log.With("script", s.Name)
	spec := script.Spec{Argv: s.Args, User: s.User, Timeout: s.Timeout}
	if err := script.Check(spec); err != nil {
		log.Error("vrrp: script cannot run; counting it failed", "err", err)
		r.deliver(ctx, m.idx, TrackChanged{Name: s.Track, Status: TrackStatus{Up: false}})
		return
	}
	h := hysteresis{up: !s.InitFail, rise: s.Rise, fall: s.Fall}
	for {
		res := script.Run(ctx, spec)
		if ctx.Err() != nil {
			return
		}
		if h.add(res.OK()) {
			log.Info("vrrp: script state change", "up", h.up, "result", res.String())
			r.deliver(ctx, m.idx, TrackChanged{Name: s.Track, Status: TrackStatus{Up: h.up}})
		} else if !res.OK() {
			log.Debug("vrrp: script failed", "result", res.String())
		}
		if !sleep(ctx, r.clock, s.Interval) {
			return
		}
	}
}

// watchFile reads a track_file every fileInterval and reports a changed
// number (keepalived track_file: the number times the weight is added to
// the priority; with weight 0 a non-zero number is a fault). The first
// read is reported too; it is done here, never on the runner's start
// path, so that no file can hold an instance in INIT.
func (r *Runner) watchFile(ctx context.Context, m *member, f TrackedFile) {
	last, lastErr := ReadTrackFile(f.Path)
	if lastErr != nil {
		m.log.Warn("vrrp: track file unreadable; counting 0", "file", f.Path, "err", lastErr)
	}
	r.deliver(ctx, m.idx, TrackChanged{Name: f.Track, Status: TrackStatus{Value: last}})
	t := newTicker(r.clock, fileInterval)
	defer t.stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		v, err := ReadTrackFile(f.Path)
		if (err != nil) != (lastErr != nil) {
			if err != nil {
				m.log.Warn("vrrp: track file unreadable; counting 0", "file", f.Path, "err", err)
			}
			lastErr = err
		}
		if v != last {
			last = v
			m.log.Info("vrrp: track file changed", "file", f.Path, "value", v)
			r.deliver(ctx, m.idx, TrackChanged{Name: f.Track, Status: TrackStatus{Value: v}})
		}
	}
}

// maxTrackFile bounds what is read of a track file: the value is one
// number.
const maxTrackFile = 64

// ReadTrackFile reads the number in a track file, as keepalived: the first
// field as a decimal integer; a missing, empty or non-numeric file is 0.
// Others write these files, so it reads them the safe way (package
// safefile): a FIFO, a device or a symbolic link is an error (and 0), and
// only the first bytes of a huge file are read.
func ReadTrackFile(path string) (int, error) {
	b, err := safefile.ReadPrefix(path, maxTrackFile)
	if err != nil {
		return 0, err
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return 0, nil
	}
	v, err := strconv.Atoi(fields[0])
	if err != nil {
		return 0, fmt.Errorf("%s: the first field is not a number", path)
	}
	return v, nil
}
