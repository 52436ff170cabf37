package main

import (
	"strings"
	"testing"
)

// TestFromHelp converts a small manual laid out as the commands print
// theirs: the NAME line in whatis form, sections, text kept as laid out
// with minus signs, backslashes and a leading dot escaped.
func TestFromHelp(t *testing.T) {
	var b strings.Builder
	fromHelp(&b, `NAME
       tool - does one thing,
       well

OPTIONS
       -f FILE
              Read FILE (C:\x).
       .hidden is not a request

SEE ALSO
       lbd(8)
`)
	want := `.SH "NAME"
tool \- does one thing, well
.SH "OPTIONS"
.nf
\-f FILE
       Read FILE (C:\ex).
\&.hidden is not a request
.sp
.fi
.SH "SEE ALSO"
.nf
lbd(8)
.fi
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestFromMarkdown converts a piece of docs/config.md: a table of keys
// becomes tagged paragraphs, links their text, code spans bold.
func TestFromMarkdown(t *testing.T) {
	var b strings.Builder
	fromMarkdown(&b, "lbd.yaml", "lbd's configuration file", "# lbd configuration reference\n\nGenerated from the Go definitions.\n\n## Global\n\n| key | type | description |\n|---|---|---|\n| `router_id` | [Addr](#addr) | Names this `lbd`. |\n")
	want := `.SH NAME
lbd.yaml \- lbd's configuration file
.SH DESCRIPTION
.PP
.PP
.SH "GLOBAL"
.PP
.TP
\fBrouter_id\fR
(Addr) Names this \fBlbd\fR.
.PP
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}
