package script

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// statusField reads a field ("PPid", "State") of /proc/PID/status; "" once
// the process is reaped.
func statusField(pid int, field string) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// zombieChildren lists this process's children that are zombies.
func zombieChildren(t *testing.T) []string {
	t.Helper()
	tasks, err := filepath.Glob("/proc/self/task/*/children")
	if err != nil || len(tasks) == 0 {
		t.Skip("no /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN)")
	}
	var out []string
	for _, p := range tasks {
		b, _ := os.ReadFile(p)
		for _, f := range strings.Fields(string(b)) {
			if pid, _ := strconv.Atoi(f); strings.HasPrefix(statusField(pid, "State"), "Z") {
				out = append(out, f)
			}
		}
	}
	return out
}

// A script's grandchild that left the script's process group outlives
// the group kill; as a subreaper lbd adopts it, and must reap it when it
// exits, or it stays a zombie (lbd as a container's PID 1 adopts every
// orphan anyway).
func TestReaperReapsOrphans(t *testing.T) {
	stop := StartReaper(context.Background())
	defer stop()
	pidFile := filepath.Join(t.TempDir(), "pid")
	// The pid is written after setsid, so the script exits only once the
	// grandchild has left its group.
	s := sh(t, "setsid /bin/sh -c 'echo $$ > "+pidFile+".tmp; mv "+pidFile+".tmp "+pidFile+"; exec sleep 0.5' &\n"+
		"while [ ! -e "+pidFile+" ]; do sleep 0.01; done")
	if r := Run(context.Background(), Spec{Argv: []string{s}, Timeout: 5 * time.Second}); !r.OK() {
		t.Fatalf("got %+v (%s)", r, r)
	}
	pid := readPID(t, pidFile)
	if got := statusField(pid, "PPid"); got != strconv.Itoa(os.Getpid()) {
		t.Fatalf("orphan %d has parent %q, want this process (%d): not a subreaper", pid, got, os.Getpid())
	}
	// Both ways of finding children find it.
	if !slices.Contains(children(), pid) || !slices.Contains(childrenByScan(), pid) {
		t.Errorf("orphan %d missing from children %v or childrenByScan %v", pid, children(), childrenByScan())
	}
	for deadline := time.Now().Add(5 * time.Second); statusField(pid, "State") != ""; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("orphan %d not reaped: state %s", pid, statusField(pid, "State"))
		}
	}
	if z := zombieChildren(t); len(z) > 0 {
		t.Errorf("zombie children left: %v", z)
	}
}

// The reaper leaves the scripts Run waits for alone: their exit codes
// still reach Run (not ECHILD), while orphans die around them.
func TestReaperLeavesScriptsToRun(t *testing.T) {
	stop := StartReaper(context.Background())
	defer stop()
	orphans := sh(t, "setsid /bin/true & exit 0")
	quick := sh(t, "exit 3")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				if r := Run(context.Background(), Spec{Argv: []string{orphans}}); !r.OK() {
					t.Errorf("orphan maker: %+v (%s)", r, r)
				}
				if r := Run(context.Background(), Spec{Argv: []string{quick}}); r.Exit != 3 || r.Err != nil {
					t.Errorf("got %+v (%s), want exit 3", r, r)
				}
			}
		})
	}
	wg.Wait()
	for deadline := time.Now().Add(5 * time.Second); len(zombieChildren(t)) > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("zombie children left: %v", zombieChildren(t))
		}
	}
}
