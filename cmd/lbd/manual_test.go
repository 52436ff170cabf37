package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var manualSections = []string{"NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", "SIGNALS", "FILES",
	"EXIT STATUS", "EXAMPLES", "SEE ALSO"}

// manualBody splits manual into its sections (a heading is a line of
// capitals at the start of the line) and returns their names in order.
func manualBody() ([]string, map[string]string) {
	heading := regexp.MustCompile(`^[A-Z][A-Z ]*$`)
	var names []string
	body := map[string]string{}
	cur := ""
	for line := range strings.SplitSeq(manual, "\n") {
		if heading.MatchString(line) {
			cur = line
			names = append(names, cur)
			continue
		}
		body[cur] += line + "\n"
	}
	return names, body
}

func TestManual(t *testing.T) {
	names, body := manualBody()
	if !slices.Equal(names, manualSections) {
		t.Errorf("sections %q, want %q", names, manualSections)
	}
	for _, n := range manualSections {
		if strings.TrimSpace(body[n]) == "" {
			t.Errorf("section %s is empty", n)
		}
	}
	for i, line := range strings.Split(manual, "\n") {
		if len(line) > 80 {
			t.Errorf("manual line %d is %d columns wide: %q", i+1, len(line), line)
		}
	}
	// Help is asked for in every way lbd and its commands accept; it goes to
	// stdout and succeeds.
	for _, args := range [][]string{{"-h"}, {"--help"}, {"-help"}, {"help"}, {"-t", "-h"}, {"plan", "-h"}, {"plan", "--help"}, {"release", "-h"}} {
		var out, errs bytes.Buffer
		code := run(context.Background(), args, &out, &errs)
		if code != exitOK || out.String() != manual || errs.Len() > 0 {
			t.Errorf("lbd %q: exit %d, stderr %q, stdout starts %.40q", args, code, errs.String(), out.String())
		}
	}
	// A bad command line: the reason and the short usage on stderr.
	for _, args := range [][]string{{"-bogus"}, {"--f"}, {"extra"}, {"plan", "-x"}, {"plan", "extra"}, {"release", "extra"}} {
		var out, errs bytes.Buffer
		code := run(context.Background(), args, &out, &errs)
		if code != exitUsage || out.Len() > 0 || !strings.HasSuffix(errs.String(), usageLines) ||
			errs.String() == usageLines || strings.Contains(errs.String(), "SYNOPSIS") {
			t.Errorf("lbd %q: exit %d, stdout %q, stderr %q", args, code, out.String(), errs.String())
		}
	}
}

// TestManualDocumentsEveryOption checks OPTIONS against the parsers of
// lbd, lbd plan and lbd release themselves: each flag they define has an
// entry. (TestManualDocumentsSubcommandOptions checks doctor's and the
// keepalived migration's.)
func TestManualDocumentsEveryOption(t *testing.T) {
	_, body := manualBody()
	main, _ := lbdFlags(io.Discard)
	plan, _, _ := planFlags(io.Discard)
	release, _ := releaseFlags(io.Discard)
	n := 0
	for _, fs := range []*flag.FlagSet{main, plan, release} {
		fs.VisitAll(func(f *flag.Flag) {
			n++
			entry := regexp.MustCompile(`(?m)^ {7}-` + regexp.QuoteMeta(f.Name) + `( |$)`)
			if !entry.MatchString(body["OPTIONS"]) {
				t.Errorf("OPTIONS lacks %s's -%s", fs.Name(), f.Name)
			}
			if !strings.Contains(body["SYNOPSIS"], "-"+f.Name) {
				t.Errorf("SYNOPSIS lacks %s's -%s", fs.Name(), f.Name)
			}
		})
	}
	if n < 6 {
		t.Errorf("only %d flags found in the parsers", n)
	}
}

// TestManualDocumentsSubcommandOptions checks that lbd's manual documents
// every option of the subcommands dispatched here, taking their list from
// the subcommands' own parsers: each prints its flags (flag.PrintDefaults)
// for -h.
func TestManualDocumentsSubcommandOptions(t *testing.T) {
	_, options, _ := strings.Cut(manual, "\nOPTIONS\n")
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
			if !regexp.MustCompile(`lbd ` + sub + ` .*-` + regexp.QuoteMeta(f[1])).MatchString(manual) {
				t.Errorf("the manual's SYNOPSIS lacks -%s of lbd %s", f[1], sub)
			}
		}
	}
}
