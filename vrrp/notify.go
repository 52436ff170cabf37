package vrrp

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/lbd-project/lbd/healthcheck"
)

// notifyQueueLen bounds the notify scripts waiting to run for one runner.
const notifyQueueLen = 64

// notifyJob is one notify script run.
type notifyJob struct {
	argv []string
	what string // for logs: "instance VI_1 MASTER"
}

// notifyQueue runs a runner's notify scripts one after the other, in the
// order of the state changes, each bounded by the notify timeout. Pushing
// never blocks the state machines: a full queue drops the job and says so.
type notifyQueue struct {
	log     *slog.Logger
	timeout func() time.Duration
	jobs    chan notifyJob
	done    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
}

func newNotifyQueue(log *slog.Logger, timeout func() time.Duration) *notifyQueue {
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
	chk, err := healthcheck.NewMiscChecker(healthcheck.MiscOptions{Args: j.argv})
	if err != nil {
		q.log.Error("vrrp: notify script cannot run", "notify", j.what, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(q.ctx, q.timeout())
	defer cancel()
	res := chk.Check(ctx)
	if !res.OK {
		q.log.Warn("vrrp: notify script failed", "notify", j.what, "script", strings.Join(j.argv, " "), "result", res.Reason)
		return
	}
	q.log.Info("vrrp: notify script done", "notify", j.what, "script", strings.Join(j.argv, " "), "took", res.Latency.Round(time.Millisecond))
}

// close runs what is queued (each script still bounded by the timeout)
// for at most the timeout plus a second, then kills the one running and
// skips the rest.
func (q *notifyQueue) close() {
	close(q.jobs)
	select {
	case <-q.done:
	case <-time.After(q.timeout() + time.Second):
		q.cancel()
		<-q.done
	}
	q.cancel()
}

// runTrackScript runs a vrrp_script once, bounded by its timeout.
func runTrackScript(ctx context.Context, s TrackedScript) (ok bool, reason string) {
	chk, err := healthcheck.NewMiscChecker(healthcheck.MiscOptions{Args: s.Args, User: s.User})
	if err != nil {
		return false, err.Error()
	}
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	res := chk.Check(ctx)
	return res.OK, res.Reason
}

// notifyInstance queues the notify scripts of one instance state.
func (r *Runner) notifyInstance(m *member, s State) {
	n := m.cfg.Notify
	var script []string
	switch s {
	case StateMaster:
		script = n.Master
	case StateBackup:
		script = n.Backup
	case StateFault:
		script = n.Fault
	case StateInit:
		script = n.Stop
	}
	name := notifyStateName(s)
	what := "instance " + m.cfg.Name() + " " + name
	if len(script) > 0 {
		r.notify.push(notifyJob{argv: script, what: what})
	}
	if len(n.Generic) > 0 {
		argv := append(slices.Clone(n.Generic), "INSTANCE", m.cfg.Name(), name, fmt.Sprint(m.inst.Priority()))
		r.notify.push(notifyJob{argv: argv, what: what})
	}
}

// groupState runs the sync group's notify when the group's state moved.
func (r *Runner) groupState() {
	if r.group == nil || r.notify == nil {
		return
	}
	if slices.ContainsFunc(r.members, func(m *member) bool { return m.holding }) {
		return // reported once the handover is over
	}
	s := r.group.State()
	if s == r.gstate {
		return
	}
	r.gstate = s
	r.log.Info("vrrp: sync group state change", "state", s)
	if len(r.cfg.GroupNotify) > 0 {
		argv := append(slices.Clone(r.cfg.GroupNotify), "GROUP", r.cfg.Group, notifyStateName(s))
		r.notify.push(notifyJob{argv: argv, what: "group " + r.cfg.Group + " " + notifyStateName(s)})
	}
}

// notifyStateName is keepalived's name of a state in notify arguments.
func notifyStateName(s State) string {
	if s == StateInit {
		return "STOP"
	}
	return s.String()
}
