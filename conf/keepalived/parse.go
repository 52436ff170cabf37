package keepalived

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// This file reads keepalived.conf(5) syntax into a tree of Nodes. It runs
// keepalived's pre-processing line by line, in keepalived's order: comments
// are cut, '@' conditions decide whether the line is used, "$NAME=value"
// defines a parameter, "~SEQ(...)" repeats the rest of the line, "$NAME" and
// "${NAME}" are replaced (recursively; a multi-line value becomes several
// lines), and "include" pulls in files. The resulting lines are split into
// words and braces and built into blocks.

// Limits that bound every loop on hostile input.
const (
	maxIncludeDepth = 16
	maxLines        = 1 << 20 // processed lines, after includes and expansion
	maxSubstDepth   = 32
	maxLineLen      = 1 << 16
	maxSeqCount     = 10000
	maxBlockDepth   = 64
)

// Pos is a place in a keepalived configuration file.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Node is one keyword of a keepalived configuration with its arguments and,
// when it opens a block, its children.
type Node struct {
	Pos   Pos
	Key   string
	Args  []string
	Block bool
	// End is where the block's '}' is: keepalived names that line for
	// what it checks once the block is read.
	End      Pos
	Children []*Node
	// Comments are the comment lines right before the keyword, without
	// their '#' or '!'.
	Comments []string
}

// String is the keyword with its arguments, as written.
func (n *Node) String() string { return strings.TrimSpace(n.Key + " " + strings.Join(n.Args, " ")) }

// SyntaxError is a problem that stops the parse, at a file:line.
type SyntaxError struct {
	Pos Pos
	Msg string
}

func (e *SyntaxError) Error() string { return e.Pos.String() + ": " + e.Msg }

// ErrorList is every syntax or conversion error of a file, in order.
type ErrorList []error

func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// ParseOptions tune the pre-processing.
type ParseOptions struct {
	// ConfigIDs are the names '@name' lines are compared with (keepalived's
	// -i/--config-id, which defaults there to the host name). With none,
	// every "@name" line is dropped and every "@^name" line is kept.
	ConfigIDs []string
	// Dropped, if set, is told of each line an '@' condition drops.
	Dropped func(pos Pos, text string)
	// ReadFile reads a file; default os.ReadFile.
	ReadFile func(string) ([]byte, error)
	// Glob expands include patterns; default filepath.Glob.
	Glob func(string) ([]string, error)
}

// line is one pre-processed line.
type line struct {
	pos      Pos
	text     string
	comments []string // full-line comments before it
	trailing string   // a comment after it on the same line
}

type preproc struct {
	opts     ParseOptions
	defs     map[string]string
	out      []line
	pending  []string
	errs     ErrorList
	tooLarge bool
}

// ParseFile reads and pre-processes path (with its includes) and returns
// the top-level keywords.
func ParseFile(path string, opts ParseOptions) ([]*Node, error) {
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	if opts.Glob == nil {
		opts.Glob = filepath.Glob
	}
	p := &preproc{opts: opts, defs: map[string]string{}}
	data, err := opts.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keepalived: %w", err)
	}
	p.file(path, data, 0)
	return p.finish()
}

// Parse is ParseFile for data already read; includes are read from disk
// relative to name's directory.
func Parse(name string, data []byte, opts ParseOptions) ([]*Node, error) {
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	if opts.Glob == nil {
		opts.Glob = filepath.Glob
	}
	p := &preproc{opts: opts, defs: map[string]string{}}
	p.file(name, data, 0)
	return p.finish()
}

func (p *preproc) finish() ([]*Node, error) {
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	b := &builder{lines: p.out}
	nodes := b.build()
	if len(b.errs) > 0 {
		return nil, b.errs
	}
	return nodes, nil
}

func (p *preproc) errorf(pos Pos, format string, args ...any) {
	if len(p.errs) < 100 {
		p.errs = append(p.errs, &SyntaxError{pos, fmt.Sprintf(format, args...)})
	}
}

