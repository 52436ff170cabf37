package script

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sh writes a /bin/sh script to a temporary file and returns its path.
func sh(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// readPID reads the pid a script wrote to path.
func readPID(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		t.Fatalf("pid file %q: %v", b, err)
	}
	return pid
}

// assertGone fails unless pid is dead or a zombie (it was reparented to an
// init that may not reap it at once).
func assertGone(t *testing.T, pid int) {
	t.Helper()
	for range 200 {
		if syscall.Kill(pid, 0) != nil || zombie(pid) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	t.Fatalf("process %d still runs", pid)
}

func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] == "Z"
}

func TestRunExit(t *testing.T) {
	for _, tt := range []struct {
		body   string
		exit   int
		signal syscall.Signal
		ok     bool
		str    string
	}{
		{"exit 0", 0, 0, true, "exit 0"},
		{"exit 1", 1, 0, false, "exit 1"},
		{"exit 7", 7, 0, false, "exit 7"},
		{"kill -TERM $$", -1, syscall.SIGTERM, false, "killed by signal terminated"},
		// Arguments reach the script as they are: no shell expands them.
		{`[ "$1" = 'a b' ] && [ "$2" = '$HOME' ]`, 0, 0, true, "exit 0"},
	} {
		r := Run(context.Background(), Spec{Argv: []string{sh(t, tt.body), "a b", "$HOME"}, Timeout: 5 * time.Second})
		if r.Exit != tt.exit || r.Signal != tt.signal || r.OK() != tt.ok || r.String() != tt.str || r.Err != nil || r.TimedOut {
			t.Errorf("%s: got %+v (%s)", tt.body, r, r)
		}
	}
}

func TestRunTimeoutKillsGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	start := time.Now()
	r := Run(context.Background(), Spec{Argv: []string{sh(t, "sleep 30 & echo $! > "+pidFile+"; sleep 30")}, Timeout: 300 * time.Millisecond})
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("took %v", el)
	}
	if !r.TimedOut || !errors.Is(r.Err, context.DeadlineExceeded) || r.Signal != syscall.SIGKILL || r.Exit != -1 ||
		!strings.HasPrefix(r.String(), "timeout after") {
		t.Errorf("got %+v (%s)", r, r)
	}
	assertGone(t, readPID(t, pidFile))
}

func TestRunCancelKillsGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	r := Run(ctx, Spec{Argv: []string{sh(t, "sleep 30 & echo $! > "+pidFile+"; sleep 30")}})
	if r.TimedOut || !errors.Is(r.Err, context.Canceled) || !strings.HasPrefix(r.String(), "cancelled after") {
		t.Errorf("got %+v (%s)", r, r)
	}
	assertGone(t, readPID(t, pidFile))
}

// What a script leaves behind in its process group dies with it, even when
// it exits cleanly.
func TestRunKillsLeftoversAfterExit(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	start := time.Now()
	r := Run(context.Background(), Spec{Argv: []string{sh(t, "sleep 30 & echo $! > "+pidFile+"; exit 0")}})
	if !r.OK() {
		t.Errorf("got %+v (%s)", r, r)
	}
	// The straggler held the output pipe: Run must not have waited for it.
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("took %v", el)
	}
	assertGone(t, readPID(t, pidFile))
}

func TestRunEnvironmentIsClean(t *testing.T) {
	t.Setenv("LBD_SCRIPT_TEST_PARENT", "leaked")
	r := Run(context.Background(), Spec{Argv: []string{"/usr/bin/env"}, Env: []string{"LBD_EVENT=notify_up"}})
	if !r.OK() {
		t.Fatalf("got %+v (%s)", r, r)
	}
	env := strings.Split(strings.TrimSpace(string(r.Output)), "\n")
	for _, want := range []string{Path, "LBD_EVENT=notify_up"} {
		if !strings.Contains("\n"+string(r.Output), "\n"+want+"\n") {
			t.Errorf("environment lacks %s: %q", want, env)
		}
	}
	if strings.Contains(string(r.Output), "LBD_SCRIPT_TEST_PARENT") {
		t.Errorf("the daemon's environment leaked: %q", env)
	}
}

func TestRunStdinAndOutput(t *testing.T) {
	r := Run(context.Background(), Spec{Argv: []string{sh(t, "readlink /proc/$$/fd/0; echo to-stderr >&2")}})
	if got := string(r.Output); !r.OK() || got != "/dev/null\nto-stderr\n" {
		t.Errorf("got %+v, output %q", r, got)
	}
	// A script writing far more than is kept neither blocks nor grows
	// memory.
	r = Run(context.Background(), Spec{Argv: []string{sh(t, "head -c 1048576 /dev/zero; exit 3")}, Timeout: 10 * time.Second})
	if r.Exit != 3 || len(r.Output) != MaxOutput {
		t.Errorf("got exit %d and %d bytes of output (%s)", r.Exit, len(r.Output), r)
	}
}

func TestCheck(t *testing.T) {
	for name, s := range map[string]Spec{
		"empty":        {},
		"relative":     {Argv: []string{"true"}},
		"unknown user": {Argv: []string{"/bin/true"}, User: "no-such-user-lbd"},
		"missing":      {Argv: []string{"/nonexistent/lbd-script"}},
	} {
		if err := Check(s); err == nil {
			t.Errorf("%s: no error", name)
		}
		// Run refuses what Check refuses, without starting anything.
		if r := Run(context.Background(), s); r.Err == nil || r.Exit != -1 {
			t.Errorf("%s: Run gave %+v", name, r)
		}
	}
	if err := Check(Spec{Argv: []string{"/bin/true"}, User: "0"}); err != nil {
		t.Errorf("uid 0: %v", err)
	}
}

func TestRunNotStarted(t *testing.T) {
	// Safe but not executable: Check passes it, exec refuses it.
	p := filepath.Join(t.TempDir(), "not-executable")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := Run(context.Background(), Spec{Argv: []string{p}})
	if r.Exit != -1 || r.Err == nil || !strings.HasPrefix(r.String(), "start: ") {
		t.Errorf("got %+v (%s)", r, r)
	}
}

func TestRunAsUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("running as another user needs root")
	}
	s := Spec{Argv: []string{"/usr/bin/id", "-u"}, User: "nobody"}
	if err := Check(s); err != nil {
		t.Skip(err)
	}
	r := Run(context.Background(), s)
	if got := strings.TrimSpace(string(r.Output)); !r.OK() || got != "65534" {
		t.Errorf("got %+v, uid %q", r, got)
	}
}
