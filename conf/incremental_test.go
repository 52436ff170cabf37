package conf

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// sameParse checks that p.Parse and Parse agree on data: the same
// configuration or the same errors.
func sameParse(t *testing.T, p *Parser, name string, data []byte) *Config {
	t.Helper()
	want, wantErr := Parse(name, data)
	got, gotErr := p.Parse(name, data)
	if (wantErr == nil) != (gotErr == nil) || wantErr != nil && wantErr.Error() != gotErr.Error() {
		t.Fatalf("errors differ for\n%s\nParse: %v\nParser: %v", data, wantErr, gotErr)
	}
	var cmp *Config
	if got != nil { // origin, Parser's own mark, is not part of the value
		c := *got
		c.VirtualServers = slices.Clone(got.VirtualServers)
		for i := range c.VirtualServers {
			c.VirtualServers[i].origin = nil
		}
		cmp = &c
	}
	if !reflect.DeepEqual(want, cmp) {
		t.Fatalf("configurations differ for\n%s\nParse: %+v\nParser: %+v", data, want, got)
	}
	return got
}

// exampleFiles are the repository's lbd configurations.
func exampleFiles(t *testing.T) map[string][]byte {
	files := map[string][]byte{"lb_example": []byte(lbExample), "example": []byte(example)}
	paths, _ := filepath.Glob("keepalived/testdata/*.yaml")
	paths = append(paths, "../systemd/lbd.yaml")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[p] = b
	}
	return files
}

func TestParserMatchesParse(t *testing.T) {
	for name, data := range exampleFiles(t) {
		t.Run(name, func(t *testing.T) {
			p := &Parser{}
			c := sameParse(t, p, name, data)
			if len(c.VirtualServers) > 0 && len(p.items) == 0 {
				t.Error("the file was read whole, not item by item")
			}
			sameParse(t, p, name, data) // from memory
		})
	}
}

// TestParserReusesUnchangedItems checks the point of Parser: a second read
// reuses every item whose text and line are unchanged and decodes the
// rest, with positions and values as Parse gives them.
func TestParserReusesUnchangedItems(t *testing.T) {
	base := `global:
  router_id: lb1
virtual_servers:
  - address: 192.0.2.10:80
    real_servers: [198.51.100.1:80, 198.51.100.2:80]

  # a comment between items
  - address: 192.0.2.11:80
    check: {type: TCP}
    real_servers:
      - 198.51.100.3:80
  - address: 192.0.2.12:80
    real_servers: [198.51.100.4:80]
vrrp_instances: []
`
	p := &Parser{}
	first := sameParse(t, p, "lbd.yaml", []byte(base))
	if len(p.items) != 3 {
		t.Fatalf("remembered %d items, want 3", len(p.items))
	}

	// Change the second item's weight in place: the others are reused.
	edited := strings.Replace(base, "- 198.51.100.3:80", "- {address: 198.51.100.3:80, weight: 5}", 1)
	second := sameParse(t, p, "lbd.yaml", []byte(edited))
	if first.VirtualServers[0].RealServers == nil ||
		&first.VirtualServers[0].RealServers[0] != &second.VirtualServers[0].RealServers[0] {
		t.Error("the unchanged first item was decoded again, not reused")
	}
	if &first.VirtualServers[1].RealServers[0] == &second.VirtualServers[1].RealServers[0] {
		t.Error("the edited item was reused")
	}
	if !first.VirtualServers[0].Same(&second.VirtualServers[0]) || first.VirtualServers[1].Same(&second.VirtualServers[1]) {
		t.Error("Same does not tell the reused item from the edited one")
	}
	if plain, _ := Parse("lbd.yaml", []byte(base)); plain.VirtualServers[0].Same(&plain.VirtualServers[0]) {
		t.Error("Same holds for a virtual server Parse read")
	}
	if w := *second.VirtualServers[1].RealServers[0].Weight; w != 5 {
		t.Errorf("edited weight = %d, want 5", w)
	}

	// A line inserted above the third item moves it: decoded again, with
	// its new position.
	moved := strings.Replace(edited, "  - address: 192.0.2.12:80\n", "  # moved\n  - address: 192.0.2.12:80\n", 1)
	third := sameParse(t, p, "lbd.yaml", []byte(moved))
	if got := third.VirtualServers[2].Pos.Line; got != 13 {
		t.Errorf("moved item at line %d, want 13", got)
	}

	// An error in an item is reported exactly as Parse reports it.
	bad := strings.Replace(moved, "address: 192.0.2.12:80", "adress: 192.0.2.12:80", 1)
	if _, err := p.Parse("lbd.yaml", []byte(bad)); err == nil || !strings.Contains(err.Error(), `lbd.yaml:13:5: unknown key "adress"`) {
		t.Errorf("bad item: %v", err)
	}
	sameParse(t, p, "lbd.yaml", []byte(bad))
}

