package systemd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lbd-project/lbd/internal/lab"
)

// TestUnitVerifies runs systemd-analyze verify on lbd.service, with the
// binary paths pointed at a stand-in executable (the unit must not depend
// on lbd being installed to be checked).
func TestUnitVerifies(t *testing.T) {
	lab.RequireCommand(t, "systemd-analyze")
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal(err)
	}
	unit, err := os.ReadFile("lbd.service")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "lbd")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(unit), "/usr/local/sbin/lbd", bin)
	path := filepath.Join(dir, "lbd.service")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	// verify also reports problems of unrelated units on the machine;
	// only lines about ours count.
	var ours []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "lbd.service") {
			ours = append(ours, line)
		}
	}
	if len(ours) > 0 {
		t.Errorf("systemd-analyze verify lbd.service (exit %v):\n%s", err, strings.Join(ours, "\n"))
	}
	for _, want := range []string{"Type=notify", "ExecReload=", "ExecStopPost=-/usr/local/sbin/lbd release -f /etc/lbd/lbd.yaml", "WatchdogSec=", "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW", "ProtectSystem=strict"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("unit lacks %s", want)
		}
	}
}
