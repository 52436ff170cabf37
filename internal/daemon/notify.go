package daemon

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lbd-project/lbd/healthcheck"
)

// notifyQueueLen bounds the notify scripts waiting to run for one unit.
const notifyQueueLen = 64

// notifyJob is one notify script run.
type notifyJob struct {
	argv []string
	what string // for logs: "instance VI_1 MASTER"
}

// notifyQueue runs a unit's notify scripts one after the other, in the
// order of the state changes, each without a shell and bounded by
// notify_timeout (then its process group is killed). Pushing never blocks
// the state machine: a full queue drops the job and says so.
type notifyQueue struct {
	log     *slog.Logger
	timeout *atomic.Int64
	jobs    chan notifyJob
	done    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
}

func newNotifyQueue(log *slog.Logger, timeout *atomic.Int64) *notifyQueue {
	q := &notifyQueue{log: log, timeout: timeout, jobs: make(chan notifyJob, notifyQueueLen), done: make(chan struct{})}
	q.ctx, q.cancel = context.WithCancel(context.Background())
	go q.run()
	return q
}

func (q *notifyQueue) push(j notifyJob) {
	select {
	case q.jobs <- j:
	default:
		q.log.Error("vrrp: notify queue full; script not run", "notify", j.what, "script", strings.Join(j.argv, " "))
	}
}

func (q *notifyQueue) run() {
	defer close(q.done)
	for j := range q.jobs {
		if q.ctx.Err() != nil {
			q.log.Warn("vrrp: notify script skipped at shutdown", "notify", j.what)
			continue
		}
		q.exec(j)
	}
}

func (q *notifyQueue) exec(j notifyJob) {
	timeout := time.Duration(q.timeout.Load())
	chk, err := healthcheck.NewMiscChecker(healthcheck.MiscOptions{Args: j.argv})
	if err != nil {
		q.log.Error("vrrp: notify script cannot run", "notify", j.what, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(q.ctx, timeout)
	defer cancel()
	res := chk.Check(ctx)
	if !res.OK {
		q.log.Warn("vrrp: notify script failed", "notify", j.what, "script", strings.Join(j.argv, " "), "result", res.Reason)
		return
	}
	q.log.Info("vrrp: notify script done", "notify", j.what, "script", strings.Join(j.argv, " "), "took", res.Latency.Round(time.Millisecond))
}

// close runs what is queued (each script still bounded by notify_timeout)
// for at most notify_timeout plus a second, then kills the one running and
// skips the rest.
func (q *notifyQueue) close() {
	close(q.jobs)
	limit := time.Duration(q.timeout.Load()) + time.Second
	select {
	case <-q.done:
	case <-time.After(limit):
		q.cancel()
		<-q.done
	}
	q.cancel()
}
