package conf

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Parser reads configuration files like Parse and remembers the virtual
// servers of the last file it read, so that reloading a large file decodes
// only the virtual_servers items whose text changed. YAML decoding is most
// of the cost of reading a 10,000-service file; validation still covers the
// whole configuration on every read.
//
// An item is reused when its text and its first line are the same as
// before (its positions are part of the decoded value). A file whose layout
// the splitter does not recognise, or whose items cannot be read one by one
// (an alias to an anchor outside the item, a syntax error), is read whole,
// exactly as Parse does, and errors are always Parse's.
//
// A Parser is safe for concurrent use. The configurations it returns share
// reused virtual servers, which is safe because nothing modifies a Config
// after it is returned.
type Parser struct {
	mu   sync.Mutex
	file string
	// items maps the text of each item of the last file read to what it
	// decoded to. Keyed by text alone, so a lookup needs no allocation.
	items map[string]*parsedItem
	gen   uint64 // the read that last used an entry, to drop the others
}

// parsedItem is a decoded and defaulted item, and where it was.
type parsedItem struct {
	line int
	vs   *VirtualServer
	gen  uint64
}

// Load is conf.Load through p's memory.
func (p *Parser) Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("conf: %w", err)
	}
	return p.Parse(path, data)
}

// Parse is conf.Parse through p's memory.
func (p *Parser) Parse(name string, data []byte) (*Config, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if name != p.file {
		p.file, p.items = name, nil
	}
	split, ok := splitVirtualServers(data)
	if !ok {
		p.items = nil
		return Parse(name, data)
	}
	cfg, ok := p.decodeSplit(name, data, split)
	if !ok {
		p.items = nil
		return Parse(name, data)
	}
	return finish(name, cfg)
}

// decodeSplit decodes the file outside the items, then each item on its
// own (or from memory), and applies defaults; it then remembers this
// file's items. ok is false when the result might differ from decoding
// the file whole.
func (p *Parser) decodeSplit(name string, data []byte, s vsSplit) (*Config, bool) {
	cfg, root, err := decodeFile(name, s.head(data))
	if err != nil || !s.keyIsNull(root) {
		return nil, false
	}
	cfg.applyDefaults() // no virtual servers yet: those are defaulted one by one

	vss := make([]*VirtualServer, len(s.items))
	var todo []int
	for i, it := range s.items {
		if c := p.items[string(it.text)]; c != nil && c.line == it.line {
			vss[i] = c.vs
		} else {
			todo = append(todo, i)
		}
	}
	// Items are independent, so a cold read decodes them on every CPU.
	workers := min(runtime.GOMAXPROCS(0), max(1, len(todo)/256))
	var wg sync.WaitGroup
	failed := make([]bool, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := w; j < len(todo); j += workers {
				i := todo[j]
				vs, ok := decodeItem(name, s.items[i])
				if !ok {
					failed[w] = true
					return
				}
				vss[i] = vs
			}
		}()
	}
	wg.Wait()
	for _, f := range failed {
		if f {
			return nil, false
		}
	}

	if len(vss) > 0 {
		cfg.VirtualServers = make([]VirtualServer, len(vss))
	}
	if p.items == nil {
		p.items = make(map[string]*parsedItem, len(vss))
	}
	p.gen++
	for i, vs := range vss {
		cfg.VirtualServers[i] = *vs
		it := s.items[i]
		if c := p.items[string(it.text)]; c != nil && c.vs == vs {
			c.gen = p.gen
		} else {
			p.items[string(it.text)] = &parsedItem{line: it.line, vs: vs, gen: p.gen}
		}
	}
	for text, c := range p.items {
		if c.gen != p.gen {
			delete(p.items, text)
		}
	}
	return cfg, true
}

// decodeItem decodes and defaults one virtual_servers item.
func decodeItem(name string, it vsItem) (*VirtualServer, bool) {
	var root yaml.Node
	if err := yaml.Unmarshal(it.text, &root); err != nil {
		return nil, false
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		return nil, false
	}
	seq := root.Content[0]
	if seq.Kind != yaml.SequenceNode || seq.Style&yaml.FlowStyle != 0 || len(seq.Content) != 1 {
		return nil, false
	}
	vs := new(VirtualServer)
	d := &decoder{file: name, lineOffset: it.line - 1, root: &root}
	d.decode(seq.Content[0], reflect.ValueOf(vs).Elem())
	if len(d.errs) > 0 {
		return nil, false
	}
	vs.applyDefaults()
	vs.origin = vs
	return vs, true
}

