package daemon

import (
	"context"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lbd-project/lbd/internal/script"
	"github.com/lbd-project/lbd/vrrp"
)

// fileInterval is how often a track_file is read.
const fileInterval = 200 * time.Millisecond

// startTrackers starts the goroutines that watch each member's links,
// vrrp_scripts and track files, until ctx ends.
func (u *unit) startTrackers(ctx context.Context) {
	for _, m := range u.members {
		i := m.idx
		if err := u.env.host.watchLink(ctx, m.spec.Interface, func(up bool) {
			var ev vrrp.Event = vrrp.Recover{Source: faultLinkDown}
			if !up {
				ev = vrrp.Fault{Source: faultLinkDown}
			}
			u.deliver(ctx, i, ev)
		}); err != nil {
			m.log.Error("vrrp: cannot watch the interface", "iface", m.spec.Interface, "err", err)
		}
		for _, t := range m.spec.TrackInterfaces {
			if err := u.env.host.watchLink(ctx, t.Interface, func(up bool) {
				m.log.Info("vrrp: tracked interface", "iface", t.Interface, "up", up)
				u.deliver(ctx, i, vrrp.TrackChanged{Name: t.Track, Status: vrrp.TrackStatus{Up: up}})
			}); err != nil {
				m.log.Error("vrrp: cannot watch tracked interface; counting it down", "iface", t.Interface, "err", err)
				go u.deliver(ctx, i, vrrp.TrackChanged{Name: t.Track, Status: vrrp.TrackStatus{Up: false}})
			}
		}
		for _, s := range m.spec.Scripts {
			go u.runScript(ctx, m, s)
		}
		for _, f := range m.spec.Files {
			go u.watchFile(ctx, m, f)
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
// state changes. It starts as succeeded, or as failed with
// init_fail, as keepalived does.
func (u *unit) runScript(ctx context.Context, m *member, s scriptSpec) {
	log := m.log.With("script", s.Name)
	spec := script.Spec{Argv: s.Args, User: s.User, Timeout: s.Timeout}
	if err := script.Check(spec); err != nil {
		log.Error("vrrp: script cannot run; counting it failed", "err", err)
		u.deliver(ctx, m.idx, vrrp.TrackChanged{Name: s.Track, Status: vrrp.TrackStatus{Up: false}})
		return
	}
	h := hysteresis{up: !s.InitFail, rise: s.Rise, fall: s.Fall}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res := script.Run(ctx, spec)
		if ctx.Err() != nil {
			return
		}
		if h.add(res.OK()) {
			log.Info("vrrp: script state change", "up", h.up, "result", res.String())
			u.deliver(ctx, m.idx, vrrp.TrackChanged{Name: s.Track, Status: vrrp.TrackStatus{Up: h.up}})
		} else if !res.OK() {
			log.Debug("vrrp: script failed", "result", res.String())
		}
		t.Reset(s.Interval)
	}
}

// watchFile reads a track_file every fileInterval and reports a changed
// number (keepalived track_file: the number times the weight is added to
// the priority; with weight 0 a non-zero number is a fault).
func (u *unit) watchFile(ctx context.Context, m *member, f trackedFile) {
	last, lastErr := readTrackFile(f.Path)
	t := time.NewTicker(fileInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		v, err := readTrackFile(f.Path)
		if (err != nil) != (lastErr != nil) {
			if err != nil {
				m.log.Warn("vrrp: track file unreadable; counting 0", "file", f.Path, "err", err)
			}
			lastErr = err
		}
		if v != last {
			last = v
			m.log.Info("vrrp: track file changed", "file", f.Path, "value", v)
			u.deliver(ctx, m.idx, vrrp.TrackChanged{Name: f.Track, Status: vrrp.TrackStatus{Value: v}})
		}
	}
}

// readTrackFile reads the number in a track file, as keepalived: the first
// field as a decimal integer; a missing, empty or non-numeric file is 0.
func readTrackFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return 0, nil
	}
	v, err := strconv.Atoi(fields[0])
	if err != nil {
		return 0, err
	}
	return v, nil
}
