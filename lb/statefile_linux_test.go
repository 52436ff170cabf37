package lb_test

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/lb"
)

// TestSaveStateErrors checks, without root, that a failed save names the
// state file and its cause rather than a temporary file.
func TestSaveStateErrors(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(notDir, lb.StateFile)
	err := lb.SaveState(path, lb.State{})
	if err == nil || err.Error() != path+": not a directory" || !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("save under a file: %v", err)
	}

	// A good save leaves the file and no temporary one; LoadState reads
	// back what was saved.
	path = filepath.Join(dir, "state", lb.StateFile)
	st := lb.State{Runtime: []lb.RuntimeServer{{VirtualServer: "TCP 198.51.100.10:80",
		Address: netip.MustParseAddrPort("192.0.2.16:8080"), Weight: 2}}}
	if err := lb.SaveState(path, st); err != nil {
		t.Fatal(err)
	}
	got, err := lb.LoadState(path)
	if err != nil || len(got.Runtime) != 1 || got.Runtime[0] != st.Runtime[0] {
		t.Errorf("read back %+v, %v", got, err)
	}
	if m := lab.AtomicTemps(t, path); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

// TestSaveStateFullDisk writes the state file on a full tmpfs: the save
// fails with ENOSPC naming the file, the old file keeps its content, no
// temporary file is left, and once space is freed the next save works.
func TestSaveStateFullDisk(t *testing.T) {
	lab.RequireRoot(t)
	dir := t.TempDir()
	lab.MountTinyTmpfs(t, dir, 64<<10)
	path := filepath.Join(dir, lb.StateFile)
	one := lb.State{Runtime: []lb.RuntimeServer{{VirtualServer: "TCP 198.51.100.10:80",
		Address: netip.MustParseAddrPort("192.0.2.16:8080"), Weight: 1}}}
	if err := lb.SaveState(path, one); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	filler := filepath.Join(dir, "filler")
	lab.FillDisk(t, filler)
	two := one
	two.Runtime = append(two.Runtime, lb.RuntimeServer{VirtualServer: "TCP 198.51.100.10:80",
		Address: netip.MustParseAddrPort("192.0.2.18:8080"), Weight: 1})
	err = lb.SaveState(path, two)
	if !errors.Is(err, syscall.ENOSPC) || err.Error() != path+": no space left on device" {
		t.Fatalf("save on a full disk: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Errorf("state file changed by the failed save:\n%s\nwas:\n%s", after, before)
	}
	if m := lab.AtomicTemps(t, path); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := lb.SaveState(path, two); err != nil {
		t.Fatalf("save once space is free: %v", err)
	}
	if got, err := lb.LoadState(path); err != nil || len(got.Runtime) != 2 {
		t.Errorf("read back %+v, %v", got, err)
	}
}
