package keepalived

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// This file builds the output as a yaml.Node tree, which keeps key order
// and carries comments.

// ymap is a YAML mapping under construction.
type ymap struct{ n *yaml.Node }

func newMap() ymap { return ymap{&yaml.Node{Kind: yaml.MappingNode}} }

// set adds key (or replaces its value), with comments above it.
func (m ymap) set(key string, v *yaml.Node, comments ...string) {
	for i := 0; i+1 < len(m.n.Content); i += 2 {
		if m.n.Content[i].Value == key {
			m.n.Content[i+1] = v
			return
		}
	}
	k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}
	if len(comments) > 0 {
		k.HeadComment = commentText(comments)
	}
	m.n.Content = append(m.n.Content, k, v)
}

func (m ymap) get(key string) *yaml.Node {
	for i := 0; i+1 < len(m.n.Content); i += 2 {
		if m.n.Content[i].Value == key {
			return m.n.Content[i+1]
		}
	}
	return nil
}

func (m ymap) del(key string) {
	for i := 0; i+1 < len(m.n.Content); i += 2 {
		if m.n.Content[i].Value == key {
			m.n.Content = append(m.n.Content[:i], m.n.Content[i+2:]...)
			return
		}
	}
}

func (m ymap) empty() bool { return len(m.n.Content) == 0 }

// comment puts comments above the mapping (as a list item: above its "-").
func (m ymap) comment(cs []string) {
	if len(cs) > 0 {
		m.n.HeadComment = commentText(cs)
	}
}

func commentText(cs []string) string {
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("# ")
		b.WriteString(c)
	}
	return b.String()
}

func ystr(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func yint(n int64) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(n, 10)}
}

func ybool(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

func ydur(d time.Duration) *yaml.Node { return ystr(d.String()) }

func yseq(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Content: items}
}

func yflow(items ...*yaml.Node) *yaml.Node {
	n := yseq(items...)
	n.Style = yaml.FlowStyle
	return n
}

// ycommand writes a command as one string when splitting on spaces gives
// the same words, as a list otherwise.
func ycommand(words []string) *yaml.Node {
	simple := true
	for _, w := range words {
		if w == "" || strings.ContainsAny(w, " \t\"'") {
			simple = false
		}
	}
	if simple {
		return ystr(strings.Join(words, " "))
	}
	items := make([]*yaml.Node, len(words))
	for i, w := range words {
		items[i] = ystr(w)
	}
	return yflow(items...)
}

// encode writes the document.
func encode(root *yaml.Node, header string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(header)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// splitCommand splits a keepalived script string into words the way
// keepalived does: on blanks, with single and double quotes grouping and
// backslash escaping the next character.
func splitCommand(s string) []string {
	var out []string
	var cur strings.Builder
	have := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			have = true
		case c == '\'' || c == '"':
			quote, have = c, true
		case c == ' ' || c == '\t':
			if have {
				out = append(out, cur.String())
			}
			cur.Reset()
			have = false
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	if have {
		out = append(out, cur.String())
	}
	return out
}
