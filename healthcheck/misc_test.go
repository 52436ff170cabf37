package healthcheck

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func shScript(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "check.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMiscChecker(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		dynamic bool
		ok      bool
		weight  int
		reason  string
	}{
		{"exit 0", "exit 0", false, true, NoWeight, "exit 0"},
		{"exit 1", "exit 1", false, false, NoWeight, "exit 1"},
		{"exit 5 static", "exit 5", false, false, NoWeight, "exit 5"},
		{"exit 5 dynamic", "exit 5", true, true, 3, "exit 5"},
		{"exit 1 dynamic", "exit 1", true, false, NoWeight, "exit 1"},
		{"signal", "kill -TERM $$", false, false, NoWeight, "killed by signal terminated"},
		{"args passed without shell", `[ "$1" = 'a b' ] && [ "$2" = '$HOME' ]`, false, true, NoWeight, "exit 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewMiscChecker(MiscOptions{Args: []string{shScript(t, tt.body), "a b", "$HOME"}, Dynamic: tt.dynamic})
			if err != nil {
				t.Fatal(err)
			}
			r := c.Check(ctxTimeout(t, 5*time.Second))
			if r.OK != tt.ok || r.Weight != tt.weight || r.Reason != tt.reason {
				t.Errorf("got %+v, want ok=%v weight=%d reason=%q", r, tt.ok, tt.weight, tt.reason)
			}
		})
	}
}

func TestMiscCheckerKillsGroupAtTimeout(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	// The script starts a child that would outlive it, then hangs.
	c, err := NewMiscChecker(MiscOptions{Args: []string{shScript(t, "sleep 30 & echo $! > "+pidFile+"; sleep 30")}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := c.Check(ctxTimeout(t, 300*time.Millisecond))
	if el := time.Since(start); r.OK || !strings.HasPrefix(r.Reason, "timeout after") || el > 2*time.Second {
		t.Fatalf("got %+v after %v", r, el)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	// The child was SIGKILLed; give the kernel a moment to reap it (it was
	// reparented to init or a subreaper).
	for i := 0; i < 100; i++ {
		if syscall.Kill(pid, 0) != nil || isZombie(pid) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("child %d still alive", pid)
}

func isZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] == "Z"
}

func TestNewMiscCheckerErrors(t *testing.T) {
	dir := t.TempDir()
	noexec := filepath.Join(dir, "noexec.sh")
	os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o644)
	for name, o := range map[string]MiscOptions{
		"empty":          {},
		"missing":        {Args: []string{filepath.Join(dir, "missing")}},
		"not executable": {Args: []string{noexec}},
		"directory":      {Args: []string{dir}},
		"unknown user":   {Args: []string{"/bin/true"}, User: "no-such-user-lbd"},
	} {
		if _, err := NewMiscChecker(o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestMiscCheckerUserAndShell(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("running as another user needs root")
	}
	c, err := NewMiscChecker(MiscOptions{Args: []string{`[ "$(id -u)" = 65534 ]`}, Shell: true, User: "nobody"})
	if err != nil {
		t.Skip(err)
	}
	if r := c.Check(ctxTimeout(t, 5*time.Second)); !r.OK {
		t.Fatal(r)
	}
}
