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
