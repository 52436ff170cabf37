package healthcheck

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFileChecker(t *testing.T) {
	p := filepath.Join(t.TempDir(), "state")
	tests := []struct {
		content string
		c       FileChecker
		ok      bool
		weight  int
	}{
		{"", FileChecker{}, true, NoWeight}, // missing file reads as 0
		{"0\n", FileChecker{}, true, NoWeight},
		{"1\n", FileChecker{}, false, NoWeight},
		{"3", FileChecker{Weight: 10, Dynamic: true}, true, 30},
		{"3", FileChecker{Weight: 100, Reverse: true}, false, NoWeight},
		{"junk", FileChecker{}, true, NoWeight},
	}
	for i, tt := range tests {
		os.Remove(p)
		if tt.content != "" {
			os.WriteFile(p, []byte(tt.content), 0o644)
		}
		tt.c.Path = p
		r := tt.c.Check(ctxTimeout(t, 1e9))
		if r.OK != tt.ok || r.Weight != tt.weight {
			t.Errorf("%d (%q): got %+v", i, tt.content, r)
		}
	}
}
