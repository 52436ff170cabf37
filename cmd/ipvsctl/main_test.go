package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/lbd-project/lbd/internal/version"
)

// TestVersion checks that -v and --version print ipvsadm's line, as
// ipvsadm does (TestVMIpvsadmCompat compares it with the real one), then
// lbd's version; no kernel is needed.
func TestVersion(t *testing.T) {
	for _, arg := range []string{"-v", "--version"} {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"ipvsctl", arg}, strings.NewReader(""), &out, &errb)
		want := "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\nipvsctl (lbd " + version.Version + ")\n"
		if code != 0 || out.String() != want || errb.Len() != 0 {
			t.Errorf("ipvsctl %s: exit %d, stdout %q, stderr %q; want 0, %q", arg, code, out.String(), errb.String(), want)
		}
	}
}
