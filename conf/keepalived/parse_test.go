package keepalived

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lbd-project/lbd/conf"
)

func parseString(t *testing.T, s string, ids ...string) ([]*Node, error) {
	t.Helper()
	return Parse("k.conf", []byte(s), ParseOptions{ConfigIDs: ids})
}

// convertString parses src, failing the test on a syntax error, and
// converts it.
func convertString(t *testing.T, src string) (Result, error) {
	t.Helper()
	nodes, err := parseString(t, src)
	if err != nil {
		t.Fatal(err)
	}
	return Convert("k.conf", nodes)
}

// convertValid converts src and parses the result as lbd does, failing
// the test on any error.
func convertValid(t *testing.T, src string) (Result, *conf.Config) {
	t.Helper()
	res, err := convertString(t, src)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := conf.Parse("converted.yaml", res.YAML)
	if err != nil {
		t.Fatalf("%v\n%s", err, res.YAML)
	}
	return res, cfg
}

func TestParseSyntax(t *testing.T) {
	nodes, err := parseString(t, `# comment before
global_defs { router_id "a b" ! trailing
}
vrrp_instance X
{
  virtual_ipaddress {
    192.0.2.1/24 dev eth0
  }
}
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 2 || nodes[0].Key != "global_defs" || nodes[1].Key != "vrrp_instance" {
		t.Fatalf("nodes %+v", nodes)
	}
	g := nodes[0]
	if got := g.Comments; len(got) != 1 || got[0] != "comment before" {
		t.Errorf("comments %q", got)
	}
	if r := g.Children[0]; r.Key != "router_id" || len(r.Args) != 1 || r.Args[0] != "a b" || r.Pos.Line != 2 ||
		len(r.Comments) != 1 || r.Comments[0] != "trailing" {
		t.Errorf("router_id node %+v", r)
	}
	v := nodes[1].Children[0].Children[0]
	if v.Key != "192.0.2.1/24" || strings.Join(v.Args, " ") != "dev eth0" || v.Pos.Line != 7 {
		t.Errorf("vip node %+v", v)
	}
}

func TestParseConditionsParamsSeq(t *testing.T) {
	src := `$A=1
$B=${A}0
@main priority $B
@^main priority 7
$M= \
x ${I} \
y
~SEQ(I, 1, 2, 5) $M
~SEQx(H, 10, 11) h ${H}
lit ${UNDEF} $1 ${_HASH}
`
	for _, tc := range []struct {
		ids  []string
		want string
	}{
		{nil, "priority 7|x 1|y|x 3|y|x 5|y|h a|h b|lit ${UNDEF} $1"},
		{[]string{"main"}, "priority 10|x 1|y|x 3|y|x 5|y|h a|h b|lit ${UNDEF} $1"},
	} {
		nodes, err := parseString(t, src, tc.ids...)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, n := range nodes {
			got = append(got, n.String())
		}
		if strings.Join(got, "|") != tc.want {
			t.Errorf("ids %v: got %q, want %q", tc.ids, strings.Join(got, "|"), tc.want)
		}
	}
}

// keepalived cuts comments before it reads a multi-line definition, and
// again after substituting parameters.
func TestParseCommentsAndDefinitions(t *testing.T) {
	src := "$RS= \\\n# the first server\n  a 1 \\\n  ! the second\n   \nb 2\n\nc 3\n" +
		"$RS\n$C=${_HASH}\n$C ignored\n$E=\n$E\n$H=${_HASH} x\nv $H\nafter 1\n"
	nodes, err := parseString(t, src)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range nodes {
		got = append(got, n.String())
	}
	// The comment and blank lines do not end $RS; "b 2" does.
	if want := "c 3|a 1|b 2|v|after 1"; strings.Join(got, "|") != want {
		t.Errorf("got %q, want %q", strings.Join(got, "|"), want)
	}
}

func TestParseInclude(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "d"), 0o755)
	os.WriteFile(filepath.Join(dir, "main.conf"), []byte("include d/*.conf\nlast 1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "d", "b.conf"), []byte("b 2\ninclude ../x.inc\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "d", "a.conf"), []byte("a 1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "x.inc"), []byte("x 3\n"), 0o644)
	nodes, err := ParseFile(filepath.Join(dir, "main.conf"), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range nodes {
		got = append(got, n.String()+"@"+filepath.Base(n.Pos.File))
	}
	if want := "a 1@a.conf b 2@b.conf x 3@x.inc last 1@main.conf"; strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", strings.Join(got, " "), want)
	}
	// An include loop is bounded.
	os.WriteFile(filepath.Join(dir, "loop.conf"), []byte("include loop.conf\n"), 0o644)
	if _, err := ParseFile(filepath.Join(dir, "loop.conf"), ParseOptions{}); err == nil || !strings.Contains(err.Error(), "nested") {
		t.Errorf("include loop: %v", err)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"global_defs {\n router_id x\n", "k.conf:1: '{' of \"global_defs\" is never closed"},
		{"a\n}\n", "k.conf:2: '}' without a matching '{'"},
		{"vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.300\n }\n}\n", "k.conf:5: virtual address"},
		{"virtual_server 192.0.2.1 http {\n}\n", "k.conf:1: virtual_server: port"},
		{"virtual_server 192.0.2.1 80 {\n real_server 192.0.2.x 80 {\n }\n}\n", "k.conf:2: real_server: \"192.0.2.x\" is not an IP address"},
		{"x \"unterminated\n", "k.conf:1: unterminated"},
		{"$A=$A $A\nv $A\n", "substitution"},
		{"$A=${A}${A}\n$A\n", "substitution"},
		{"~SEQ(i, 1, 1, 100000) x\n", "repeats more than"},
	} {
		nodes, err := parseString(t, tc.src)
		if err == nil {
			_, err = Convert("k.conf", nodes)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.src, err, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, tc := range corpus {
		if b, err := os.ReadFile(tc.path); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("$A=${A}${A}\n$A\n~SEQ(i,1,3) $A\n@x y\n{}{}}{"))
	f.Add([]byte("virtual_server_group G {\n 192.0.2.1-300 80\n fwmark 0\n}\nvirtual_server group G {\n}\n"))
	f.Add([]byte("virtual_server_group G {\n 10.0.0.0/22 80\n 2001:db8::fffe-2001:db8::1:1\n ::ffff:192.0.2.0/120 0\n 192.0.2.9-20x\n}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return
		}
		nodes, err := Parse("fuzz.conf", data, ParseOptions{
			ReadFile: func(string) ([]byte, error) { return nil, os.ErrNotExist },
			Glob:     func(string) ([]string, error) { return nil, nil },
		})
		if err != nil {
			return
		}
		Convert("fuzz.conf", nodes)
	})
}

// A finding about the converted file names the keepalived line it came from.
func TestValidationFindingPos(t *testing.T) {
	src := "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n priority 100\n" +
		" virtual_ipaddress {\n  192.0.2.1\n }\n}\n" +
		"vrrp_sync_group G {\n group {\n  V\n  W\n }\n}\n"
	res, err := convertString(t, src)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Findings {
		if f.Keyword == "lbd -t" {
			got = append(got, f.String())
		}
	}
	if len(got) == 0 || !strings.HasPrefix(got[0], "k.conf:9: ") || strings.Contains(got[0], "converted.yaml") {
		t.Errorf("findings %q, want one at k.conf:9 without converted.yaml", got)
	}
}

// Every keyword of keepalived 2.2.7's grammar is converted or reported,
// never refused as unknown.
func TestKeepalivedKeywordsKnown(t *testing.T) {
	b, err := os.ReadFile("testdata/keywords-2.2.7.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k := strings.TrimSpace(l); k != "" && !strings.HasPrefix(k, "#") && !knownKeywords[k] {
			t.Errorf("keepalived 2.2.7 keyword %q is not known", k)
		}
	}
}

// Scripts: a bare name is looked up in PATH, a relative path is taken from
// keepalived's working directory, shell syntax runs through a shell.
func TestScriptPaths(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mycheck"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	src := "vrrp_script a {\n script \"mycheck -0 haproxy\"\n}\n" +
		"vrrp_script b {\n script \"</dev/tcp/127.0.0.1/80\"\n}\n" +
		"vrrp_script c {\n script \"pidof x || exit 1\"\n}\n" +
		"vrrp_script d {\n script bin/check\n}\n" +
		"vrrp_script e {\n script nosuchprogram\n}\n"
	nodes, err := parseString(t, src)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Convert("k.conf", nodes)
	if err != nil {
		t.Fatal(err)
	}
	y := string(res.YAML)
	for _, want := range []string{
		"script: " + dir + "/mycheck -0 haproxy",
		"script: /bin/bash -c </dev/tcp/127.0.0.1/80",
		`script: [/bin/sh, -c, pidof x || exit 1]`,
		"script: /bin/check",
		"script: nosuchprogram",
	} {
		if !strings.Contains(y, want) {
			t.Errorf("converted file lacks %q:\n%s", want, y)
		}
	}
	r := Report(res.Findings)
	for _, want := range []string{"k.conf:2: note: script: mycheck resolved in PATH at import time to " + dir + "/mycheck",
		`k.conf:5: approximated: script: keepalived 2.2.7 runs a line starting "<" with /bin/sh -c: where /bin/sh is dash`,
		"k.conf:8: approximated: script: keepalived 2.2.7 runs no shell here: it runs pidof with the other words as its arguments",
		"k.conf:14: unsupported: script: nosuchprogram is not in PATH"} {
		if !strings.Contains(r, want) {
			t.Errorf("report lacks %q:\n%s", want, r)
		}
	}
}
