package lab

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// These helpers fill a disk on purpose, for tests of what a full disk
// does to a file that must survive (lbd's run-time state file).

// MountTinyTmpfs mounts a tmpfs of size bytes on dir (which must exist)
// and unmounts it when the test ends. The mount is in the host's mount
// namespace, but on a directory of the test's own, so nothing else sees
// it; a mount namespace of its own would not do, since the code under
// test (a daemon) may run on other threads of this process.
func MountTinyTmpfs(t *testing.T, dir string, size int) {
	t.Helper()
	RequireRoot(t)
	opts := "size=" + strconv.Itoa(size) + ",mode=0700"
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, opts); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			// Busy (a file still open): detach it, the kernel frees it
			// once the last user is gone.
			if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
				t.Errorf("unmount %s: %v", dir, err)
			}
		}
	})
}

// FillDisk writes file until the file system is full.
// The tmpfs's size bounds the loop; the byte cap is a second bound should
// the mount not be what the test thinks.
func FillDisk(t *testing.T, file string) {
	t.Helper()
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for written := 0; written < 64<<20; written += len(chunk) {
		if _, err = f.Write(chunk); err != nil {
			break
		}
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling %s: want ENOSPC, got %v", file, err)
	}
	// Leave not even a partial page: a one-byte write must fail too.
	for range 4096 {
		if _, err := f.Write(chunk[:1]); err != nil {
			return
		}
	}
	t.Fatalf("%s: the file system does not fill up", file)
}

// AtomicTemps lists the temporary files an atomic replacement of path
// (a ".NAME.*" file next to it, renamed over it) left behind: a write,
// failed or not, must leave none.
func AtomicTemps(t *testing.T, path string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
