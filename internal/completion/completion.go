// Package completion is the bash completion of lbd's commands. The script
// bash loads is the same few lines for every command: it hands the command
// line up to the cursor to the command itself ("PROG __complete LINE"),
// which answers with the candidates, one per line. So what is offered is
// what the command parses (its own flag tables, not a second copy in
// shell), and names come from the running daemon.
package completion

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Command is the hidden first argument that asks a command for
// candidates: PROG __complete LINE, LINE being the command line up to the
// cursor.
const Command = "__complete"

// Script returns the bash completion script of prog, for
// /usr/share/bash-completion/completions/PROG. When the command offers
// nothing, bash completes file names (-o default).
func Script(prog string) string {
	fn := "_" + strings.NewReplacer("-", "_", ".", "_").Replace(prog) + "_complete"
	return fmt.Sprintf(`# bash completion for %[1]s; the candidates come from %[1]s itself.
%[2]s() {
	local IFS=$'\n'
	COMPREPLY=($(COMP_WORDBREAKS="$COMP_WORDBREAKS" "$1" %[3]s "${COMP_LINE:0:$COMP_POINT}" 2>/dev/null))
}
complete -o default -F %[2]s %[1]s
`, prog, fn, Command)
}

// Line is a command line being completed.
type Line struct {
	// Words are the words before the one being completed, the program
	// name first.
	Words []string
	// Current is the word being completed, possibly empty.
	Current string
}

// Parse splits the command line bash passes (up to the cursor) into
// words as the shell would for simple quoting: blanks separate words,
// quotes and backslashes escape.
func Parse(line string) Line {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, r := range line {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	return Line{Words: words, Current: cur.String()}
}

// Previous is the word before the one being completed ("" at the
// program name).
func (l Line) Previous() string {
	if len(l.Words) == 0 {
		return ""
	}
	return l.Words[len(l.Words)-1]
}

// defaultWordBreaks is bash's COMP_WORDBREAKS when the environment does
// not say.
const defaultWordBreaks = "\"'><=;|&(:"

// Write prints the candidates that start with the current word, sorted,
// once each. Bash replaces only the part of the word after its last word
// break (":" in "192.0.2.1:80", "=" in "--socket=PATH"), so that much is
// cut from each candidate; wordBreaks is bash's COMP_WORDBREAKS ("" for
// the default).
func Write(w io.Writer, l Line, wordBreaks string, candidates []string) error {
	if wordBreaks == "" {
		wordBreaks = defaultWordBreaks
	}
	cut := strings.LastIndexAny(l.Current, wordBreaks) + 1
	candidates = slices.Sorted(slices.Values(candidates)) // a copy: callers pass shared tables

	var b strings.Builder
	for i, c := range candidates {
		if !strings.HasPrefix(c, l.Current) || (i > 0 && c == candidates[i-1]) {
			continue
		}
		b.WriteString(c[cut:])
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Flags returns the flags of fs as the manual writes them, "-name".
func Flags(fs *flag.FlagSet) []string {
	var out []string
	fs.VisitAll(func(f *flag.Flag) { out = append(out, "-"+f.Name) })
	return out
}

// FlagValue reports whether word is a flag of fs that takes its value
// from the next word (not a boolean flag, not "-name=value"), and its
// name.
func FlagValue(fs *flag.FlagSet, word string) (string, bool) {
	name := strings.TrimPrefix(strings.TrimPrefix(word, "-"), "-")
	if name == word || strings.Contains(name, "=") {
		return "", false
	}
	f := fs.Lookup(name)
	if f == nil {
		return "", false
	}
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return "", false
	}
	return name, true
}
