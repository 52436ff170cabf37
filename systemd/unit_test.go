package systemd

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/ipvs"
	"github.com/lbd-project/lbd/vrrp/vrrpnet"
)

// TestUnitVerifies runs systemd-analyze verify on lbd.service, with the
// binary paths pointed at a stand-in executable (the unit must not depend
// on lbd being installed to be checked).
func TestUnitVerifies(t *testing.T) {
	unit, err := os.ReadFile("lbd.service")
	if err != nil {
		t.Fatal(err)
	}
	if ours := verifyUnit(t, ""); len(ours) > 0 {
		t.Errorf("systemd-analyze verify lbd.service:\n%s", strings.Join(ours, "\n"))
	}
	for _, want := range []string{"Type=notify", "ExecReload=", "ExecStopPost=-/usr/local/sbin/lbd release -f /etc/lbd/lbd.yaml", "WatchdogSec=", "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW", "ProtectSystem=strict"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("unit lacks %s", want)
		}
	}
}

// TestUnitNetNamespaceDropIn: the drop-in docs/operations.md gives for
// global.net_namespace verifies with the unit (and a wrong one does not,
// so the drop-in is read).
func TestUnitNetNamespaceDropIn(t *testing.T) {
	if ours := verifyUnit(t, "[Service]\nNetworkNamespacePath=/run/netns/blue\n"); len(ours) > 0 {
		t.Errorf("systemd-analyze verify lbd.service with NetworkNamespacePath=:\n%s", strings.Join(ours, "\n"))
	}
	if ours := verifyUnit(t, "[Service]\nNetworkNamespacePath=blue\n"); len(ours) == 0 {
		t.Error("systemd-analyze verify does not read the drop-in: a relative NetworkNamespacePath= passes")
	}
}

// verifyUnit runs systemd-analyze verify on lbd.service, with the binary
// paths pointed at a stand-in executable (the unit must not depend on lbd
// being installed to be checked) and dropIn, if any, beside it in
// lbd.service.d. It returns the lines about lbd.service: verify also
// reports problems of unrelated units on the machine.
func verifyUnit(t *testing.T, dropIn string) []string {
	t.Helper()
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
	if dropIn != "" {
		if err := os.Mkdir(path+".d", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(path+".d", "netns.conf"), []byte(dropIn), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The manual pages in Documentation= come with the Debian package,
	// whose test (packaging/deb) verifies them too.
	out, _ := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput()
	var ours []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "lbd.service") {
			ours = append(ours, line)
		}
	}
	return ours
}

// TestUnitSysctlsWritable checks that every sysctl lbd writes is under a
// ReadWritePaths= entry: ProtectKernelTunables=yes makes the rest of
// /proc/sys read-only, and writing global.lvs_sloppy_tcp would fail with
// EROFS.
func TestUnitSysctlsWritable(t *testing.T) {
	unit, err := os.ReadFile("lbd.service")
	if err != nil {
		t.Fatal(err)
	}
	var writable []string
	for _, line := range strings.Split(string(unit), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "ReadWritePaths="); ok {
			for _, p := range strings.Fields(v) {
				// "-" ignores a missing path, "+" is relative to RootDirectory=.
				writable = append(writable, strings.TrimLeft(p, "-+"))
			}
		}
	}
	for _, path := range slices.Concat(ipvs.WrittenSysctls, vrrpnet.WrittenSysctls) {
		if !slices.ContainsFunc(writable, func(w string) bool { return path == w || strings.HasPrefix(path, strings.TrimSuffix(w, "/")+"/") }) {
			t.Errorf("lbd writes %s, but no ReadWritePaths= entry of lbd.service covers it (entries: %q)", path, writable)
		}
	}
}
