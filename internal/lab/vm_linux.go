package lab

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cavaliergopher/cpio"
)

// InVMEnv is set inside the lab VM, so a test knows it is already there.
const InVMEnv = "LBD_IN_VM"

// VMDirEnv overrides where the VM's kernel and base initramfs are cached
// (default: build/vm at the top of the module).
const VMDirEnv = "LBD_VM_DIR"

// InVM reports whether this process runs inside the lab VM.
func InVM() bool { return os.Getenv(InVMEnv) == "1" }

// VMOptions tunes the VM a test boots.
type VMOptions struct {
	MemoryMB int           // guest memory; default 1024
	CPUs     int           // virtual CPUs; default 1 (the reference figures use 1)
	Timeout  time.Duration // whole run, boot included; default 10 minutes
	// Forward lists TCP ports of the guest the host reaches: the guest
	// gets eth0 (GuestAddr) on qemu's user-mode network, restricted so
	// that the guest reaches nothing outside, and each port a free port
	// on the host's loopback (HostSide.Ports). Without it the VM has no
	// network card.
	Forward []int
	// Host runs on the host, in the test's goroutine, each time the test
	// in the guest calls CallHost; the guest waits until it returns.
	Host func(t *testing.T, h HostSide)
}

// GuestAddr is the guest's eth0 address when VMOptions.Forward is set:
// qemu's user-mode network forwards the host's ports to it.
const GuestAddr = "10.0.2.15"

// HostSide is what VMOptions.Host gets: the host port for each forwarded
// guest port, and the message the guest passed to CallHost.
type HostSide struct {
	Ports   map[int]int
	Message []byte
}

// RunInVM makes the calling test run inside the lab VM, which has kernel IPVS.
// Inside the VM it returns true and the test goes on. On the host it boots
// the VM, runs this test (and only it) there, copies the VM's output into the
// test log, fails the test if it failed there, and returns false: the caller
// must then return at once.
//
//	func TestSomething(t *testing.T) {
//		if !lab.RunInVM(t, lab.VMOptions{}) {
//			return
//		}
//		... // runs in the VM
//	}
//
// Group many checks as subtests of one VM test: each RunInVM costs a boot.
func RunInVM(t *testing.T, opts VMOptions) bool {
	t.Helper()
	if InVM() {
		return true
	}
	RequireRoot(t)
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		unavailable(t, "qemu-system-x86_64 not found (apt-get install qemu-system-x86, or run `make test`)")
	}
	dir, err := vmAssets()
	if err != nil {
		unavailable(t, err.Error())
	}
	out, exit, err := bootTest(t, dir, opts)
	t.Logf("VM output:\n%s", out)
	switch {
	case err != nil:
		t.Fatalf("lab VM: %v", err)
	case exit != 0:
		t.Fatalf("test failed inside the lab VM (exit status %d)", exit)
	}
	return false
}

// vmAssets returns the directory holding vmlinuz and base.cpio, running
// vmassets.sh (which builds them from Debian packages, and does nothing
// when they are current) first. A file lock keeps test binaries of several
// packages, run in parallel, from building them twice.
func vmAssets() (string, error) {
	dir := os.Getenv(VMDirEnv)
	root, rootErr := moduleRoot()
	if rootErr != nil {
		// Outside the source tree only a ready-made directory will do.
		if _, err := os.Stat(filepath.Join(dir, ".complete")); dir != "" && err == nil {
			return dir, nil
		}
		return "", rootErr
	}
	if dir == "" {
		dir = filepath.Join(root, "build", "vm")
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	script := filepath.Join(root, "internal", "lab", "vmassets.sh")
	out, err := exec.Command("bash", script, dir).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building VM kernel and initramfs: %v: %s", err, bytes.TrimSpace(out))
	}
	return dir, nil
}

// moduleRoot finds the directory holding go.mod, upwards from the working
// directory (go test runs a package's tests in the package's directory).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the module root (go.mod) above the working directory; set " + VMDirEnv)
		}
		dir = parent
	}
}

var exitLine = regexp.MustCompile(`===LAB-EXIT (\d+)===`)

