package bgp

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	gobgplog "github.com/osrg/gobgp/v3/pkg/log"
)

// logAdapter puts gobgp's logger onto slog at reduced verbosity and hands
// every message to observe first: some of gobgp's debug messages are the
// only report of what it did on the wire (an UPDATE written to a peer's
// socket, a failed connection attempt), and the speaker counts them.
//
// gobgp's Info is routine chatter (configuration echoes, timers) and goes
// to slog's Debug, except sessions going up or down; its Debug is never
// logged. Its Panic and Fatal report invariant failures inside gobgp and
// are logged as errors: a balancer must not exit over its BGP library.
type logAdapter struct {
	log     *slog.Logger
	observe func(msg string, fields gobgplog.Fields)
}

// gobgp messages worth an operator's attention at Info.
var infoMessages = map[string]bool{"Peer Up": true, "Peer Down": true}

func (a *logAdapter) emit(level slog.Level, msg string, fields gobgplog.Fields) {
	a.observe(msg, fields)
	ctx := context.Background()
	if !a.log.Enabled(ctx, level) {
		return
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		if k != "Topic" && k != gobgplog.FieldFacility {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	attrs := make([]slog.Attr, 0, len(keys))
	for _, k := range keys {
		attrs = append(attrs, slog.String(k, fmt.Sprint(fields[k])))
	}
	a.log.LogAttrs(ctx, level, "gobgp: "+msg, attrs...)
}

func (a *logAdapter) Panic(msg string, f gobgplog.Fields) { a.emit(slog.LevelError, msg, f) }
func (a *logAdapter) Fatal(msg string, f gobgplog.Fields) { a.emit(slog.LevelError, msg, f) }
func (a *logAdapter) Error(msg string, f gobgplog.Fields) { a.emit(slog.LevelError, msg, f) }
func (a *logAdapter) Warn(msg string, f gobgplog.Fields)  { a.emit(slog.LevelWarn, msg, f) }

func (a *logAdapter) Info(msg string, f gobgplog.Fields) {
	level := slog.LevelDebug
	if infoMessages[msg] {
		level = slog.LevelInfo
	}
	a.emit(level, msg, f)
}

// Debug is observed, never logged.
func (a *logAdapter) Debug(msg string, f gobgplog.Fields) { a.observe(msg, f) }

// SetLevel is ignored: the level is slog's business.
func (a *logAdapter) SetLevel(gobgplog.LogLevel) {}

// GetLevel says Debug so gobgp reports the messages the speaker counts
// (it builds some only at that level).
func (a *logAdapter) GetLevel() gobgplog.LogLevel { return gobgplog.DebugLevel }