// vsSplit is a file cut into its virtual_servers items and the rest.
type vsSplit struct {
	keyLine    int // line of "virtual_servers:"
	start, end int // byte range of the items block, after the key's line
	items      []vsItem
}

// vsItem is the text of one block-sequence item ("- address: ...") and
// the line it starts on.
type vsItem struct {
	line int
	text []byte // part of the file's data
}

// head is data with the items block blanked out, line count kept, so the
// rest decodes with its own positions and virtual_servers is empty.
func (s vsSplit) head(data []byte) []byte {
	nl := bytes.Count(data[s.start:s.end], []byte{'\n'})
	h := make([]byte, 0, s.start+nl+len(data)-s.end)
	h = append(h, data[:s.start]...)
	h = append(h, bytes.Repeat([]byte{'\n'}, nl)...)
	return append(h, data[s.end:]...)
}

// keyIsNull reports whether the head's root is a block mapping whose
// virtual_servers key is the one the splitter found, now without a value:
// otherwise the split misread the file's structure.
func (s vsSplit) keyIsNull(root *yaml.Node) bool {
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		return false
	}
	m := root.Content[0]
	if m.Kind != yaml.MappingNode || m.Style&yaml.FlowStyle != 0 {
		return false
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Value == "virtual_servers" {
			return k.Line == s.keyLine && k.Column == 1 && v.Kind == yaml.ScalarNode && v.Tag == "!!null"
		}
	}
	return false
}

// splitVirtualServers finds a top-level "virtual_servers:" block sequence
// and cuts it into items by line: an item starts at a line holding "-" at
// the sequence's indentation, and runs to the next one. It gives up (ok
// false) on anything it does not expect: directives, tabs, a flow
// sequence, a line less indented than the items, a second key.
func splitVirtualServers(data []byte) (s vsSplit, ok bool) {
	if len(data) > 0 && data[0] == '%' {
		return s, false // %TAG directives could change how items read
	}
	const (
		before = iota
		inBlock
		after
	)
	state, indent := before, -1
	line := 0
	var starts []int // byte offsets of the items
	for off := 0; off < len(data); {
		end := bytes.IndexByte(data[off:], '\n')
		next := len(data)
		if end >= 0 {
			end += off
			next = end + 1
		} else {
			end = len(data)
		}
		line++
		text := bytes.TrimRight(data[off:end], "\r")
		switch state {
		case before:
			if isKeyLine(text) {
				state, s.keyLine, s.start = inBlock, line, next
			}
		case inBlock:
			trimmed := bytes.TrimLeft(text, " ")
			if len(trimmed) > 0 && trimmed[0] == '\t' {
				return s, false
			}
			if len(trimmed) == 0 || trimmed[0] == '#' {
				break // blank or comment: part of whatever surrounds it
			}
			ind := len(text) - len(trimmed)
			if ind == 0 && !isItemStart(trimmed) {
				state, s.end = after, off // the next top-level key
				break
			}
			if indent < 0 {
				if !isItemStart(trimmed) {
					return s, false
				}
				indent = ind
			}
			switch {
			case ind == indent && isItemStart(trimmed):
				starts = append(starts, off)
				s.items = append(s.items, vsItem{line: line})
			case ind <= indent:
				return s, false
			}
		case after:
			if isKeyLine(text) {
				return s, false
			}
		}
		off = next
	}
	if state == before {
		return s, false
	}
	if state == inBlock {
		s.end = len(data)
	}
	if len(s.items) == 0 {
		return s, false // nothing to gain; and blanking would hide the block's text from the decoder
	}
	// The first item takes the blank and comment lines before it, so
	// every byte of the block is read by some decoder.
	starts[0], s.items[0].line = s.start, s.keyLine+1
	for i := range s.items {
		end := s.end
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		s.items[i].text = data[starts[i]:end]
	}
	return s, true
}

// isKeyLine reports whether line is "virtual_servers:" at column 1 with
// nothing after it but spaces and a comment.
func isKeyLine(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, []byte("virtual_servers:"))
	if !ok {
		return false
	}
	rest = bytes.TrimLeft(rest, " ")
	return len(rest) == 0 || rest[0] == '#'
}

// isItemStart reports whether a line, indentation removed, starts a block
// sequence item: "-" followed by a space or nothing.
func isItemStart(trimmed []byte) bool {
	return len(trimmed) > 0 && trimmed[0] == '-' && (len(trimmed) == 1 || trimmed[1] == ' ')
}
