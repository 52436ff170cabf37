package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestReadPrefix(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "weight")
	os.WriteFile(plain, []byte("12 rest of the line\n"), 0o644)
	if b, err := ReadPrefix(plain, 5); err != nil || string(b) != "12 re" {
		t.Errorf("regular file: %q, %v", b, err)
	}

	// A FIFO nobody writes to: opening it for reading would block
	// forever without O_NONBLOCK.
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := ReadPrefix(fifo, 64); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) {
			t.Errorf("FIFO: %v, want ErrNotRegular", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reading a FIFO blocked")
	}

	// A symbolic link is refused, so a track file cannot point lbd at
	// another file.
	link := filepath.Join(dir, "link")
	os.Symlink(plain, link)
	if _, err := ReadPrefix(link, 64); !errors.Is(err, ErrNotRegular) {
		t.Errorf("symlink: %v, want ErrNotRegular", err)
	}

	// A 64 GB sparse file: only the prefix is read.
	huge := filepath.Join(dir, "huge")
	f, _ := os.Create(huge)
	f.WriteString("7\n")
	if err := f.Truncate(64 << 30); err != nil {
		t.Skipf("sparse file: %v", err)
	}
	f.Close()
	if b, err := ReadPrefix(huge, 64); err != nil || len(b) != 64 || string(b[:2]) != "7\n" {
		t.Errorf("sparse file: %d bytes, %v", len(b), err)
	}

	if _, err := ReadPrefix(filepath.Join(dir, "missing"), 64); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
