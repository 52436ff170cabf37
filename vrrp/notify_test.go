package vrrp

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/lab"
)

// A notify script that outlives notify_timeout is killed with its whole
// process group, and the next one in the queue still runs.
func TestNotifyTimeoutKillsGroup(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "slow.sh")
	os.WriteFile(script, []byte("#!/bin/sh\nsleep 30 &\necho $! > "+dir+"/child\nsleep 30\n"), 0o755)
	fast := filepath.Join(dir, "fast.sh")
	os.WriteFile(fast, []byte("#!/bin/sh\necho \"$@\" > "+dir+"/fast\n"), 0o755)
	var logs lab.SyncBuffer
	q := newNotifyQueue(slog.New(slog.NewTextHandler(&logs, nil)), func() NotifyOptions { return NotifyOptions{Timeout: 300 * time.Millisecond} })
	start := time.Now()
	q.push(notifyJob{argv: []string{script}, what: "instance VI_1 MASTER"})
	q.push(notifyJob{argv: []string{fast, "INSTANCE", "VI_1", "BACKUP", "100"}, what: "instance VI_1 BACKUP"})
	q.close()
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("queue took %v", d)
	}
	b, err := os.ReadFile(filepath.Join(dir, "fast"))
	if err != nil || strings.TrimSpace(string(b)) != "INSTANCE VI_1 BACKUP 100" {
		t.Errorf("second script: %q, %v", b, err)
	}
	pid, _ := os.ReadFile(filepath.Join(dir, "child"))
	var n int
	for _, c := range strings.TrimSpace(string(pid)) {
		n = n*10 + int(c-'0')
	}
	if n == 0 {
		t.Fatal("no child pid recorded")
	}
	deadline := time.Now().Add(2 * time.Second)
	for syscall.Kill(n, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("child %d of the timed-out script still runs", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "process group killed") {
		t.Errorf("log lacks the kill: %s", logs.String())
	}
}
