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

func TestInit(t *testing.T) {
	dir := t.TempDir()
	read := func(p string) string { b, _ := os.ReadFile(p); return string(b) }

	fresh := filepath.Join(dir, "fresh")
	if wrote, err := Init(fresh, []byte("5\n"), false); !wrote || err != nil || read(fresh) != "5\n" {
		t.Errorf("new file: wrote %v, %v, content %q", wrote, err, read(fresh))
	}
	if st, _ := os.Stat(fresh); st.Mode().Perm()&0o022 != 0 {
		t.Errorf("new file mode %v: others can write it", st.Mode())
	}
	// An existing file is left alone, unless overwrite.
	if wrote, err := Init(fresh, []byte("7\n"), false); wrote || err != nil || read(fresh) != "5\n" {
		t.Errorf("existing file: wrote %v, %v, content %q", wrote, err, read(fresh))
	}
	if wrote, err := Init(fresh, []byte("7\n"), true); !wrote || err != nil || read(fresh) != "7\n" {
		t.Errorf("overwrite: wrote %v, %v, content %q", wrote, err, read(fresh))
	}

	// Never through a symbolic link, dangling or not: the target stays.
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("secret\n"), 0o600)
	for _, name := range []string{"link", "dangling"} {
		link := filepath.Join(dir, name)
		to := target
		if name == "dangling" {
			to = filepath.Join(dir, "nowhere")
		}
		os.Symlink(to, link)
		if _, err := Init(link, []byte("0\n"), true); !errors.Is(err, ErrNotRegular) {
			t.Errorf("%s: %v, want ErrNotRegular", name, err)
		}
	}
	if read(target) != "secret\n" {
		t.Errorf("the link's target was written: %q", read(target))
	}
	if _, err := os.Lstat(filepath.Join(dir, "nowhere")); err == nil {
		t.Error("the dangling link's target was created")
	}

	// A FIFO is refused without blocking (opening it for writing would
	// wait for a reader).
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := Init(fifo, []byte("0\n"), true); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) {
			t.Errorf("FIFO: %v, want ErrNotRegular", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("writing a FIFO blocked")
	}
	if _, err := Init(filepath.Join(dir, "no/such/dir/f"), []byte("0\n"), false); err == nil {
		t.Error("a file in a missing directory: no error")
	}
}
