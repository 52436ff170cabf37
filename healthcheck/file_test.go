package healthcheck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
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

// FILE_CHECK on a FIFO answers at once instead of blocking past its
// deadline, and does not follow a symlink.
func TestFileCheckerHostileFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	done := make(chan Result, 1)
	go func() { done <- (&FileChecker{Path: fifo}).Check(ctx) }()
	select {
	case r := <-done:
		if !strings.Contains(r.Reason, "not a regular file") {
			t.Errorf("FIFO: %+v", r)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("FILE_CHECK on a FIFO ignored its 1s deadline")
	}
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte("5\n"), 0o600)
	link := filepath.Join(dir, "link")
	os.Symlink(secret, link)
	if r := (&FileChecker{Path: link}).Check(context.Background()); !r.OK || !strings.Contains(r.Reason, "not a regular file") {
		t.Errorf("symlink: %+v; want read as 0 and said so", r)
	}
}
