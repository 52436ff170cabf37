package main

import (
	"bytes"
	"context"
	"flag"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// complete runs "lbd __complete LINE".
func complete(t *testing.T, line string) []string {
	t.Helper()
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"__complete", line}, &out, &errs); code != exitOK || errs.Len() > 0 {
		t.Fatalf("__complete %q: exit %d, stderr %q", line, code, errs.String())
	}
	return strings.Fields(out.String())
}

// TestCompletionOffersTheManual checks the completion against the manual
// and the parsers: every command of the SYNOPSIS is offered first, and
// every flag each command parses is offered after it.
func TestCompletionOffersTheManual(t *testing.T) {
	first := complete(t, "lbd ")
	_, body := manualBody()
	for _, m := range regexp.MustCompile(`(?m)^ +lbd ([a-z][a-z-]+)`).FindAllStringSubmatch(body["SYNOPSIS"], -1) {
		if !slices.Contains(first, m[1]) {
			t.Errorf("SYNOPSIS has %q, the completion offers %q", m[1], first)
		}
	}
	for sub, newFS := range subcommandFlags {
		if newFS == nil {
			continue
		}
		got := complete(t, "lbd "+sub+" -")
		newFS().VisitAll(func(f *flag.Flag) {
			if !slices.Contains(got, "-"+f.Name) {
				t.Errorf("lbd %s: -%s not offered (%q)", sub, f.Name, got)
			}
		})
	}
	main, _ := lbdFlags(nil)
	main.VisitAll(func(f *flag.Flag) {
		if !slices.Contains(first, "-"+f.Name) {
			t.Errorf("lbd: -%s not offered", f.Name)
		}
	})
}

func TestCompletionValues(t *testing.T) {
	for line, want := range map[string][]string{
		"lbd -log-level ":             {"debug", "error", "info", "warn"},
		"lbd -f /etc/lbd.yaml -log-f": {"-log-format"},
		"lbd -log-format j":           {"json"},
		"lbd completion ":             {"bash"},
		"lbd doctor -f ":              nil, // a file: bash completes it
		"lbd import-keepalived -o ":   nil,
		"lbd pl":                      {"plan"},
	} {
		if got := complete(t, line); !slices.Equal(got, want) {
			t.Errorf("%q: %q, want %q", line, got, want)
		}
	}
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"completion", "bash"}, &out, &errs); code != exitOK ||
		!strings.Contains(out.String(), "complete -o default -F _lbd_complete lbd") {
		t.Errorf("completion bash: exit %d\n%s", code, out.String())
	}
	if code := run(context.Background(), []string{"completion"}, &out, &errs); code != exitUsage {
		t.Errorf("completion without a shell: exit %d", code)
	}
}
