// Package deb is the test of the Debian package that make deb builds with
// this directory's files.
package deb

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lbd-project/lbd/internal/lab"
)

// top is the source tree's top, where make deb runs.
const top = "../.."

// buildDeb runs make deb and returns the package's path and version.
func buildDeb(t *testing.T) (path, version string) {
	t.Helper()
	for _, c := range []string{"make", "dpkg-deb", "objdump", "gzip"} {
		lab.RequireCommand(t, c)
	}
	out, err := exec.Command("make", "-s", "-C", top, "deb").CombinedOutput()
	if err != nil {
		t.Fatalf("make deb: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	path = filepath.Join(top, lines[len(lines)-1])
	v, err := exec.Command("sh", filepath.Join(top, "packaging/deb/version.sh")).Output()
	if err != nil {
		t.Fatal(err)
	}
	return path, strings.TrimSpace(string(v))
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestPackage builds the package and checks its control data, its files,
// lintian's verdict, and what it installs, unpacked in a directory: the
// example configuration is valid, every command prints the version, the
// manual pages format, the unit verifies.
func TestPackage(t *testing.T) {
	deb, version := buildDeb(t)
	if base := filepath.Base(deb); !strings.HasPrefix(base, "lbd_"+version+"_") {
		t.Errorf("package file %s does not carry version %s", base, version)
	}
	if out, err := exec.Command("dpkg", "--validate-version", version).CombinedOutput(); err != nil {
		t.Errorf("dpkg rejects version %s: %s", version, out)
	}
	info := run(t, "dpkg-deb", "-I", deb)
	for _, want := range []string{" Package: lbd\n", " Version: " + version + "\n", " Depends: libc6 (>= 2.", "init-system-helpers", " conffiles", " postinst", " prerm", " postrm"} {
		if !strings.Contains(info, want) {
			t.Errorf("dpkg-deb -I lacks %q:\n%s", want, info)
		}
	}
	for _, line := range strings.Split(info, "\n") {
		if strings.Contains(line, "ipvsadm") && (strings.Contains(line, "Depends:") || strings.Contains(line, "Recommends:")) {
			t.Errorf("the package asks for ipvsadm, which it does not need: %s", line)
		}
	}
	ctrl := t.TempDir()
	run(t, "dpkg-deb", "-e", deb, ctrl)
	if conffiles, err := os.ReadFile(filepath.Join(ctrl, "conffiles")); err != nil || string(conffiles) != "/etc/lbd/lbd.yaml\n" {
		t.Errorf("conffiles %q (%v), want /etc/lbd/lbd.yaml", conffiles, err)
	}
	var files []string
	for _, line := range strings.Split(run(t, "dpkg-deb", "-c", deb), "\n") {
		if f := strings.Fields(line); len(f) >= 6 {
			files = append(files, f[0]+" "+strings.TrimPrefix(f[5], "."))
		}
	}
	for _, want := range []string{
		"-rwxr-xr-x /usr/sbin/lbd", "-rwxr-xr-x /usr/sbin/ipvsctl", "-rwxr-xr-x /usr/bin/lbd-genhash",
		"-rw-r--r-- /lib/systemd/system/lbd.service", "-rw-r--r-- /etc/lbd/lbd.yaml", "drwx------ /var/lib/lbd/",
		"-rw-r--r-- /usr/share/man/man8/lbd.8.gz", "-rw-r--r-- /usr/share/man/man8/ipvsctl.8.gz",
		"-rw-r--r-- /usr/share/man/man1/lbd-genhash.1.gz", "-rw-r--r-- /usr/share/man/man5/lbd.yaml.5.gz",
		"-rw-r--r-- /usr/share/doc/lbd/copyright", "-rw-r--r-- /usr/share/doc/lbd/changelog.gz",
		"-rw-r--r-- /usr/share/doc/lbd/monitoring/lbd.rules.yml",
		"-rw-r--r-- /usr/share/bash-completion/completions/lbd",
		"-rw-r--r-- /usr/share/bash-completion/completions/ipvsctl",
	} {
		if !slices.Contains(files, want) {
			t.Errorf("package lacks %s; it has:\n%s", want, strings.Join(files, "\n"))
		}
	}
	for _, f := range files {
		if strings.HasSuffix(f, "/genhash") {
			t.Errorf("package has %s, which keepalived's package has too", f)
		}
	}

	t.Run("lintian", func(t *testing.T) {
		lab.RequireCommand(t, "lintian")
		out, err := exec.Command("lintian", "--fail-on", "error,warning", deb).CombinedOutput()
		if err != nil {
			t.Errorf("lintian: %v\n%s", err, out)
		}
	})

	root := t.TempDir()
	run(t, "dpkg-deb", "-x", deb, root)
	t.Run("commands", func(t *testing.T) {
		if out, err := exec.Command(filepath.Join(root, "usr/sbin/lbd"), "-t", "-f", filepath.Join(root, "etc/lbd/lbd.yaml")).CombinedOutput(); err != nil {
			t.Errorf("lbd -t on the shipped lbd.yaml: %v\n%s", err, out)
		}
		for cmd, want := range map[string]string{
			"usr/sbin/lbd":        "lbd " + version + "\n",
			"usr/sbin/ipvsctl":    "ipvsctl (lbd " + version + ")\n",
			"usr/bin/lbd-genhash": "lbd-genhash (lbd " + version + ")\n",
		} {
			out, err := exec.Command(filepath.Join(root, cmd), "--version").Output()
			if err != nil || !strings.HasSuffix(string(out), want) {
				t.Errorf("%s --version: %q (%v), want it to end with %q", cmd, out, err, want)
			}
		}
	})
	t.Run("manual pages", func(t *testing.T) {
		lab.RequireCommand(t, "man")
		for page, name := range map[string]string{
			"man8/lbd.8.gz": "lbd", "man8/ipvsctl.8.gz": "ipvsctl",
			"man1/lbd-genhash.1.gz": "lbd-genhash", "man5/lbd.yaml.5.gz": "lbd.yaml",
		} {
			cmd := exec.Command("man", "--warnings", "-l", filepath.Join(root, "usr/share/man", page))
			cmd.Env = append(os.Environ(), "MANPAGER=cat", "MANWIDTH=80", "LC_ALL=C.UTF-8")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil || stderr.Len() > 0 || !strings.Contains(string(out), "NAME\n       "+name+" ") {
				t.Errorf("man -l %s: %v, warnings %q, output starts %.300q", page, err, stderr.String(), out)
			}
		}
	})
	t.Run("unit", func(t *testing.T) {
		lab.RequireCommand(t, "systemd-analyze")
		unit, err := os.ReadFile(filepath.Join(root, "lib/systemd/system/lbd.service"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(unit), "/usr/local/") || !strings.Contains(string(unit), "ExecStart=/usr/sbin/lbd -f /etc/lbd/lbd.yaml") {
			t.Errorf("unit does not run /usr/sbin/lbd:\n%s", unit)
		}
		// verify checks that the commands exist: point them at the unpacked
		// ones,
		path := filepath.Join(t.TempDir(), "lbd.service")
		if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), "/usr/sbin/", root+"/usr/sbin/")), 0o644); err != nil {
			t.Fatal(err)
		}
		// and Documentation= at the unpacked manual pages.
		verify := exec.Command("systemd-analyze", "verify", path)
		verify.Env = append(os.Environ(), "MANPATH="+filepath.Join(root, "usr/share/man"))
		out, _ := verify.CombinedOutput()
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, "lbd.service") {
				t.Errorf("systemd-analyze verify: %s", line)
			}
		}
	})
}

