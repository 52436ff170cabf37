package daemon

import (
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/lbd-project/lbd/internal/script"
)

// notifyQueueLen bounds the notify scripts waiting to run for one unit.
const notifyQueueLen = 64

// notifyJob is one notify script run.
type notifyJob struct {
	argv []string
	what string // for logs: "instance VI_1 MASTER"
}

// notifyQueue runs a unit's notify scripts one after the other, in the
// order of the state changes, on a script.Queue, each bounded by the
// notify_timeout of the moment it is queued (a reload changes it live).
type notifyQueue struct {
	q       *script.Queue
	timeout *atomic.Int64
}

func newNotifyQueue(log *slog.Logger, timeout *atomic.Int64) *notifyQueue {
	return &notifyQueue{q: script.NewQueue(script.QueueConfig{Len: notifyQueueLen, Log: log}), timeout: timeout}
}

func (q *notifyQueue) push(j notifyJob) {
	q.q.Push(j.what, script.Spec{Argv: j.argv, Timeout: time.Duration(q.timeout.Load())})
}

// close runs what is queued for at most notify_timeout plus a second,
// then kills the one running and skips the rest.
func (q *notifyQueue) close() {
	q.q.Close(time.Duration(q.timeout.Load()) + time.Second)
}
