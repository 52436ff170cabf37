package daemon

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/lbd-project/lbd/internal/control"
	"github.com/lbd-project/lbd/internal/ipvsadm"
	lbdctl "github.com/lbd-project/lbd/internal/ipvsctl"
	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/ipvs/ipvstest"
	"github.com/lbd-project/lbd/lb"
)

// mountTinyTmpfs mounts a tmpfs of size bytes on dir (which must exist)
// and unmounts it when the test ends. The mount is in the host's mount
// namespace, but on a directory of the test's own, so nothing else sees
// it; a mount namespace of its own would not do, since the daemon under
// test runs on other threads of this process.
func mountTinyTmpfs(t *testing.T, dir string, size int) {
	t.Helper()
	lab.RequireRoot(t)
	opts := "size=" + itoa(size) + ",mode=0700"
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

// fillDisk writes file until the file system is full and returns its path.
// The tmpfs's size bounds the loop; the byte cap is a second bound should
// the mount not be what the test thinks.
func fillDisk(t *testing.T, file string) {
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

// tempFiles lists the leftovers of saveState (".runtime.json.*") in dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "."+StateFile+".*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSaveStateErrors checks, without root, that a failed save names the
// state file and its cause rather than a temporary file.
func TestSaveStateErrors(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(notDir, StateFile)
	err := saveState(path, lb.State{})
	if err == nil || err.Error() != path+": not a directory" || !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("save under a file: %v", err)
	}

	// A good save leaves the file and no temporary one; loadState reads
	// back what was saved.
	path = filepath.Join(dir, "state", StateFile)
	st := lb.State{Runtime: []lb.RuntimeServer{{VirtualServer: "TCP 198.51.100.10:80",
		Address: netip.MustParseAddrPort("192.0.2.16:8080"), Weight: 2}}}
	if err := saveState(path, st); err != nil {
		t.Fatal(err)
	}
	got, err := loadState(path)
	if err != nil || len(got.Runtime) != 1 || got.Runtime[0] != st.Runtime[0] {
		t.Errorf("read back %+v, %v", got, err)
	}
	if m := tempFiles(t, filepath.Dir(path)); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

// TestSaveStateFullDisk writes the state file on a full tmpfs: the save
// fails with ENOSPC naming the file, the old file keeps its content, no
// temporary file is left, and once space is freed the next save works.
func TestSaveStateFullDisk(t *testing.T) {
	lab.RequireRoot(t)
	dir := t.TempDir()
	mountTinyTmpfs(t, dir, 64<<10)
	path := filepath.Join(dir, StateFile)
	one := lb.State{Runtime: []lb.RuntimeServer{{VirtualServer: "TCP 198.51.100.10:80",
		Address: netip.MustParseAddrPort("192.0.2.16:8080"), Weight: 1}}}
	if err := saveState(path, one); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	filler := filepath.Join(dir, "filler")
	fillDisk(t, filler)
	two := one
	two.Runtime = append(two.Runtime, lb.RuntimeServer{VirtualServer: "TCP 198.51.100.10:80",
		Address: netip.MustParseAddrPort("192.0.2.18:8080"), Weight: 1})
	err = saveState(path, two)
	if !errors.Is(err, syscall.ENOSPC) || err.Error() != path+": no space left on device" {
		t.Fatalf("save on a full disk: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Errorf("state file changed by the failed save:\n%s\nwas:\n%s", after, before)
	}
	if m := tempFiles(t, dir); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := saveState(path, two); err != nil {
		t.Fatalf("save once space is free: %v", err)
	}
	if got, err := loadState(path); err != nil || len(got.Runtime) != 2 {
		t.Errorf("read back %+v, %v", got, err)
	}
}

// TestDaemonStateFullDisk runs the daemon (fake kernel and links) with
// state_dir on a tiny tmpfs, fills it, and makes run-time changes through
// ipvsctl as an operator would: each is refused with an error that names
// the state file and ENOSPC, to the client and in the log; the services,
// real servers and VIP stay as they were, the daemon keeps answering,
// and the state file keeps its last good content. Once space is freed the
// same change is made and saved.
func TestDaemonStateFullDisk(t *testing.T) {
	lab.RequireRoot(t)
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	if err := os.Mkdir(stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	mountTinyTmpfs(t, stateDir, 64<<10)
	statePath := filepath.Join(stateDir, StateFile)
	file := filepath.Join(dir, "lbd.yaml")
	if err := os.WriteFile(file, []byte(strings.ReplaceAll(controlYAML, "DIR", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	h, k := newFakeHost(), ipvstest.NewKernel()
	up := &atomic.Bool{}
	up.Store(true)
	var logBuf bytes.Buffer
	td := startTestDaemonLog(t, file, h, k, up, &syncWriter{w: &logBuf})
	waitFor(t, "VI_1 master and its service installed", func() bool {
		return strings.Contains(td.rules(), "TCP 198.51.100.11:80\n  192.0.2.17:8080 w1")
	})

	ipvsctl := func(args ...string) (string, int) {
		t.Helper()
		var out, errb bytes.Buffer
		env := lbdctl.Env{Env: ipvsadm.Env{Stdout: &out, Stderr: &errb}, Socket: filepath.Join(dir, "control.sock")}
		code := lbdctl.Run(context.Background(), env, append([]string{"ipvsctl"}, args...))
		return out.String() + errb.String(), code
	}
	if out, code := ipvsctl("-a", "-t", "198.51.100.10:80", "-r", "192.0.2.16:8080", "-w", "2"); code != 0 {
		t.Fatalf("ipvsctl -a with room on the disk: exit %d: %s", code, out)
	}
	waitFor(t, "runtime server in the kernel", func() bool { return strings.Contains(td.rules(), "192.0.2.16:8080 w2") })
	before, err := os.ReadFile(statePath)
	if err != nil || !bytes.Contains(before, []byte(`"192.0.2.16:8080"`)) {
		t.Fatalf("state file: %s, %v", before, err)
	}
	rules := td.rules()

	filler := filepath.Join(stateDir, "filler")
	fillDisk(t, filler)

	// Every change that needs a save is refused, and says why.
	wantMsg := "lb: cannot save the run-time state, nothing changed: " + statePath + ": no space left on device"
	for _, args := range [][]string{
		{"-a", "-t", "198.51.100.10:80", "-r", "192.0.2.18:8080"},
		{"-e", "-t", "198.51.100.10:80", "-r", "192.0.2.16:8080", "-w", "5"},
		{"-d", "-t", "198.51.100.10:80", "-r", "192.0.2.16:8080"},
		{"drain", "-t", "198.51.100.10:80", "-r", "192.0.2.15:8080"},
	} {
		out, code := ipvsctl(args...)
		if code == 0 || strings.TrimSpace(out) != wantMsg {
			t.Errorf("ipvsctl %s on a full disk: exit %d: %q\nwant a failure with %q", strings.Join(args, " "), code, out, wantMsg)
		}
	}

	// Nothing running is lost or changed.
	if got := td.rules(); got != rules {
		t.Errorf("kernel table changed by refused changes:\n%s\nwas:\n%s", got, rules)
	}
	if n := h.vips.count(); n != 1 {
		t.Errorf("%d VIPs installed, want 1", n)
	}
	var st control.StatusResult
	if err := td.call(control.MethodStatus, nil, &st); err != nil {
		t.Fatalf("status after the refused changes: %v", err)
	}
	for _, vs := range st.VirtualServers {
		for _, r := range vs.RealServers {
			if r.Disabled || r.Address == "192.0.2.18" {
				t.Errorf("status shows a refused change: %+v", r)
			}
		}
	}
	if after, _ := os.ReadFile(statePath); !bytes.Equal(after, before) {
		t.Errorf("state file changed by the failed saves:\n%s\nwas:\n%s", after, before)
	}
	if m := tempFiles(t, stateDir); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
	log := logBuf.String()
	if !strings.Contains(log, "cannot save the run-time state") || !strings.Contains(log, statePath+": no space left on device") {
		t.Errorf("the log does not report the failed save:\n%s", log)
	}

	// Space freed: the same change goes through and is saved.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if out, code := ipvsctl("-a", "-t", "198.51.100.10:80", "-r", "192.0.2.18:8080"); code != 0 {
		t.Fatalf("ipvsctl -a once space is free: exit %d: %s", code, out)
	}
	waitFor(t, "second runtime server in the kernel", func() bool { return strings.Contains(td.rules(), "192.0.2.18:8080 w1") })
	saved, err := loadState(statePath)
	if err != nil || len(saved.Runtime) != 2 {
		t.Errorf("state file after the change: %+v, %v", saved, err)
	}
	if out, code := ipvsctl("drain", "-t", "198.51.100.10:80", "-r", "192.0.2.15:8080"); code != 0 {
		t.Errorf("drain once space is free: exit %d: %s", code, out)
	}
}
