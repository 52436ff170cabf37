package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/lbd-project/lbd/internal/version"
)

func TestVersion(t *testing.T) {
	for _, arg := range []string{"-version", "--version"} {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{arg}, &out, &errb)
		if want := "lbd " + version.Version + "\n"; code != exitOK || out.String() != want || errb.Len() != 0 {
			t.Errorf("lbd %s: exit %d, stdout %q, stderr %q; want %q", arg, code, out.String(), errb.String(), want)
		}
	}
}
