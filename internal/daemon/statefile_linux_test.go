package daemon

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lbd-project/lbd/internal/control"
	"github.com/lbd-project/lbd/internal/ipvsadm"
	lbdctl "github.com/lbd-project/lbd/internal/ipvsctl"
	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/ipvs/ipvstest"
	"github.com/lbd-project/lbd/lb"
)

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
	lab.MountTinyTmpfs(t, stateDir, 64<<10)
	statePath := filepath.Join(stateDir, lb.StateFile)
	file := filepath.Join(dir, "lbd.yaml")
	if err := os.WriteFile(file, []byte(strings.ReplaceAll(controlYAML, "DIR", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	h, k := newFakeHost(), ipvstest.NewKernel()
	up := &atomic.Bool{}
	up.Store(true)
	var logBuf lab.SyncBuffer
	td := startTestDaemonLog(t, file, h, k, up, &logBuf)
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
	lab.FillDisk(t, filler)

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
	if n := h.VIPs.Count(); n != 1 {
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
	if m := lab.AtomicTemps(t, statePath); len(m) > 0 {
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
	saved, err := lb.LoadState(statePath)
	if err != nil || len(saved.Runtime) != 2 {
		t.Errorf("state file after the change: %+v, %v", saved, err)
	}
	if out, code := ipvsctl("drain", "-t", "198.51.100.10:80", "-r", "192.0.2.15:8080"); code != 0 {
		t.Errorf("drain once space is free: exit %d: %s", code, out)
	}
}
