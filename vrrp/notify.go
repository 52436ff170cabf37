package vrrp

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/lbd-project/lbd/internal/script"
)

// notifyQueueLen bounds the notify scripts waiting to run for one runner.
const notifyQueueLen = 64

// notifyJob is one notify script run.
type notifyJob struct {
	argv []string
	what string // for logs: "instance VI_1 MASTER"
}

// notifyQueue runs a runner's notify scripts one after the other, in the
// order of the state changes, on a script.Queue (no shell, own process
// group, clean environment), each bounded by the notify timeout and run
// as the user of the moment it is queued (a reload changes them live). Pushing never blocks
// the state machines: a full queue drops the job and says so.
type notifyQueue struct {
	q       *script.Queue
	options func() NotifyOptions
}

func newNotifyQueue(log *slog.Logger, options func() NotifyOptions) *notifyQueue {
	return &notifyQueue{q: script.NewQueue(script.QueueConfig{Len: notifyQueueLen, Log: log}), options: options}
}

func (q *notifyQueue) push(j notifyJob) {
	o := q.options()
	q.q.Push(j.what, script.Spec{Argv: j.argv, Timeout: o.Timeout, User: o.User})
}

// close runs what is queued for at most the timeout plus a second, then
// kills the one running and skips the rest.
func (q *notifyQueue) close() { q.q.Close(q.options().Timeout + time.Second) }

// forState returns the script of state s (notify_master, notify_backup,
// notify_fault or notify_stop), or nil.
func (n NotifyScripts) forState(s State) []string {
	switch s {
	case StateMaster:
		return n.Master
	case StateBackup:
		return n.Backup
	case StateFault:
		return n.Fault
	case StateInit:
		return n.Stop
	}
	return nil
}

// push queues n's scripts for state s of the instance or group name:
// the state's own, then the generic notify with keepalived's arguments
// (kind name state, and for an instance its priority).
func (q *notifyQueue) pushScripts(n NotifyScripts, kind, name string, s State, extra ...string) {
	what := strings.ToLower(kind) + " " + name + " " + notifyStateName(s)
	if script := n.forState(s); len(script) > 0 {
		q.push(notifyJob{argv: script, what: what})
	}
	if len(n.Generic) > 0 {
		argv := append(slices.Clone(n.Generic), kind, name, notifyStateName(s))
		q.push(notifyJob{argv: append(argv, extra...), what: what})
	}
}

// notifyInstance queues the notify scripts of one instance state.
func (r *Runner) notifyInstance(m *member, s State) {
	r.notify.pushScripts(m.cfg.Notify, "INSTANCE", m.cfg.Name(), s, fmt.Sprint(m.inst.Priority()))
}

// groupState runs the sync group's notify scripts when the group's state
// moved.
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
	r.notify.pushScripts(r.cfg.GroupNotify, "GROUP", r.cfg.Group, s)
}

// notifyStateName is keepalived's name of a state in notify arguments.
func notifyStateName(s State) string {
	if s == StateInit {
		return "STOP"
	}
	return s.String()
}
