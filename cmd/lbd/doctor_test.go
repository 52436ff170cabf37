package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestDoctorExitCodes(t *testing.T) {
	dir := t.TempDir()
	good := dir + "/lbd.yaml"
	if err := os.WriteFile(good, []byte("vrrp_instances: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := runDoctor([]string{"-f", good}, &out, &errb); code != 0 {
		t.Errorf("empty config: exit %d: %s%s", code, out.String(), errb.String())
	}
	bad := dir + "/bad.yaml"
	os.WriteFile(bad, []byte("vrrp_instancez: []\n"), 0o644)
	errb.Reset()
	if code := runDoctor([]string{"-f", bad}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "bad.yaml:1:1") {
		t.Errorf("bad config: exit %d: %s", code, errb.String())
	}
}

// TestDoctorCompareFlags checks that -compare is repeatable, that further
// addresses may follow the options, and that the local daemon is the
// configuration's control socket: with no daemon anywhere, each balancer
// is a failed check naming it.
func TestDoctorCompareFlags(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/lbd.yaml"
	local := dir + "/local.sock"
	os.WriteFile(file, []byte("global: {control_socket: "+local+"}\n"), 0o644)
	var out, errb bytes.Buffer
	code := runDoctor([]string{"-f", file, "--compare", dir + "/b.sock", "-compare=" + dir + "/c.sock", dir + "/d.sock"}, &out, &errb)
	if code != 1 {
		t.Errorf("exit %d, want 1: %s%s", code, out.String(), errb.String())
	}
	for _, s := range []string{local, dir + "/b.sock", dir + "/c.sock", dir + "/d.sock"} {
		if !strings.Contains(out.String(), "cannot read the tables of "+s+": lbd is not running") {
			t.Errorf("no finding for %s:\n%s", s, out.String())
		}
	}
	errb.Reset()
	if code := runDoctor([]string{"-f", file, "extra"}, &out, &errb); code != 2 {
		t.Errorf("an argument without -compare: exit %d", code)
	}
}
