package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testdata is conf/keepalived's corpus of keepalived.conf files.
const testdata = "../../conf/keepalived/testdata"

func TestRunImport(t *testing.T) {
	var out, errb bytes.Buffer
	if code := runImport([]string{testdata + "/dr_web_http_digest.conf"}, &out, &errb); code != exitOK {
		t.Errorf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "virtual_servers:") || !strings.Contains(errb.String(), "note: smtp_server") {
		t.Errorf("stdout %q stderr %q", out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := runImport([]string{testdata + "/unsupported.conf"}, &out, &errb); code != exitBehaviour {
		t.Errorf("unsupported.conf: exit %d, want %d", code, exitBehaviour)
	}
	dst := filepath.Join(t.TempDir(), "lbd.yaml")
	if code := runImport([]string{"-o", dst, "-i", "lb1", testdata + "/include_param_seq/keepalived.conf"}, &out, &errb); code != exitOK {
		t.Errorf("-o: exit %d: %s", code, errb.String())
	}
	if b, err := os.ReadFile(dst); err != nil || !bytes.Contains(b, []byte("priority: 150")) {
		t.Errorf("-o file: %v %s", err, b)
	}
	if code := runImport([]string{testdata + "/missing.conf"}, &out, &errb); code != exitError {
		t.Errorf("missing file: exit %d", code)
	}
	if code := runImport(nil, &out, &errb); code != exitError {
		t.Errorf("no args: exit %d", code)
	}
}
