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

// TestMissingNetNamespace: every command that would enter a network
// namespace that does not exist says so, with how to make it, and fails;
// lbd -t too, with the position of the global section, without entering.
func TestMissingNetNamespace(t *testing.T) {
	dir := t.TempDir()
	name := "lbdtest-missing-" + filepath.Base(dir)
	file := filepath.Join(dir, "lbd.yaml")
	os.WriteFile(file, []byte("global:\n  net_namespace: "+name+"\n  control_socket: "+dir+"/control.sock\n"), 0o644)
	missing := "network namespace " + name + ": /var/run/netns/" + name + " does not exist (ip netns add " + name + " creates it)"
	for _, c := range []struct {
		args    []string
		code    int
		out, er string
	}{
		{[]string{"-t", "-f", file}, exitConfig, "", file + ":2:3: " + missing},
		{[]string{"-f", file}, exitConfig, "", `msg="lbd: cannot run in the network namespace" net_namespace=` + name + ` err="` + missing + `"`},
		{[]string{"release", "-f", file}, exitConfig, "", "lbd release: " + missing},
		{[]string{"plan", "-f", file}, exitConfig, "", "lbd plan: " + missing},
		{[]string{"doctor", "-f", file}, 1, "FAIL  network namespace            " + missing, ""},
	} {
		var out, errs bytes.Buffer
		code := run(context.Background(), c.args, &out, &errs)
		if code != c.code || !strings.Contains(out.String(), c.out) || !strings.Contains(errs.String(), c.er) {
			t.Errorf("lbd %q: exit %d (want %d)\nstdout %s\nstderr %s\nwant %q / %q", c.args, code, c.code, out.String(), errs.String(), c.out, c.er)
		}
	}
}