// TestInstallPurge installs the package on this machine with apt-get, as
// the README says, beside keepalived's package if it is there, and purges
// it: the service is enabled and not started, keepalived's genhash is
// untouched, and nothing of lbd's is left after the purge. It does not
// touch a machine where lbd is installed already.
func TestInstallPurge(t *testing.T) {
	lab.RequireRoot(t)
	lab.RequireCommand(t, "apt-get")
	if exec.Command("dpkg-query", "-W", "lbd").Run() == nil {
		t.Skip("the lbd package is installed on this machine: not replacing it")
	}
	deb, version := buildDeb(t)
	abs, err := filepath.Abs(deb)
	if err != nil {
		t.Fatal(err)
	}
	genhash := func() string {
		out, _ := exec.Command("sh", "-c", "dpkg -S /usr/bin/genhash; md5sum /usr/bin/genhash").CombinedOutput()
		return string(out)
	}
	before := genhash()
	purge := func() { run(t, "apt-get", "purge", "-y", "-qq", "lbd") }
	apt := exec.Command("apt-get", "install", "-y", "-qq", "--no-install-recommends", abs)
	apt.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := apt.CombinedOutput(); err != nil {
		if exec.Command("dpkg-query", "-W", "lbd").Run() == nil {
			purge()
		}
		t.Fatalf("apt-get install %s: %v\n%s", abs, err, out)
	}
	installed := true
	t.Cleanup(func() {
		if installed {
			purge()
		}
	})
	if got := run(t, "dpkg-query", "-W", "-f", "${Version} ${Status}", "lbd"); got != version+" install ok installed" {
		t.Errorf("dpkg-query: %q", got)
	}
	if out, err := exec.Command("dpkg", "--verify", "lbd").CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("dpkg --verify lbd: %v %s", err, out)
	}
	if out, err := exec.Command("/usr/sbin/lbd", "-t", "-f", "/etc/lbd/lbd.yaml").CombinedOutput(); err != nil {
		t.Errorf("lbd -t: %v\n%s", err, out)
	}
	// What an operator reads and checks next, as installed: the manual
	// through man's own search path, the unit where systemd finds it.
	if _, err := exec.LookPath("man"); err == nil {
		man := exec.Command("man", "--warnings", "lbd")
		man.Env = append(os.Environ(), "MANPAGER=cat", "MANWIDTH=80")
		var stderr bytes.Buffer
		man.Stderr = &stderr
		if out, err := man.Output(); err != nil || stderr.Len() > 0 || !bytes.Contains(out, []byte("lbd")) {
			t.Errorf("man lbd: %v, warnings %q, output starts %.200q", err, stderr.String(), out)
		}
	}
	if _, err := exec.LookPath("systemd-analyze"); err == nil {
		out, _ := exec.Command("systemd-analyze", "verify", "lbd.service").CombinedOutput()
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, "lbd.service") {
				t.Errorf("systemd-analyze verify lbd.service: %s", line)
			}
		}
	}
	if _, err := os.Lstat("/etc/systemd/system/multi-user.target.wants/lbd.service"); err != nil {
		t.Errorf("lbd.service is not enabled: %v", err)
	}
	if exec.Command("systemctl", "is-active", "--quiet", "lbd").Run() == nil {
		t.Error("lbd.service was started by the installation")
	}
	// The installed completion, as bash-completion loads it on Tab.
	for prog, line := range map[string]string{"ipvsctl": "ipvsctl handov", "lbd": "lbd import-k"} {
		script := "/usr/share/bash-completion/completions/" + prog
		out, err := exec.Command("bash", "--norc", "-c", `source "$1"; COMP_LINE=$2; COMP_POINT=${#COMP_LINE}; _`+prog+`_complete `+prog+`; echo "${COMPREPLY[*]}"`,
			"bash", script, line).CombinedOutput()
		if want := map[string]string{"ipvsctl": "handover", "lbd": "import-keepalived"}[prog]; err != nil || strings.TrimSpace(string(out)) != want {
			t.Errorf("%s completes %q to %q (%v), want %q", script, line, out, err, want)
		}
	}
	if after := genhash(); after != before {
		t.Errorf("/usr/bin/genhash changed with the installation:\n%s\n%s", before, after)
	}

	purge()
	installed = false
	if out, _ := exec.Command("dpkg-query", "-W", "-f", "${Status}", "lbd").Output(); len(out) > 0 && !strings.Contains(string(out), "not-installed") {
		t.Errorf("after purge dpkg still knows lbd: %s", out)
	}
	for _, path := range []string{
		"/usr/sbin/lbd", "/usr/sbin/ipvsctl", "/usr/bin/lbd-genhash", "/lib/systemd/system/lbd.service",
		"/etc/lbd", "/var/lib/lbd", "/usr/share/doc/lbd", "/usr/share/man/man8/lbd.8.gz",
		"/usr/share/bash-completion/completions/ipvsctl",
		"/etc/systemd/system/multi-user.target.wants/lbd.service",
		"/var/lib/systemd/deb-systemd-helper-enabled/lbd.service.dsh-also",
		"/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/lbd.service",
		"/var/lib/systemd/deb-systemd-helper-masked/lbd.service",
	} {
		if _, err := os.Lstat(path); err == nil {
			t.Errorf("%s is left after purge", path)
		}
	}
	if after := genhash(); after != before {
		t.Errorf("/usr/bin/genhash changed with the purge:\n%s\n%s", before, after)
	}
}
