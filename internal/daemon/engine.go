package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/ipvs"
	"github.com/lbd-project/lbd/lb"
)

// This file wires the lb engine into the daemon: the kernel it programs,
// the run-time state file, and the VRRP roles it follows.

// StateFile is the name of the run-time state file in global.state_dir.
const StateFile = "runtime.json"

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

// statePath is the run-time state file of cfg.
func statePath(cfg *conf.Config) string {
	return filepath.Join(cfg.Global.StateDir, StateFile)
}

// loadState reads the run-time state file; a missing file is an empty
// state, an unreadable one an error (lbd does not start rather than
// forget run-time real servers silently).
func loadState(path string) (lb.State, error) {
	var st lb.State
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("run-time state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("run-time state %s: %w (fix or remove the file)", path, err)
	}
	return st, nil
}

// saveState writes the run-time state file atomically, creating the
// directory with mode 0700: the state goes to a temporary file in the same
// directory, which is synced and renamed over the old file, then the
// directory is synced so the rename survives a crash. A failure at any
// step up to the rename (typically a full disk, ENOSPC) leaves the old
// file untouched and no temporary file behind, and the error names the
// state file and the cause, for the operator who reads it in ipvsctl's
// answer or the log.
func saveState(path string, st lb.State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(path, append(b, '\n')); err != nil {
		return fmt.Errorf("%s: %w", path, cause(err))
	}
	return nil
}

// writeAtomic replaces path with data, as saveState describes.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // a no-op once renamed
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	// tmpfs and most file systems report ENOSPC at write; some (NFS,
	// delayed allocation) only at sync or close, so both are checked.
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	// Best effort: the new file is in place, so an error here must not
	// make the caller undo a change the file already records (some file
	// systems refuse fsync on a directory).
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// cause strips the operation and the temporary file's name from a file
// system error ("write /var/lib/lbd/.runtime.json.123: no space left on
// device"), which would only confuse: the caller names the state file.
// The errno stays wrapped for errors.Is.
func cause(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return pe.Err
	case errors.As(err, &le):
		return le.Err
	}
	return err
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
	path := statePath(cfg)
	st, err := loadState(path)
	if err != nil {
		closer.Close()
		return err
	}
	opts := lb.Options{
		Kernel:     k,
		Logger:     d.log,
		NewChecker: d.metrics.checkerFactory(d.newChecker),
		State:      st,
		SaveState:  func(st lb.State) error { return saveState(path, st) },
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
