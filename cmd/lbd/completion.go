package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/lbd-project/lbd/internal/completion"
)

// subcommandFlags are the parsers of lbd's subcommands, for the
// completion; nil for a subcommand without flags. The daemon's own are
// lbdFlags.
var subcommandFlags = map[string]func() *flag.FlagSet{
	"plan":              func() *flag.FlagSet { fs, _, _ := planFlags(io.Discard); return fs },
	"release":           func() *flag.FlagSet { fs, _ := releaseFlags(io.Discard); return fs },
	"doctor":            func() *flag.FlagSet { fs, _, _ := doctorFlags(io.Discard); return fs },
	"import-keepalived": func() *flag.FlagSet { fs, _, _ := importFlags(io.Discard); return fs },
	"export-keepalived": func() *flag.FlagSet { fs, _, _ := exportFlags(io.Discard); return fs },
	"completion":        nil,
	"help":              nil,
}

// flagValues are the values offered for flags that take one of a few;
// the other flags take file names or addresses, which bash completes.
var flagValues = map[string][]string{
	"log-level":  {"debug", "info", "warn", "error"},
	"log-format": {"text", "json"},
}

// runCompletion is `lbd completion bash`: the completion script.
func runCompletion(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || args[0] != "bash" {
		fmt.Fprintln(stderr, "usage: lbd completion bash")
		return exitUsage
	}
	io.WriteString(stdout, completion.Script("lbd"))
	return exitOK
}

// runComplete is `lbd __complete LINE`, which the completion script runs:
// the candidates for the word at the end of LINE, one per line.
func runComplete(args []string, stdout io.Writer) int {
	if len(args) != 1 {
		return exitUsage
	}
	l := completion.Parse(args[0])
	if err := completion.Write(stdout, l, os.Getenv("COMP_WORDBREAKS"), candidates(l)); err != nil {
		return exitError
	}
	return exitOK
}

// candidates are what may come at the end of l: a subcommand first, then
// the flags of the command named, or a flag's value.
func candidates(l completion.Line) []string {
	fs, _ := lbdFlags(io.Discard)
	sub := ""
	if len(l.Words) > 1 {
		if newFS, ok := subcommandFlags[l.Words[1]]; ok {
			sub, fs = l.Words[1], nil
			if newFS != nil {
				fs = newFS()
			}
		}
	}
	if fs != nil {
		if name, ok := completion.FlagValue(fs, l.Previous()); ok {
			return flagValues[name]
		}
	}
	var out []string
	if fs != nil {
		out = completion.Flags(fs)
	}
	switch {
	case len(l.Words) == 1:
		for name := range subcommandFlags {
			out = append(out, name)
		}
	case sub == "completion" && len(l.Words) == 2:
		out = append(out, "bash")
	}
	return out
}
