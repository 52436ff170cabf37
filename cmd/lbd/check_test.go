package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goodYAML = `
vrrp_scripts:
  - name: chk_web
    script: /bin/true
vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 51
    virtual_ipaddresses: [192.0.2.100]
    track_scripts: [{name: chk_web}]
  - name: VI_2
    interface: eth0
    virtual_router_id: 52
    virtual_ipaddresses: [192.0.2.110]
vrrp_sync_groups:
  - name: G
    group: [VI_1, VI_2]
`

func TestCheckMode(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, []byte(goodYAML), 0o644)
	os.WriteFile(bad, []byte(`vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 51
    advert_interval: fast
    virtual_ipaddresses: [192.0.2.100]
    priorty: 10
`), 0o644)
	cases := []struct {
		args       []string
		code       int
		out, errs  []string
		noOut, noE bool
	}{
		{args: []string{"-t", "-f", good}, code: 0, out: []string{good + " is valid: 2 vrrp instances, 1 sync groups, 1 vrrp scripts"}, noE: true},
		{args: []string{"-t", "-f", bad}, code: 1, noOut: true,
			errs: []string{bad + ":7:5: ", "priorty", bad + ":5:22: ", "invalid duration", bad + ": 2 errors"}},
		{args: []string{"-t", "-f", filepath.Join(dir, "missing.yaml")}, code: 1, noOut: true, errs: []string{"no such file"}},
		{args: []string{"-t", "extra"}, code: 2, errs: []string{"unexpected argument"}},
		{args: []string{"-bogus"}, code: 2, errs: []string{"flag provided but not defined"}},
	}
	for _, c := range cases {
		var out, errs bytes.Buffer
		code := run(context.Background(), c.args, &out, &errs)
		if code != c.code {
			t.Errorf("lbd %q: exit %d, want %d; stderr %s", c.args, code, c.code, errs.String())
		}
		for _, s := range c.out {
			if !strings.Contains(out.String(), s) {
				t.Errorf("lbd %q: stdout %q lacks %q", c.args, out.String(), s)
			}
		}
		for _, s := range c.errs {
			if !strings.Contains(errs.String(), s) {
				t.Errorf("lbd %q: stderr %q lacks %q", c.args, errs.String(), s)
			}
		}
		if c.noOut && out.Len() > 0 {
			t.Errorf("lbd %q: stdout %q", c.args, out.String())
		}
		if c.noE && errs.Len() > 0 {
			t.Errorf("lbd %q: stderr %q", c.args, errs.String())
		}
	}
}
