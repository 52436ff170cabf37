package conf

import (
	"encoding"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// decoder fills Go values from a yaml.Node tree. It is stricter than
// yaml/v3's own decoding and keeps positions: every unknown or repeated key
// and every bad value becomes an Error with its file:line:col, and decoding
// goes on so one run reports all of them.
//
// Rules, by the Go type of the destination:
//   - a type implementing encoding.TextUnmarshaler takes a scalar (so
//     durations, addresses and shorthand forms parse in one place); if the
//     node is not a scalar, the type's underlying kind is decoded instead;
//   - structs take mappings; keys are the fields' yaml tags; a field of type
//     Pos receives the mapping's position;
//   - slices take sequences, maps take mappings, pointers are allocated;
//   - other scalars are decoded by yaml/v3 (YAML 1.2: "yes" is a string).
type decoder struct {
	file string
	// lineOffset is added to yaml/v3's line numbers: a virtual_servers
	// item decoded on its own (see Parser) starts at line 1 of its text.
	lineOffset int
	errs       ErrorList
	// root is the document being decoded; its size sets the alias budget.
	root    *yaml.Node
	aliases aliasBudget
}

// Aliases may add at most aliasFactor times the document's own nodes, and
// never less than minAliasBudget, to what is decoded. yaml.v3 has a similar
// guard, but it runs only in its own decoder, which this one replaces: with
// no bound, a kilobyte of nested aliased lists ("billion laughs") expands
// to millions of values and gigabytes. Real files alias a shared check or
// list a few dozen times, far below the bound.
const (
	aliasFactor    = 100
	minAliasBudget = 10_000
)

// aliasBudget counts the nodes aliases have added to the document.
type aliasBudget struct {
	limit    int // 0 until the first alias: files without aliases never count
	expanded int
	sizes    map[*yaml.Node]int // of anchored nodes, counted once
	refused  bool               // one error is enough; later aliases are skipped
}

var (
	posType       = reflect.TypeFor[Pos]()
	textUnmarshal = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func (d *decoder) pos(n *yaml.Node) Pos {
	return Pos{File: d.file, Line: n.Line + d.lineOffset, Col: n.Column}
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value) {
	for n.Kind == yaml.DocumentNode || n.Kind == yaml.AliasNode {
		if n.Kind == yaml.DocumentNode {
			if len(n.Content) == 0 {
				return
			}
			n = n.Content[0]
		} else {
			if !d.expand(n) {
				return
			}
			n = n.Alias
		}
	}
	if n.Kind == 0 || n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		d.setPos(n, v) // "key:" or "- " with no value leaves the defaults, but errors need a place
		return
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem())
		return
	}
	if n.Kind == yaml.ScalarNode && reflect.PointerTo(v.Type()).Implements(textUnmarshal) {
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			d.errs.errorf(d.pos(n), "%v", err)
		}
		d.setPos(n, v)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errs.errorf(d.pos(n), "expected a list, found %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.errs.errorf(d.pos(n), "expected a mapping, found %s", describe(n))
			return
		}
		m := reflect.MakeMap(v.Type())
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			key := reflect.New(v.Type().Key()).Elem()
			d.decode(k, key)
			if m.MapIndex(key).IsValid() {
				d.errs.errorf(d.pos(k), "repeated key %q", k.Value)
				continue
			}
			elem := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, elem)
			m.SetMapIndex(key, elem)
		}
		v.Set(m)
	default:
		if n.Kind != yaml.ScalarNode {
			d.errs.errorf(d.pos(n), "expected a %s, found %s", kindName(v.Kind()), describe(n))
			return
		}
		// yaml/v3 still reads YAML 1.1's yes/no/on/off into a bool;
		// lbd takes only true and false, so a quoted "no" cannot flip one.
		if v.Kind() == reflect.Bool && n.Tag != "!!bool" {
			d.errs.errorf(d.pos(n), "expected true or false, found %q", n.Value)
			return
		}
		if v.Kind() == reflect.String && n.Tag == "!!str" {
			v.SetString(n.Value) // the common case, without yaml/v3's decoder
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.errs.errorf(d.pos(n), "%s", yamlMessage(err))
		}
	}
}

