package deb

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lbd-project/lbd/internal/lab"
)

// TestMaintainerScriptsUnderSystemd runs postinst, prerm and postrm as dpkg
// would on a machine booted with systemd, and checks what they ask of it:
// enable but never start on a first install, keep the administrator's
// disable, try-restart (a restart only when running) on an upgrade, stop
// on removal but not on an upgrade. The test machine does not run
// systemd, so each script runs in a mount namespace of its own whose /run
// says it does (/run/systemd/system), with systemctl and the
// deb-systemd-* helpers replaced by stubs that log their arguments.
func TestMaintainerScriptsUnderSystemd(t *testing.T) {
	lab.RequireRoot(t)
	lab.RequireCommand(t, "unshare")
	dir := t.TempDir()
	stubs := filepath.Join(dir, "bin")
	logFile := filepath.Join(dir, "calls")
	if err := os.Mkdir(stubs, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"systemctl", "deb-systemd-invoke", "deb-systemd-helper"} {
		// was-enabled answers as STUB_WAS_ENABLED says: 0 on a first
		// install (enable), 1 when the administrator disabled the unit.
		stub := "#!/bin/sh\necho \"$(basename \"$0\") $*\" >> " + logFile + "\n" +
			"case \"$*\" in *was-enabled*) exit \"${STUB_WAS_ENABLED:-0}\";; esac\nexit 0\n"
		if err := os.WriteFile(filepath.Join(stubs, name), []byte(stub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	scripts, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	// maint runs one script with args and returns the calls it made.
	maint := func(wasEnabled, script string, args ...string) []string {
		t.Helper()
		os.Remove(logFile)
		inner := `mount -t tmpfs lbd-test /run && mkdir -p /run/systemd/system && exec sh "$0" "$@"`
		cmd := exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "sh", "-c", inner,
			filepath.Join(scripts, script)}, args...)...)
		cmd.Env = append(os.Environ(), "PATH="+stubs+":"+os.Getenv("PATH"), "STUB_WAS_ENABLED="+wasEnabled)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %q: %v\n%s", script, args, err, out)
		}
		b, _ := os.ReadFile(logFile)
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	has := func(calls []string, call string) bool { return slices.Contains(calls, call) }
	started := func(calls []string) bool {
		return slices.ContainsFunc(calls, func(c string) bool {
			return strings.HasPrefix(c, "deb-systemd-invoke start") || strings.HasPrefix(c, "deb-systemd-invoke restart") ||
				strings.HasPrefix(c, "systemctl start") || strings.HasPrefix(c, "systemctl restart")
		})
	}

	first := maint("0", "postinst", "configure", "")
	if !has(first, "deb-systemd-helper enable lbd.service") || started(first) || has(first, "deb-systemd-invoke try-restart lbd.service") {
		t.Errorf("first install: %q; want the unit enabled, not started", first)
	}
	upgrade := maint("1", "postinst", "configure", "0.1-1")
	if has(upgrade, "deb-systemd-helper enable lbd.service") || !has(upgrade, "deb-systemd-helper update-state lbd.service") {
		t.Errorf("upgrade of a disabled unit: %q; want it left disabled", upgrade)
	}
	if !has(upgrade, "deb-systemd-invoke try-restart lbd.service") || started(upgrade) {
		t.Errorf("upgrade: %q; want try-restart only (a restart if it was running)", upgrade)
	}
	if !has(upgrade, "systemctl --system daemon-reload") {
		t.Errorf("upgrade: %q; want systemd to read the new unit", upgrade)
	}
	if calls := maint("0", "prerm", "upgrade", "0.2-1"); slices.ContainsFunc(calls, func(c string) bool { return strings.Contains(c, "stop") }) {
		t.Errorf("prerm upgrade: %q; an upgrade must not stop lbd", calls)
	}
	if calls := maint("0", "prerm", "remove"); !has(calls, "deb-systemd-invoke stop lbd.service") {
		t.Errorf("prerm remove: %q; want lbd stopped", calls)
	}
	if calls := maint("0", "postrm", "remove"); !has(calls, "deb-systemd-helper mask lbd.service") || !has(calls, "systemctl --system daemon-reload") {
		t.Errorf("postrm remove: %q", calls)
	}
}
