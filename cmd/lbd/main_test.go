package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/lbd-project/lbd/internal/daemon"
)

// TestManualDocumentsSubcommandOptions checks that lbd's manual documents
// every option of the subcommands dispatched here, taking their list from
// the subcommands' own parsers: each prints its flags (flag.PrintDefaults)
// for -h.
func TestManualDocumentsSubcommandOptions(t *testing.T) {
	_, options, _ := strings.Cut(daemon.Manual, "\nOPTIONS\n")
	options, _, _ = strings.Cut(options, "\nSIGNALS\n")
	flagLine := regexp.MustCompile(`(?m)^  -(\S+)`)
	for _, sub := range []string{"doctor", "import-keepalived", "export-keepalived"} {
		var out, errs bytes.Buffer
		run(context.Background(), []string{sub, "-h"}, &out, &errs)
		flags := flagLine.FindAllStringSubmatch(out.String()+errs.String(), -1)
		if len(flags) == 0 {
			t.Errorf("lbd %s -h lists no flags: %q", sub, out.String()+errs.String())
		}
		for _, f := range flags {
			entry := regexp.MustCompile(`(?m)^ {7}-` + regexp.QuoteMeta(f[1]) + `( |$)`)
			if !entry.MatchString(options) {
				t.Errorf("the manual's OPTIONS lacks -%s of lbd %s", f[1], sub)
			}
			if !regexp.MustCompile(`lbd ` + sub + ` .*-` + regexp.QuoteMeta(f[1])).MatchString(daemon.Manual) {
				t.Errorf("the manual's SYNOPSIS lacks -%s of lbd %s", f[1], sub)
			}
		}
	}
}
