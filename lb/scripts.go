package lb

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// ScriptRunner runs notify and quorum scripts. Run must not block: the
// engine calls it from its loop.
type ScriptRunner interface {
	// Run starts argv with env added to the daemon's environment. what
	// names the script in logs, e.g. "notify_down TCP 192.0.2.10:80 192.0.2.15:80".
	Run(what string, argv []string, env []string)
}

// maxQueuedScripts bounds the scripts waiting to run; beyond it new ones
// are refused with an error log, never silently.
const maxQueuedScripts = 4096

// ExecRunner runs scripts one at a time, in the order they were queued
// (keepalived ran them concurrently and out of order, #996), without a
// shell, each bounded by a timeout after which its process group is killed.
type ExecRunner struct {
	timeout time.Duration
	log     *slog.Logger

	mu      sync.Mutex
	queue   []script
	closed  bool
	wake    chan struct{}
	done    chan struct{}
	dropped int
}

type script struct {
	what      string
	argv, env []string
}

// NewExecRunner starts a runner; Close stops it.
func NewExecRunner(timeout time.Duration, log *slog.Logger) *ExecRunner {
	r := &ExecRunner{timeout: timeout, log: log, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go r.loop()
	return r
}

// Run implements ScriptRunner.
func (r *ExecRunner) Run(what string, argv, env []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || len(r.queue) >= maxQueuedScripts {
		r.dropped++
		r.log.Error("script not run: queue full or runner stopped", "script", what, "dropped_total", r.dropped)
		return
	}
	r.queue = append(r.queue, script{what, argv, env})
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *ExecRunner) loop() {
	defer close(r.done)
	for {
		r.mu.Lock()
		if len(r.queue) == 0 {
			closed := r.closed
			r.mu.Unlock()
			if closed {
				return
			}
			<-r.wake
			continue
		}
		s := r.queue[0]
		r.queue = r.queue[1:]
		r.mu.Unlock()
		r.run(s)
	}
}

func (r *ExecRunner) run(s script) {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	cmd := exec.Command(s.argv[0], s.argv[1:]...)
	cmd.Env = append(os.Environ(), s.env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		r.log.Error("script failed to start", "script", s.what, "err", err)
		return
	}
	stop := context.AfterFunc(ctx, func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	err := cmd.Wait()
	if !stop() {
		r.log.Error("script timed out; process group killed", "script", s.what, "timeout", r.timeout)
		return
	}
	if err != nil {
		r.log.Warn("script failed", "script", s.what, "err", err, "took", time.Since(start))
		return
	}
	r.log.Debug("script ran", "script", s.what, "took", time.Since(start))
}

// Close runs what is queued (each still bounded by the timeout), then
// stops; it waits at most wait.
func (r *ExecRunner) Close(wait time.Duration) {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-r.done:
	case <-t.C:
		r.log.Warn("scripts still running at stop", "waited", wait)
	}
}
