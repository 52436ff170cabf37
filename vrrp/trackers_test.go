package vrrp

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

func TestHysteresis(t *testing.T) {
	h := hysteresis{up: true, rise: 2, fall: 3}
	var changes []bool
	for _, ok := range []bool{false, false, true, false, false, false, true, true, false, true} {
		if h.add(ok) {
			changes = append(changes, h.up)
		}
	}
	// down after 3 consecutive failures (the success resets the count),
	// up again after 2 consecutive successes.
	if !slices.Equal(changes, []bool{false, true}) || !h.up {
		t.Errorf("changes %v, up %v", changes, h.up)
	}
}

func TestReadTrackFile(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		content string
		want    int
		err     bool
	}{{"5\n", 5, false}, {"-3", -3, false}, {"", 0, false}, {"x", 0, true}} {
		p := filepath.Join(dir, "f")
		os.WriteFile(p, []byte(c.content), 0o644)
		v, err := ReadTrackFile(p)
		if v != c.want || (err != nil) != c.err {
			t.Errorf("%q: %d, %v", c.content, v, err)
		}
	}
	if v, err := ReadTrackFile(filepath.Join(dir, "missing")); v != 0 || err == nil {
		t.Errorf("missing file: %d, %v", v, err)
	}
}

// Track files are written by others: a FIFO, a symlink or a 64 GB sparse
// file must neither block, nor be followed, nor be read whole.
func TestReadTrackFileHostile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := ReadTrackFile(fifo); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a FIFO read as a track file without error")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("reading a FIFO track file blocked")
	}
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte("42\n"), 0o600)
	link := filepath.Join(dir, "link")
	os.Symlink(secret, link)
	if v, err := ReadTrackFile(link); v != 0 || err == nil {
		t.Errorf("symlinked track file: %d, %v; want refused", v, err)
	}
	huge := filepath.Join(dir, "huge")
	f, _ := os.Create(huge)
	f.WriteString("7\n")
	if err := f.Truncate(64 << 30); err != nil {
		t.Skipf("sparse file: %v", err)
	}
	f.Close()
	if v, err := ReadTrackFile(huge); v != 7 || err != nil {
		t.Errorf("64 GB sparse track file: %d, %v; want 7", v, err)
	}
}
