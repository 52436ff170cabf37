package ipvsctl

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/lbd-project/lbd/internal/control"
)

var manualSections = []string{"NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", "EXIT STATUS", "EXAMPLES", "SEE ALSO"}

// helpSections runs "ipvsctl help" and splits its output into sections (a
// heading is a line of capitals at the start of the line).
func helpSections(t *testing.T) ([]string, map[string]string) {
	t.Helper()
	r := runWith(t, "", nil, "help")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("help: exit %d, stderr %q", r.code, r.stderr)
	}
	heading := regexp.MustCompile(`^[A-Z][A-Z ]*$`)
	var names []string
	body := map[string]string{}
	cur := ""
	for line := range strings.SplitSeq(r.stdout, "\n") {
		if heading.MatchString(line) {
			cur = line
			names = append(names, cur)
			continue
		}
		if len(line) > 80 {
			t.Errorf("help line is %d columns wide: %q", len(line), line)
		}
		body[cur] += line + "\n"
	}
	return names, body
}

func TestHelpManual(t *testing.T) {
	names, body := helpSections(t)
	if !slices.Equal(names, manualSections) {
		t.Errorf("sections %q, want %q", names, manualSections)
	}
	for _, n := range manualSections {
		if strings.TrimSpace(body[n]) == "" {
			t.Errorf("section %s is empty", n)
		}
	}
	if !strings.Contains(body["OPTIONS"], "Default: "+control.DefaultPath+".") {
		t.Errorf("OPTIONS lacks the default socket:\n%s", body["OPTIONS"])
	}
	if r := runWith(t, "", nil, "help", "x"); r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "Usage: ipvsctl help") {
		t.Errorf("help x: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
}

// TestHelpDocumentsEverything checks the manual against the parsers'
// tables: every subcommand (the subcommands map, plus ipvsadm's "diff")
// has an entry in COMMANDS and a line in SYNOPSIS, and every option of
// ownOptions an entry in OPTIONS, with its value.
func TestHelpDocumentsEverything(t *testing.T) {
	_, body := helpSections(t)
	names := append(slices.Sorted(maps.Keys(subcommands)), "diff")
	for _, name := range names {
		if !regexp.MustCompile(`(?m)^ {7}` + name + `( |$)`).MatchString(body["COMMANDS"]) {
			t.Errorf("COMMANDS lacks %s", name)
		}
		if !regexp.MustCompile(`(?m)^ {7}ipvsctl .*\b` + name + `\b`).MatchString(body["SYNOPSIS"]) {
			t.Errorf("SYNOPSIS lacks %s", name)
		}
	}
	for name, o := range ownOptions {
		entry := name
		if o.value != "" {
			entry += " " + o.value
		}
		if !regexp.MustCompile(`(?m)^ {7}` + regexp.QuoteMeta(entry) + `$`).MatchString(body["OPTIONS"]) {
			t.Errorf("OPTIONS lacks %q", entry)
		}
		if !strings.Contains(body["SYNOPSIS"], entry) {
			t.Errorf("SYNOPSIS lacks %q", entry)
		}
	}
}