// expand charges the nodes under alias to the document's alias budget and
// reports whether they may be decoded. Aliases inside them are charged when
// they are decoded in turn, so the sum is the whole expansion.
func (d *decoder) expand(alias *yaml.Node) bool {
	b := &d.aliases
	if b.refused {
		return false
	}
	if b.limit == 0 {
		b.limit = max(minAliasBudget, aliasFactor*countNodes(d.root))
		b.sizes = map[*yaml.Node]int{}
	}
	size, ok := b.sizes[alias.Alias]
	if !ok {
		size = countNodes(alias.Alias)
		b.sizes[alias.Alias] = size
	}
	b.expanded += size
	if b.expanded > b.limit {
		b.refused = true
		d.errs.errorf(d.pos(alias), "alias *%s: aliases expand the file beyond %d values (%d per value written, at least %d); refusing it as an alias bomb",
			alias.Value, b.limit, aliasFactor, minAliasBudget)
		return false
	}
	return true
}

// countNodes counts the nodes of the tree under n, an alias counting one.
func countNodes(n *yaml.Node) int {
	c := 1
	for _, child := range n.Content {
		c += countNodes(child)
	}
	return c
}

// setPos fills the Pos fields of a struct with the position of n.
func (d *decoder) setPos(n *yaml.Node, v reflect.Value) {
	if v.Kind() != reflect.Struct {
		return
	}
	for _, i := range structInfoOf(v.Type()).pos {
		v.Field(i).Set(reflect.ValueOf(d.pos(n)))
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.errs.errorf(d.pos(n), "expected a mapping, found %s", describe(n))
		return
	}
	d.setPos(n, v)
	info := structInfoOf(v.Type())
	var seen uint64 // bit per field; no config struct has 64 keys
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		f, ok := info.fields[k.Value]
		switch {
		case !ok:
			d.errs.errorf(d.pos(k), "unknown key %q%s", k.Value, suggest(k.Value, info.names))
			continue
		case seen&(1<<f.bit) != 0:
			d.errs.errorf(d.pos(k), "repeated key %q", k.Value)
			continue
		}
		seen |= 1 << f.bit
		d.decode(val, v.Field(f.index))
	}
}

// structInfo is what decodeStruct needs of a struct type: its keys. It is
// computed once per type (a large file decodes 100,000 real servers).
type structInfo struct {
	fields map[string]fieldInfo
	names  []string
	pos    []int // indexes of Pos fields
}

type fieldInfo struct{ index, bit int }

var structInfos sync.Map // reflect.Type -> *structInfo

func structInfoOf(t reflect.Type) *structInfo {
	if info, ok := structInfos.Load(t); ok {
		return info.(*structInfo)
	}
	info := &structInfo{fields: map[string]fieldInfo{}}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Type == posType {
			info.pos = append(info.pos, i)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		info.fields[name] = fieldInfo{index: i, bit: len(info.names)}
		info.names = append(info.names, name)
	}
	if len(info.names) > 64 {
		panic("conf: " + t.String() + " has more than 64 keys")
	}
	structInfos.Store(t, info)
	return info
}

// suggest names the closest known key, for typos, or lists them all.
func suggest(key string, names []string) string {
	best, bestDist := "", len(key)/2+1
	for _, n := range names {
		if dist := editDistance(key, n); dist < bestDist {
			best, bestDist = n, dist
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	return " (known keys: " + strings.Join(sorted, ", ") + ")"
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}

func kindName(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "boolean (true or false)"
	case reflect.String:
		return "string"
	case reflect.Float32, reflect.Float64:
		return "number"
	}
	return "whole number"
}

var yamlLinePrefix = regexp.MustCompile(`^yaml: (unmarshal errors:\s*)?(line \d+: )?`)

// yamlMessage strips yaml/v3's own prefix and line number (we print ours).
func yamlMessage(err error) string {
	return strings.TrimSpace(yamlLinePrefix.ReplaceAllString(err.Error(), ""))
}
