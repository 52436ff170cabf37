package lb

import "github.com/lbd-project/lbd/internal/script"

// ScriptRunner runs notify and quorum scripts; a *script.Queue is one.
// Push must not block: the engine calls it from its loop.
type ScriptRunner interface {
	// Push queues s; what names it in logs, e.g.
	// "notify_down TCP 192.0.2.10:80 192.0.2.15:80".
	Push(what string, s script.Spec) bool
}

// maxQueuedScripts bounds the scripts waiting to run; beyond it new ones
// are dropped with an error log, never silently.
const maxQueuedScripts = 4096
