package completion

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		line  string
		words []string
		cur   string
	}{
		{"ipvsctl ", []string{"ipvsctl"}, ""},
		{"ipvsctl -t 192.0.2.1:8", []string{"ipvsctl", "-t"}, "192.0.2.1:8"},
		{"lbd   -f  'my file' -log", []string{"lbd", "-f", "my file"}, "-log"},
		{`lbd -f my\ fi`, []string{"lbd", "-f"}, "my fi"},
		{`ipvsctl handover "VI 1" `, []string{"ipvsctl", "handover", "VI 1"}, ""},
		{`lbd -f "unterminated`, []string{"lbd", "-f"}, "unterminated"},
	} {
		l := Parse(tc.line)
		if !slices.Equal(l.Words, tc.words) || l.Current != tc.cur {
			t.Errorf("Parse(%q) = %q, %q; want %q, %q", tc.line, l.Words, l.Current, tc.words, tc.cur)
		}
	}
}

func TestWrite(t *testing.T) {
	cands := []string{"192.0.2.10:80", "192.0.2.10:443", "192.0.2.11:80", "192.0.2.10:80", "--json"}
	for _, tc := range []struct {
		cur, breaks, want string
	}{
		{"", "", "--json\n192.0.2.10:443\n192.0.2.10:80\n192.0.2.11:80\n"},
		{"192.0.2.10", "", "192.0.2.10:443\n192.0.2.10:80\n"},
		// bash completes only after the last word break: ":" by default.
		{"192.0.2.10:4", "", "443\n"},
		// Without ":" among the word breaks the whole word is replaced.
		{"192.0.2.10:4", " \t\n=", "192.0.2.10:443\n"},
		{"x", "", ""},
	} {
		var b bytes.Buffer
		if err := Write(&b, Line{Current: tc.cur}, tc.breaks, cands); err != nil {
			t.Fatal(err)
		}
		if cands[0] != "192.0.2.10:80" {
			t.Fatalf("Write reordered its caller's slice: %q", cands)
		}
		if b.String() != tc.want {
			t.Errorf("Write(cur %q, breaks %q) = %q, want %q", tc.cur, tc.breaks, b.String(), tc.want)
		}
	}
}

func TestFlagValue(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.String("f", "", "")
	fs.Bool("t", false, "")
	for word, want := range map[string]bool{"-f": true, "--f": true, "-f=x": false, "-t": false, "-g": false, "f": false} {
		if _, got := FlagValue(fs, word); got != want {
			t.Errorf("FlagValue(%q) = %v, want %v", word, got, want)
		}
	}
	if got := Flags(fs); !slices.Equal(got, []string{"-f", "-t"}) {
		t.Errorf("Flags = %q", got)
	}
}

// The test binary plays the command: "__complete LINE" with
// LBD_COMPLETION_TEST set answers from fixed candidates.
func TestMain(m *testing.M) {
	if os.Getenv("LBD_COMPLETION_TEST") == "1" && len(os.Args) == 3 && os.Args[1] == Command {
		cands := []string{"status", "stop", "192.0.2.10:80", "192.0.2.10:443", "VI 1"}
		if err := Write(os.Stdout, Parse(os.Args[2]), os.Getenv("COMP_WORDBREAKS"), cands); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestScriptInBash loads the script into a real bash and completes as
// bash would on Tab: COMP_LINE and COMP_POINT in, COMPREPLY out.
func TestScriptInBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	prog := filepath.Join(dir, "prog")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, prog); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "prog.bash")
	if err := os.WriteFile(script, []byte(Script("prog")), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"prog st", []string{"status", "stop"}},
		{"prog sta", []string{"status"}},
		{"prog -t 192.0.2.10:4", []string{"443"}}, // after bash's ":" word break
		{"prog x", nil},
		{"prog VI", []string{"VI 1"}}, // one candidate with a blank
	} {
		// COMP_WORDS and COMP_CWORD are not used by the script: it sends
		// the line itself.
		cmd := exec.Command(bash, "--norc", "--noprofile", "-c", fmt.Sprintf(
			`source %q || exit 9; complete -p prog >/dev/null || exit 8; COMP_LINE=%q; COMP_POINT=${#COMP_LINE}; _prog_complete %q; printf '%%s\n' "${COMPREPLY[@]}"`,
			script, tc.line, prog))
		cmd.Env = append(os.Environ(), "LBD_COMPLETION_TEST=1")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%q: bash: %v", tc.line, err)
		}
		got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		if len(got) == 1 && got[0] == "" {
			got = nil
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: COMPREPLY %q, want %q", tc.line, got, tc.want)
		}
	}
}
