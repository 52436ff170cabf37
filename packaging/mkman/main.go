// Command mkman writes a manual page in roff, for the Debian package, from
// the text a command prints for --help (lbd --help, ipvsctl help,
// lbd-genhash --help), or, with -markdown, from docs/config.md. The page
// says what the help says: sections become .SH, the rest stays as it is
// laid out (no filling), so man shows the same text.
//
//	lbd --help | mkman -name lbd -section 8 -version V -date 2026-01-31 > lbd.8
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

func main() {
	name := flag.String("name", "", "the page's `name`")
	section := flag.String("section", "8", "the manual `section`")
	version := flag.String("version", "", "lbd's `version`, in the footer")
	date := flag.String("date", "", "the page's `date`, in the footer")
	markdown := flag.Bool("markdown", false, "the input is docs/config.md, not a --help text")
	title := flag.String("title", "", "with -markdown: the NAME line's description")
	flag.Parse()
	if *name == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: mkman -name NAME [-section N] [-version V] [-date D] [-markdown -title T] < TEXT > PAGE")
		os.Exit(2)
	}
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkman:", err)
		os.Exit(1)
	}
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(w, ".TH %s %s %s %s\n", quote(strings.ToUpper(*name)), *section, quote(*date), quote("lbd "+*version))
	if *markdown {
		fromMarkdown(w, *name, *title, string(in))
	} else {
		fromHelp(w, string(in))
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "mkman:", err)
		os.Exit(1)
	}
}

// quote makes s one roff macro argument.
func quote(s string) string { return `"` + strings.ReplaceAll(escape(s), `"`, `""`) + `"` }

// escape makes s roff text: backslashes and hyphens (minus signs in
// options) escaped, a line starting with . or ' protected.
func escape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

var heading = regexp.MustCompile(`^[A-Z][A-Z ]*$`)

// fromHelp converts a manual as the commands print it: headings in
// capitals at the start of a line, the text indented by 7 columns.
func fromHelp(w io.Writer, text string) {
	section := ""
	var name []string
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if heading.MatchString(line) {
			if section == "NAME" {
				nameLine(w, strings.Join(name, " "))
			} else if section != "" {
				fmt.Fprintln(w, ".fi")
			}
			section = line
			fmt.Fprintf(w, ".SH %s\n", quote(line))
			if section != "NAME" {
				fmt.Fprintln(w, ".nf")
			}
			continue
		}
		line = strings.TrimPrefix(line, "       ")
		switch {
		case section == "NAME":
			if t := strings.TrimSpace(line); t != "" {
				name = append(name, t)
			}
		case line == "":
			fmt.Fprintln(w, ".sp")
		default:
			fmt.Fprintln(w, escape(line))
		}
	}
	if section != "" && section != "NAME" {
		fmt.Fprintln(w, ".fi")
	}
}

// nameLine writes the NAME section's one line, "name \- what it is", as
// whatis and lexgrog read it.
func nameLine(w io.Writer, line string) {
	name, what, _ := strings.Cut(line, " - ")
	fmt.Fprintf(w, "%s \\- %s\n", escape(name), escape(what))
}

var (
	mdLink = regexp.MustCompile(`\[([^]]*)\]\([^)]*\)`)
	mdCode = regexp.MustCompile("`([^`]*)`")
)

// inline turns Markdown links into their text and code spans into bold.
func inline(s string) string {
	s = mdLink.ReplaceAllString(s, "$1")
	s = escape(s)
	return mdCode.ReplaceAllString(s, `\fB$1\fR`)
}

// fromMarkdown converts docs/config.md: "#" is the title (dropped, as is
// the note on how the file is generated), "##" sections,
// tables of keys become tagged paragraphs (key, then its type and
// description).
func fromMarkdown(w io.Writer, name, title, text string) {
	fmt.Fprintln(w, ".SH NAME")
	fmt.Fprintf(w, "%s \\- %s\n", escape(name), escape(title))
	fmt.Fprintln(w, ".SH DESCRIPTION")
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "# "), strings.HasPrefix(line, "Generated from"):
		case strings.HasPrefix(line, "## "):
			fmt.Fprintf(w, ".SH %s\n", quote(strings.ToUpper(strings.TrimPrefix(line, "## "))))
		case strings.HasPrefix(line, "|"):
			cells := strings.Split(strings.Trim(line, "|"), " | ")
			if len(cells) < 3 || strings.HasPrefix(cells[0], "---") || strings.TrimSpace(cells[0]) == "key" {
				continue
			}
			fmt.Fprintln(w, ".TP")
			fmt.Fprintln(w, inline(strings.TrimSpace(cells[0])))
			fmt.Fprintf(w, "(%s) %s\n", inline(strings.TrimSpace(cells[1])), inline(strings.TrimSpace(strings.Join(cells[2:], " | "))))
		case strings.TrimSpace(line) == "":
			fmt.Fprintln(w, ".PP")
		default:
			fmt.Fprintln(w, inline(line))
		}
	}
}
