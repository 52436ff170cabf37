package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/conf/keepalived"
)

// Exit codes of lbd import-keepalived and lbd export-keepalived besides
// exitOK (converted; only notes).
const (
	exitBehaviour = 1 // converted, but something behaves differently (see the report)
	exitError     = 2 // bad usage, unreadable or invalid input
)

// idList is import-keepalived's -i, which may be given more than once.
type idList []string

func (l *idList) String() string     { return strings.Join(*l, ",") }
func (l *idList) Set(v string) error { *l = append(*l, v); return nil }

// runImport is `lbd import-keepalived [-o FILE] [-i CONFIG_ID]... PATH`: it
// writes the converted YAML to FILE (default stdout) and the report to
// stderr. It returns exitOK, exitBehaviour when a finding is approximated
// or unsupported, or exitError.
func runImport(args []string, stdout, stderr io.Writer) int {
	fs, out, idsPtr := importFlags(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: lbd import-keepalived [-o FILE] [-i CONFIG_ID] PATH\n"+
			"Converts a keepalived.conf (with its includes) to lbd YAML and reports every keyword\n"+
			"lbd cannot express. Exit status: 0 converted, 1 behaviour differs (see the report), 2 error.\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitError
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitError
	}
	res, err := keepalived.ImportWith(fs.Arg(0), keepalived.Options{ParseOptions: keepalived.ParseOptions{ConfigIDs: *idsPtr}})
	fmt.Fprint(stderr, keepalived.Report(res.Findings))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitError
	}
	if *out != "" {
		if err := os.WriteFile(*out, res.YAML, 0o644); err != nil {
			fmt.Fprintln(stderr, err)
			return exitError
		}
	} else if _, err := stdout.Write(res.YAML); err != nil {
		return exitError
	}
	if keepalived.ChangesBehaviour(res.Findings) {
		fmt.Fprintln(stderr, "import-keepalived: the converted configuration behaves differently; see above")
		return exitBehaviour
	}
	return exitOK
}

// runExport is `lbd export-keepalived [-o FILE] [-f CONFIG]`: it writes the
// lbd configuration as keepalived.conf, for a rollback. Exit codes as
// runImport.
func runExport(args []string, stdout, stderr io.Writer) int {
	fs, out, in := exportFlags(stderr)
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return exitError
	}
	cfg, err := conf.Load(*in)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitError
	}
	text, findings, err := keepalived.Export(cfg)
	fmt.Fprint(stderr, keepalived.Report(findings))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitError
	}
	if *out != "" {
		err = os.WriteFile(*out, text, 0o644)
	} else {
		_, err = stdout.Write(text)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitError
	}
	if keepalived.ChangesBehaviour(findings) {
		return exitBehaviour
	}
	return exitOK
}

// importFlags is the parser of `lbd import-keepalived`; runImport and the
// completion share it.
func importFlags(stderr io.Writer) (fs *flag.FlagSet, out *string, ids *idList) {
	fs = flag.NewFlagSet("import-keepalived", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out = fs.String("o", "", "write the YAML to `FILE` instead of stdout")
	ids = new(idList)
	fs.Var(ids, "i", "keepalived config-id for '@ID' lines (repeatable; default: none, so '@ID' lines are dropped and '@^ID' lines kept)")
	return fs, out, ids
}

// exportFlags is the parser of `lbd export-keepalived`; runExport and the
// completion share it.
func exportFlags(stderr io.Writer) (fs *flag.FlagSet, out, in *string) {
	fs = flag.NewFlagSet("export-keepalived", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out = fs.String("o", "", "write keepalived.conf to `FILE` instead of stdout")
	in = fs.String("f", defaultConfig, "lbd configuration `FILE`")
	return fs, out, in
}
