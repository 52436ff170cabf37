package conf

import (
	"encoding/json"

	"reflect"
	"strings"
)

//go:generate go test -run ^Test(Schema|Reference)UpToDate$ -update .

// Schema returns a JSON Schema (draft 2020-12) of the configuration file,
// generated from the same Go types the decoder fills: keys are their yaml
// tags, descriptions their doc comments (collected into docs by
// `go generate`), enumerations their enum tags. Editors use it to complete
// and check lbd.yaml; lbd -t remains the authority (cross-field rules are
// not expressible in the schema).
func Schema() ([]byte, error) {
	g := schemaGen{defs: map[string]any{}}
	root := g.object(reflect.TypeFor[Config]())
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = "https://github.com/lbd-project/lbd/conf/lbd.schema.json"
	root["title"] = "lbd configuration"
	root["$defs"] = g.defs
	out, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

type schemaGen struct {
	defs map[string]any
}

// scalar schemas of the types that decode from text.
var textSchemas = map[reflect.Type]map[string]any{
	reflect.TypeFor[Duration]():    {"type": []string{"string", "number"}, "pattern": `^([0-9.]+|([0-9.]+(ns|us|µs|ms|s|m|h))+)$`},
	reflect.TypeFor[Command]():     {"anyOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "array", "items": map[string]any{"type": "string"}}}},
	reflect.TypeFor[Addr]():        {"type": "string"},
	reflect.TypeFor[Prefix]():      {"type": "string"},
	reflect.TypeFor[HostPort]():    {"type": "string"},
	reflect.TypeFor[AddrRange]():   {"type": "string"},
	reflect.TypeFor[Netmask]():     {"type": []string{"string", "integer"}},
	reflect.TypeFor[StatusRange](): {"type": []string{"string", "integer"}},
}

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s, ok := textSchemas[t]; ok {
		name := t.Name()
		if _, done := g.defs[name]; !done {
			def := map[string]any{}
			for k, v := range s {
				def[k] = v
			}
			if d := docs[name]; d != "" {
				def["description"] = d
			}
			g.defs[name] = def
		}
		return map[string]any{"$ref": "#/$defs/" + name}
	}
	switch t.Kind() {
	case reflect.Struct:
		name := t.Name()
		if _, done := g.defs[name]; !done {
			g.defs[name] = nil // placeholder against recursion
			g.defs[name] = g.object(t)
		}
		ref := map[string]any{"$ref": "#/$defs/" + name}
		if reflect.PointerTo(t).Implements(textUnmarshal) {
			// The one-string shorthand.
			return map[string]any{"anyOf": []any{map[string]any{"type": "string"}, ref}}
		}
		return ref
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Int, reflect.Int64, reflect.Int32:
		return map[string]any{"type": "integer"}
	case reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return map[string]any{"type": "integer", "minimum": 0, "maximum": uint64(1)<<(t.Bits()) - 1}
	case reflect.Float64:
		return map[string]any{"type": "number"}
	}
	return map[string]any{}
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		s := g.schema(f.Type)
		if enum := f.Tag.Get("enum"); enum != "" {
			s["enum"] = strings.Split(enum, ",")
		}
		if d := docs[t.Name()+"."+f.Name]; d != "" {
			if _, isRef := s["$ref"]; isRef {
				s = map[string]any{"allOf": []any{s}}
			}
			s["description"] = d
		}
		props[name] = s
	}
	out := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if d := docs[t.Name()]; d != "" {
		out["description"] = d
	}
	return out
}
