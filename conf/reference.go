package conf

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Reference renders docs/config.md, the configuration reference, from the
// JSON Schema: one section per mapping, one row per key with its type and
// documentation (defaults and keepalived equivalents are in the latter,
// since they come from the same doc comments as the code).
func Reference() ([]byte, error) {
	raw, err := Schema()
	if err != nil {
		return nil, err
	}
	var root map[string]any
	if err := json.Unmarshal(raw, &root); err != nil {
		return nil, err
	}
	defs, _ := root["$defs"].(map[string]any)
	var b strings.Builder
	b.WriteString("# lbd configuration reference\n\n")
	b.WriteString("Generated from the Go definitions by `go generate ./conf`; do not edit.\n")
	b.WriteString("`lbd -t -f FILE` checks a file against all of this plus the cross-field rules.\n")
	b.WriteString("Durations are Go durations (`1s`, `100ms`) or seconds as numbers, like keepalived's.\n")
	b.WriteString("Unknown keys are errors. The JSON Schema for editors is `conf/lbd.schema.json`.\n\n")

	// Sections in the order a reader meets them: breadth first from the root.
	queue, seen := []string{""}, map[string]bool{"": true}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		obj := root
		title := "Top level"
		if name != "" {
			obj, _ = defs[name].(map[string]any)
			title = name
		}
		props, _ := obj["properties"].(map[string]any)
		if len(props) == 0 {
			continue
		}
		fmt.Fprintf(&b, "## %s\n\n", title)
		if d, _ := obj["description"].(string); d != "" && name != "" {
			b.WriteString(d + "\n\n")
		}
		b.WriteString("| key | type | description |\n|---|---|---|\n")
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p, _ := props[k].(map[string]any)
			typ, refs := typeOf(p)
			for _, r := range refs {
				if !seen[r] {
					seen[r] = true
					queue = append(queue, r)
				}
			}
			desc, _ := p["description"].(string)
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", k, typ, strings.ReplaceAll(desc, "|", "\\|"))
		}
		b.WriteString("\n")
	}
	return []byte(b.String()), nil
}

// typeOf describes a property's type and names the definitions it uses.
func typeOf(p map[string]any) (string, []string) {
	if ref, ok := p["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/$defs/")
		return "[" + name + "](#" + strings.ToLower(name) + ")", []string{name}
	}
	if all, ok := p["allOf"].([]any); ok && len(all) == 1 {
		if inner, ok := all[0].(map[string]any); ok {
			return typeOf(inner)
		}
	}
	if enum, ok := p["enum"].([]any); ok {
		var vals []string
		for _, v := range enum {
			vals = append(vals, fmt.Sprintf("`%v`", v))
		}
		return strings.Join(vals, ", "), nil
	}
	switch t := p["type"].(type) {
	case string:
		if t == "array" {
			items, _ := p["items"].(map[string]any)
			inner, refs := typeOf(items)
			return "list of " + inner, refs
		}
		if t == "object" {
			if ap, ok := p["additionalProperties"].(map[string]any); ok {
				inner, refs := typeOf(ap)
				return "map of " + inner, refs
			}
		}
		return t, nil
	case []any:
		var ts []string
		for _, x := range t {
			ts = append(ts, fmt.Sprint(x))
		}
		return strings.Join(ts, " or "), nil
	}
	if alts, ok := p["anyOf"].([]any); ok {
		var ts []string
		var refs []string
		for _, x := range alts {
			m, _ := x.(map[string]any)
			s, r := typeOf(m)
			ts, refs = append(ts, s), append(refs, r...)
		}
		return strings.Join(ts, " or "), refs
	}
	return "", nil
}