// TestParserLayouts covers files the splitter must read whole or split
// correctly; each must match Parse.
func TestParserLayouts(t *testing.T) {
	cases := map[string]string{
		"sequence at column 1":  "virtual_servers:\n- address: 192.0.2.10:80\n  real_servers: [198.51.100.1:80]\n- address: 192.0.2.11:80\n",
		"flow sequence":         "virtual_servers: [{address: 192.0.2.10:80}]\n",
		"flow on the next line": "virtual_servers:\n  [{address: 192.0.2.10:80}]\n",
		"empty":                 "virtual_servers:\nglobal: {router_id: x}\n",
		"no virtual servers":    "global: {router_id: x}\n",
		"anchor across items": "virtual_servers:\n  - address: 192.0.2.10:80\n    check: &c {type: TCP}\n" +
			"  - address: 192.0.2.11:80\n    check: *c\n",
		"anchor from global": "global: {router_id: &r x}\nvirtual_servers:\n  - address: 192.0.2.10:80\n    name: *r\n",
		"key twice":          "virtual_servers:\n  - address: 192.0.2.10:80\nvirtual_servers:\n  - address: 192.0.2.11:80\n",
		"tab indentation":    "virtual_servers:\n\t- address: 192.0.2.10:80\n",
		"less indented line": "virtual_servers:\n    - address: 192.0.2.10:80\n  - address: 192.0.2.11:80\n",
		"two documents":      "virtual_servers:\n  - address: 192.0.2.10:80\n---\nglobal: {}\n",
		"block scalar":       "virtual_servers:\n  - address: 192.0.2.10:80\n    notify_up: |\n      /bin/true\n      - not an item\n",
		"crlf":               "virtual_servers:\r\n  - address: 192.0.2.10:80\r\n  - address: 192.0.2.11:80\r\n",
		"comment after key":  "virtual_servers: # managed\n  - address: 192.0.2.10:80 # web\n",
		"quoted key value":   "global: {router_id: \"a\nvirtual_servers:\n\"}\n",
		"syntax error":       "virtual_servers:\n  - address: [192.0.2.10:80\n  - address: 192.0.2.11:80\n",
		"null item":          "virtual_servers:\n  -\n  - address: 192.0.2.11:80\n",
		"directive":          "%YAML 1.2\n---\nvirtual_servers:\n  - address: 192.0.2.10:80\n",
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			p := &Parser{}
			sameParse(t, p, "lbd.yaml", []byte(text))
			sameParse(t, p, "lbd.yaml", []byte(text))
		})
	}
}

// FuzzParser checks Parser against Parse on arbitrary files, read after a
// valid one so memory is in play.
func FuzzParser(f *testing.F) {
	f.Add(lbExample)
	f.Add("virtual_servers:\n- address: 192.0.2.10:80\n  real_servers: [198.51.100.1:80]\n")
	f.Fuzz(func(t *testing.T, text string) {
		p := &Parser{}
		if _, err := p.Parse("lbd.yaml", []byte(lbExample)); err != nil {
			t.Fatal(err)
		}
		sameParse(t, p, "lbd.yaml", []byte(text))
	})
}