// file pre-processes one file's data.
func (p *preproc) file(name string, data []byte, depth int) {
	raw := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	saved, hadPWD := p.defs["_PWD"]
	p.defs["_PWD"] = filepath.Dir(name)
	defer func() {
		if hadPWD {
			p.defs["_PWD"] = saved
		}
	}()
	for i := 0; i < len(raw); i++ {
		pos := Pos{name, i + 1}
		text, comment := cutComment(raw[i])
		trimmed := strings.TrimSpace(text)
		// A multi-line definition: "$NAME= \" and lines ending in '\'.
		if isMultiDefStart(trimmed) {
			var parts []string
			for strings.HasSuffix(strings.TrimSpace(text), `\`) && i+1 < len(raw) {
				t := strings.TrimSpace(text)
				parts = append(parts, strings.TrimSpace(strings.TrimSuffix(t, `\`)))
				i++
				text, _ = cutComment(raw[i])
				// keepalived cuts comments before it looks at the
				// definition: a line that was only a comment (or blanks)
				// is skipped, and only an empty line ends the value.
				for strings.TrimSpace(text) == "" && raw[i] != "" && i+1 < len(raw) {
					i++
					text, _ = cutComment(raw[i])
				}
			}
			parts = append(parts, strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(text), `\`)))
			nameEq, first, _ := strings.Cut(parts[0], "=")
			vals := []string{}
			if strings.TrimSpace(first) != "" {
				vals = append(vals, strings.TrimSpace(first))
			}
			for _, v := range parts[1:] {
				if v != "" {
					vals = append(vals, v)
				}
			}
			p.defs[strings.TrimPrefix(nameEq, "$")] = strings.Join(vals, "\n")
			continue
		}
		if trimmed == "" {
			if comment != "" {
				p.pending = append(p.pending, comment)
			} else if len(p.pending) > 0 {
				p.pending = nil // a blank line detaches a comment from what follows
			}
			continue
		}
		p.line(pos, trimmed, comment, depth, 0)
		if p.tooLarge {
			return
		}
	}
}

var (
	defRe  = regexp.MustCompile(`^\$([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)
	seqRe  = regexp.MustCompile(`^~SEQ(x?)\(([^)]*)\)\s*(.*)$`)
	nameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

func isMultiDefStart(s string) bool {
	m := defRe.FindStringSubmatch(s)
	return m != nil && strings.HasSuffix(s, `\`)
}

// line handles one logical line (already stripped of comments).
func (p *preproc) line(pos Pos, text, comment string, incDepth, substDepth int) {
	if len(p.out) >= maxLines {
		if !p.tooLarge {
			p.errorf(pos, "configuration expands to more than %d lines", maxLines)
		}
		p.tooLarge = true
		return
	}
	if substDepth > maxSubstDepth {
		p.errorf(pos, "parameter substitution nested more than %d deep (a parameter refers to itself?)", maxSubstDepth)
		return
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return
	}
	// Conditional configuration.
	if strings.HasPrefix(text, "@") {
		var word, rest string
		if i := strings.IndexAny(text[1:], " \t"); i >= 0 {
			word, rest = text[1:1+i], text[1+i:]
		} else {
			word, rest = text[1:], ""
		}
		neg := strings.HasPrefix(word, "^")
		word = strings.TrimPrefix(word, "^")
		match := false
		for _, id := range p.opts.ConfigIDs {
			if id == word {
				match = true
			}
		}
		if match == neg {
			if p.opts.Dropped != nil {
				p.opts.Dropped(pos, text)
			}
			return
		}
		text = strings.TrimSpace(rest)
		if text == "" {
			return
		}
	}
	if m := defRe.FindStringSubmatch(text); m != nil {
		p.defs[m[1]] = strings.TrimSpace(m[2])
		return
	}
	if m := seqRe.FindStringSubmatch(text); m != nil {
		p.seq(pos, m[1] == "x", m[2], m[3], comment, incDepth, substDepth)
		return
	}
	expanded, changed, err := p.subst(text)
	if err != nil {
		p.errorf(pos, "%v", err)
		return
	}
	if changed {
		// The value may hold definitions, conditions or several lines.
		// keepalived cuts comments again after substituting: a line that
		// has become a comment is dropped.
		for _, l := range strings.Split(expanded, "\n") {
			l, _ = cutComment(l)
			p.line(pos, l, comment, incDepth, substDepth+1)
			comment = ""
			if p.tooLarge {
				return
			}
		}
		return
	}
	if f := strings.Fields(text); isInclude(f[0]) {
		p.include(pos, strings.Join(f[1:], " "), incDepth)
		return
	}
	p.out = append(p.out, line{pos: pos, text: text, comments: p.pending, trailing: comment})
	p.pending = nil
}

func isInclude(w string) bool {
	switch w {
	case "include", "includet", "includer", "includem", "includew", "includeb", "includea":
		return true
	}
	return false
}

// include reads the files pattern names, relative to the including file.
func (p *preproc) include(pos Pos, pattern string, depth int) {
	pattern = strings.Trim(pattern, `"`)
	if pattern == "" {
		p.errorf(pos, "include without a file name")
		return
	}
	if depth >= maxIncludeDepth {
		p.errorf(pos, "include nested more than %d deep (an include loop?)", maxIncludeDepth)
		return
	}
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(filepath.Dir(pos.File), pattern)
	}
	files, err := p.opts.Glob(pattern)
	if err != nil {
		p.errorf(pos, "include %s: %v", pattern, err)
		return
	}
	if len(files) == 0 && !strings.ContainsAny(pattern, "*?[") {
		p.errorf(pos, "include %s: no such file", pattern)
		return
	}
	sort.Strings(files)
	for _, f := range files {
		data, err := p.opts.ReadFile(f)
		if err != nil {
			p.errorf(pos, "include %s: %v", f, errors.Unwrap(err))
			continue
		}
		p.file(f, data, depth+1)
		if p.tooLarge {
			return
		}
	}
}

// seq expands "~SEQ(var, start, step, end) rest".
func (p *preproc) seq(pos Pos, hex bool, argText, rest, comment string, incDepth, substDepth int) {
	var nums []int64
	var name string
	for i, a := range strings.Split(argText, ",") {
		a = strings.TrimSpace(a)
		if i == 0 {
			name = a
			continue
		}
		if e, changed, err := p.subst(a); err == nil && changed {
			a = strings.TrimSpace(e)
		}
		n, err := strconv.ParseInt(a, 0, 64)
		if err != nil {
			p.errorf(pos, "~SEQ: %q is not a number", a)
			return
		}
		nums = append(nums, n)
	}
	if !nameRe.MatchString(name) {
		p.errorf(pos, "~SEQ: %q is not a variable name", name)
		return
	}
	var start, step, end int64
	switch len(nums) {
	case 1:
		end = nums[0]
		start = 1
		if end < 0 {
			start = -1
		}
	case 2:
		start, end = nums[0], nums[1]
	case 3:
		start, step, end = nums[0], nums[1], nums[2]
	default:
		p.errorf(pos, "~SEQ takes (var, end), (var, start, end) or (var, start, step, end)")
		return
	}
	if step == 0 {
		step = 1
		if end < start {
			step = -1
		}
	}
	if (end-start)/step+1 > maxSeqCount || (end-start)/step < 0 && (end-start) != 0 {
		if (end-start)/step+1 > maxSeqCount {
			p.errorf(pos, "~SEQ repeats more than %d times", maxSeqCount)
		}
		return
	}
	saved, had := p.defs[name]
	for v, n := start, 0; (step > 0 && v <= end || step < 0 && v >= end) && n < maxSeqCount; v, n = v+step, n+1 {
		if hex {
			p.defs[name] = strconv.FormatInt(v, 16)
		} else {
			p.defs[name] = strconv.FormatInt(v, 10)
		}
		p.line(pos, rest, comment, incDepth, substDepth+1)
		if p.tooLarge {
			break
		}
	}
	if had {
		p.defs[name] = saved
	} else {
		delete(p.defs, name)
	}
}

// subst replaces defined $NAME (followed by whitespace or the end) and
// ${NAME} once; the caller re-processes the result, so replacement is
// recursive as in keepalived. Undefined names stay as written.
func (p *preproc) subst(s string) (string, bool, error) {
	if !strings.Contains(s, "$") {
		return s, false, nil
	}
	var b strings.Builder
	changed := false
	for i := 0; i < len(s); {
		if s[i] != '$' {
			b.WriteByte(s[i])
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '{' {
			end := strings.IndexByte(s[i:], '}')
			if end > 0 {
				inner := s[i+2 : i+end]
				if v, ok := p.builtin(inner); ok {
					b.WriteString(v)
					i += end + 1
					changed = true
					continue
				}
				if v, ok := p.defs[inner]; ok {
					b.WriteString(v)
					i += end + 1
					changed = true
					if b.Len() > maxLineLen {
						return "", false, fmt.Errorf("parameter substitution makes a line longer than %d bytes", maxLineLen)
					}
					continue
				}
			}
			b.WriteByte('$')
			i++
			continue
		}
		j := i + 1
		for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
			j++
		}
		name := s[i+1 : j]
		if v, ok := p.defs[name]; ok && nameRe.MatchString(name) && (j == len(s) || s[j] == ' ' || s[j] == '\t') {
			b.WriteString(v)
			changed = true
		} else {
			b.WriteString(s[i:j])
		}
		i = j
		if b.Len() > maxLineLen {
			return "", false, fmt.Errorf("parameter substitution makes a line longer than %d bytes", maxLineLen)
		}
	}
	return b.String(), changed, nil
}

// builtin expands keepalived's pre-defined parameters that are
// deterministic; ${_RANDOM} is deliberately not (a converted file must not
// change from run to run) and is left as written.
func (p *preproc) builtin(name string) (string, bool) {
	switch name {
	case "_HASH":
		return "#", true
	case "_BANG":
		return "!", true
	case "_INSTANCE":
		if len(p.opts.ConfigIDs) > 0 {
			return p.opts.ConfigIDs[0], true
		}
	}
	return "", false
}

// cutComment splits a raw line at the first '#' or '!' outside double
// quotes, returning the text and the comment (trimmed, without its mark).
func cutComment(s string) (string, string) {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			inQuote = !inQuote
		case c == '\\' && inQuote && i+1 < len(s):
			i++
		case (c == '#' || c == '!') && !inQuote:
			return s[:i], strings.TrimSpace(strings.TrimLeft(s[i:], "#! "))
		}
	}
	return s, ""
}

// word is a token of a line: a word, a quoted string, "{" or "}".
type word struct {
	text   string
	quoted bool
	brace  bool
}

// splitWords splits a line into words; double quotes group (and are
// removed, with \" and \\ escapes), braces outside quotes are words of
// their own.
func splitWords(s string) ([]word, error) {
	var out []word
	var cur strings.Builder
	have, quoted := false, false
	flush := func() {
		if have {
			out = append(out, word{text: cur.String(), quoted: quoted})
		}
		cur.Reset()
		have, quoted = false, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			have, quoted = true, true
			j := i + 1
			closed := false
			for ; j < len(s); j++ {
				if s[j] == '\\' && j+1 < len(s) && (s[j+1] == '"' || s[j+1] == '\\') {
					cur.WriteByte(s[j+1])
					j++
					continue
				}
				if s[j] == '"' {
					closed = true
					break
				}
				cur.WriteByte(s[j])
			}
			if !closed {
				return nil, errors.New("unterminated quoted string")
			}
			i = j
		case c == ' ' || c == '\t':
			flush()
		case c == '{' && i > 0 && s[i-1] == '$' && strings.IndexByte(s[i:], '}') > 0:
			// An undefined ${NAME} stays one word.
			end := i + strings.IndexByte(s[i:], '}')
			cur.WriteString(s[i : end+1])
			have = true
			i = end
		case c == '{' || c == '}':
			flush()
			out = append(out, word{text: string(c), brace: true})
		default:
			have = true
			cur.WriteByte(c)
		}
	}
	flush()
	return out, nil
}

// builder turns pre-processed lines into the block tree.
type builder struct {
	lines []line
	errs  ErrorList
}

func (b *builder) errorf(pos Pos, format string, args ...any) {
	if len(b.errs) < 100 {
		b.errs = append(b.errs, &SyntaxError{pos, fmt.Sprintf(format, args...)})
	}
}

func (b *builder) build() []*Node {
	type frame struct {
		nodes *[]*Node
		open  Pos
		owner *Node
	}
	var root []*Node
	stack := []frame{{nodes: &root}}
	var last *Node      // the latest keyword in the current block
	lastLine := -1      // the line index it started on
	var lastAccept bool // whether a "{" may still open its block
	for li, l := range b.lines {
		words, err := splitWords(l.text)
		if err != nil {
			b.errorf(l.pos, "%v", err)
			continue
		}
		comments := l.comments
		var lineNode *Node
		for _, w := range words {
			top := &stack[len(stack)-1]
			switch {
			case w.brace && w.text == "{":
				if last == nil || !lastAccept || last.Block {
					b.errorf(l.pos, "'{' does not follow a keyword")
					// Recover: an anonymous block keeps the braces balanced.
					last = &Node{Pos: l.pos}
				}
				if len(stack) >= maxBlockDepth {
					b.errorf(l.pos, "blocks nested more than %d deep", maxBlockDepth)
					return root
				}
				last.Block = true
				stack = append(stack, frame{nodes: &last.Children, open: l.pos, owner: last})
				last, lastAccept = nil, false
			case w.brace && w.text == "}":
				if len(stack) == 1 {
					b.errorf(l.pos, "'}' without a matching '{'")
					continue
				}
				last = top.owner
				last.End = l.pos
				lastAccept = false
				stack = stack[:len(stack)-1]
			case last != nil && lastLine == li && !last.Block && lastAccept:
				last.Args = append(last.Args, w.text)
			default:
				n := &Node{Pos: l.pos, Key: w.text, Comments: comments}
				lineNode = n
				comments = nil
				*top.nodes = append(*top.nodes, n)
				last, lastLine, lastAccept = n, li, true
			}
		}
		if lineNode != nil && l.trailing != "" {
			lineNode.Comments = append(lineNode.Comments, l.trailing)
		}
		// A keyword may take its block from a "{" alone on the next line.
		if last != nil && lastLine != li {
			lastAccept = false
		}
	}
	for len(stack) > 1 {
		top := stack[len(stack)-1]
		b.errorf(top.open, "'{' of %q is never closed", top.owner.Key)
		stack = stack[:len(stack)-1]
	}
	return root
}
