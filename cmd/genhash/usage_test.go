package main

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/lbd-project/lbd/internal/version"
)

// manSections are the sections of genhash's manual, in order.
var manSections = []string{"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES", "SEE ALSO"}

// sections splits a manual into its sections: a heading is a line in
// capitals at the start of the line.
func sections(text string) (names []string, body map[string]string) {
	body = map[string]string{}
	heading := regexp.MustCompile(`^[A-Z][A-Z ]*$`)
	cur := ""
	for line := range strings.SplitSeq(text, "\n") {
		if heading.MatchString(line) {
			cur = line
			names = append(names, cur)
			continue
		}
		body[cur] += line + "\n"
	}
	return names, body
}

func TestHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "-vh"} {
		out, errOut, code := runOurs(arg)
		if code != 0 || out != manual || errOut != "" {
			t.Errorf("genhash %s: exit %d, stderr %q, stdout starts %.40q", arg, code, errOut, out)
		}
	}
	names, body := sections(manual)
	if !slices.Equal(names, manSections) {
		t.Errorf("sections %q, want %q", names, manSections)
	}
	for _, name := range manSections {
		if strings.TrimSpace(body[name]) == "" {
			t.Errorf("section %s is empty", name)
		}
	}
	for i, line := range strings.Split(manual, "\n") {
		if len(line) > 80 {
			t.Errorf("manual line %d is %d columns wide: %q", i+1, len(line), line)
		}
	}
}

// optionLine is an option's entry in OPTIONS: "-s, --server ADDRESS".
var optionLine = regexp.MustCompile(`(?m)^ {7}-([A-Za-z]), --([a-z-]+)\b`)

// TestManualDocumentsEveryOption checks OPTIONS against the parser's own
// tables: every option the parser accepts, short and long, has an entry
// that pairs them as the parser does, and every entry is an option the
// parser accepts.
func TestManualDocumentsEveryOption(t *testing.T) {
	_, body := sections(manual)
	documented := map[string]byte{}
	for _, m := range optionLine.FindAllStringSubmatch(body["OPTIONS"], -1) {
		documented[m[2]] = m[1][0]
	}
	for long, short := range longNames {
		if got, ok := documented[long]; !ok || got != short {
			t.Errorf("OPTIONS lacks \"-%c, --%s\"", short, long)
		}
	}
	for long, short := range documented {
		if longNames[long] != short {
			t.Errorf("OPTIONS documents -%c, --%s, which the parser does not accept", short, long)
		}
	}
	// Every short option the parser knows has its long form in longNames,
	// so the check above covers the short ones too.
	for _, c := range []byte(withArg + noArg) {
		found := false
		for _, short := range longNames {
			found = found || short == c
		}
		if !found {
			t.Errorf("short option -%c has no long name", c)
		}
	}
	// The options with a value show it in OPTIONS and SYNOPSIS.
	for long, short := range longNames {
		if strings.IndexByte(withArg, short) < 0 {
			continue
		}
		re := regexp.MustCompile(`(?m)^ {7}-` + string(short) + `, --` + long + ` \S`)
		if !re.MatchString(body["OPTIONS"]) {
			t.Errorf("OPTIONS: -%c, --%s lacks its value", short, long)
		}
	}
}

// TestManualExamplesParse checks that every command of EXAMPLES is a valid
// command line.
func TestManualExamplesParse(t *testing.T) {
	_, body := sections(manual)
	n := 0
	for line := range strings.SplitSeq(body["EXAMPLES"], "\n") {
		args, ok := strings.CutPrefix(strings.TrimSpace(line), "genhash ")
		if !ok {
			continue
		}
		n++
		if _, err := parseArgs(strings.Fields(args)); err != nil {
			t.Errorf("example %q: %v", line, err)
		}
	}
	if n == 0 {
		t.Error("EXAMPLES has no genhash command")
	}
}

// TestBadOption checks that a bad command line prints the reason and the
// short usage on stderr, nothing on stdout, and exits 1.
func TestBadOption(t *testing.T) {
	for _, args := range [][]string{{"-x"}, {"--bogus"}, {"-s", "127.0.0.1", "-p", "80"}, {"-p", "x"}} {
		out, errOut, code := runOurs(args...)
		if code != 1 || out != "" || !strings.Contains(errOut, "Usage: genhash COMMAND [OPTIONS]\n") ||
			strings.Contains(errOut, "SYNOPSIS") {
			t.Errorf("genhash %q: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

// TestProgramName checks that the manual and --version name the program
// as it was called: Debian's package installs it as lbd-genhash, beside
// keepalived's genhash, whose name stays in the manual where it means
// keepalived's.
func TestProgramName(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"/usr/bin/lbd-genhash", "--help"}, &out, &errb); code != 0 {
		t.Fatalf("lbd-genhash --help: exit %d, %s", code, errb.String())
	}
	text := out.String()
	if !strings.HasPrefix(text, "NAME\n       lbd-genhash - ") || !strings.Contains(text, "       lbd-genhash -s 192.0.2.21 -p 80 -u /health\n") {
		t.Errorf("lbd-genhash's manual does not name it:\n%s", text)
	}
	if got := strings.Count(text, "keepalived's genhash"); got != strings.Count(manual, "keepalived's genhash") || got == 0 {
		t.Errorf("lbd-genhash's manual names keepalived's genhash %d times", got)
	}
	for i, line := range strings.Split(text, "\n") {
		if len(line) > 80 {
			t.Errorf("lbd-genhash manual line %d is %d columns wide: %q", i+1, len(line), line)
		}
	}
	for _, prog := range []string{"genhash", "lbd-genhash"} {
		out.Reset()
		code := run(context.Background(), []string{prog, "--version"}, &out, &errb)
		if want := prog + " (lbd " + version.Version + ")\n"; code != 0 || out.String() != want {
			t.Errorf("%s --version: exit %d, %q; want %q", prog, code, out.String(), want)
		}
	}
}