// bootTest boots the VM with this test binary and returns the guest's output
// between the start marker and the exit marker, and the test's exit status.
func bootTest(t *testing.T, dir string, opts VMOptions) (string, int, error) {
	if opts.MemoryMB == 0 {
		opts.MemoryMB = 1024
	}
	if opts.CPUs == 0 {
		opts.CPUs = 1
	}
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Minute
	}
	if d, ok := t.Deadline(); ok && time.Until(d)-30*time.Second < opts.Timeout {
		opts.Timeout = time.Until(d) - 30*time.Second
	}

	initrd, err := os.CreateTemp("", "lbd-vm-*.cpio")
	if err != nil {
		return "", 0, err
	}
	defer os.Remove(initrd.Name())
	if err := writeInitrd(initrd, filepath.Join(dir, "base.cpio"), runScript(t, opts.Forward)); err != nil {
		initrd.Close()
		return "", 0, fmt.Errorf("building initramfs: %w", err)
	}
	if err := initrd.Close(); err != nil {
		return "", 0, err
	}

	ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout)
	defer cancel()
	args := []string{"-kernel", filepath.Join(dir, "vmlinuz"),
		"-initrd", initrd.Name(),
		"-m", strconv.Itoa(opts.MemoryMB),
		"-smp", strconv.Itoa(opts.CPUs),
		"-nographic", "-no-reboot", "-append", "console=ttyS0 quiet panic=-1"}
	nic, ports, err := forwardNIC(opts.Forward)
	if err != nil {
		return "", 0, err
	}
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", append(args, "-nic", nic)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// The guest's console is qemu's stdio: the test's output comes from
	// stdout, and the host's answers to CallHost go in on stdin.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", 0, err
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", 0, err
	}
	cmd.Stderr = cmd.Stdout
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return "", 0, err
	}
	waited := false
	defer func() {
		// Host failed the test (t.Fatal): stop the VM and reap it.
		if !waited {
			cancel()
			cmd.Wait()
		}
	}()
	var console bytes.Buffer
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), maxHostMessage*2)
	for sc.Scan() {
		line := sc.Text()
		msg, ok := hostCall(line)
		if !ok {
			console.WriteString(line + "\n")
			continue
		}
		fmt.Fprintf(&console, "%s(%d bytes for the host)===\n", hostCallMark, len(msg))
		if opts.Host == nil {
			t.Errorf("lab VM: the guest called the host, but VMOptions.Host is not set")
		} else {
			opts.Host(t, HostSide{Ports: ports, Message: msg})
		}
		if _, err := io.WriteString(stdin, hostDone+"\n"); err != nil {
			t.Errorf("lab VM: answering the guest: %v", err)
		}
	}
	io.Copy(io.Discard, stdout) // a line too long for the scanner: the rest
	runErr := cmd.Wait()
	waited = true
	t.Logf("lab VM ran %v", time.Since(start).Round(time.Millisecond))

	out := strings.ReplaceAll(console.String(), "\r", "")
	if i := strings.Index(out, "===LAB-BEGIN==="); i >= 0 {
		out = out[i+len("===LAB-BEGIN===\n"):]
	}
	m := exitLine.FindStringSubmatch(out)
	if m == nil {
		if ctx.Err() != nil {
			return out, 0, fmt.Errorf("VM did not finish within %v", opts.Timeout)
		}
		return out, 0, fmt.Errorf("VM ended without reporting a result (qemu: %v)", runErr)
	}
	code, _ := strconv.Atoi(m[1])
	return out[:strings.Index(out, m[0])], code, nil
}

// runScript is /lab/run: it re-runs exactly the current test in the guest.
func runScript(t *testing.T, forward []int) string {
	var pattern []string
	for _, part := range strings.Split(t.Name(), "/") {
		pattern = append(pattern, "^"+regexp.QuoteMeta(part)+"$")
	}
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	b.WriteString("cd /lab/pkg\n")
	b.WriteString(guestNetwork(forward))
	fmt.Fprintf(&b, "export %s=1 %s=%q\n", InVMEnv, RequiredEnv, os.Getenv(RequiredEnv))
	for _, env := range []string{"LBD_BENCH", "LBD_BENCH_SERVICES"} { // knobs that must reach the guest
		if v, ok := os.LookupEnv(env); ok {
			fmt.Fprintf(&b, "export %s=%q\n", env, v)
		}
	}
	fmt.Fprintf(&b, "/lab/test.bin -test.run %s -test.v -test.count=1\n", shellQuote(strings.Join(pattern, "/")))
	return b.String()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// writeInitrd writes the base archive followed by a second one holding this
// test binary (with its shared libraries, when it has any), the package's
// testdata directory and /lab/run.
func writeInitrd(w io.Writer, base, script string) error {
	f, err := os.Open(base)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	a := cpio.NewWriter(w)
	dirs := map[string]bool{}
	addDir := func(dir string) error {
		var parts []string
		for d := dir; d != "." && d != "/"; d = filepath.Dir(d) {
			parts = append([]string{d}, parts...)
		}
		for _, d := range parts {
			if dirs[d] {
				continue
			}
			dirs[d] = true
			if err := a.WriteHeader(&cpio.Header{Name: d, Mode: cpio.TypeDir | 0o755}); err != nil {
				return err
			}
		}
		return nil
	}
	addFile := func(name string, mode cpio.FileMode, data []byte) error {
		if err := addDir(filepath.Dir(name)); err != nil {
			return err
		}
		if err := a.WriteHeader(&cpio.Header{Name: name, Mode: cpio.TypeReg | mode, Size: int64(len(data))}); err != nil {
			return err
		}
		_, err := a.Write(data)
		return err
	}
	if err := addFile("lab/run", 0o755, []byte(script)); err != nil {
		return err
	}
	bin, err := os.ReadFile(exe)
	if err != nil {
		return err
	}
	if err := addFile("lab/test.bin", 0o755, bin); err != nil {
		return err
	}
	libs, err := sharedLibraries(exe)
	if err != nil {
		return err
	}
	for _, lib := range libs {
		data, err := os.ReadFile(lib)
		if err != nil {
			return err
		}
		if err := addFile(strings.TrimPrefix(lib, "/"), 0o755, data); err != nil {
			return err
		}
	}
	if err := addDir("lab/pkg"); err != nil {
		return err
	}
	err = filepath.WalkDir("testdata", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return addFile(filepath.Join("lab/pkg", path), 0o644, data)
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return a.Close()
}

// sharedLibraries lists the libraries a dynamically linked binary needs
// (via ldd), or nothing for a static one. A test binary built with cgo (the
// default when a C compiler exists) links libc; the guest has the same
// Debian libc the base image copied for ipvsadm, but not necessarily at
// every path, so they are added again here.
func sharedLibraries(exe string) ([]string, error) {
	f, err := elf.Open(exe)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dynamic := false
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			dynamic = true
		}
	}
	if !dynamic {
		return nil, nil
	}
	out, err := exec.Command("ldd", exe).Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w", exe, err)
	}
	var libs []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		for _, field := range strings.Fields(sc.Text()) {
			if strings.HasPrefix(field, "/") {
				libs = append(libs, field)
			}
		}
	}
	return libs, nil
}
