package daemon

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"log/slog"
)

func TestCheckMode(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, []byte(baseYAML), 0o644)
	os.WriteFile(bad, []byte(`vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 51
    advert_interval: fast
    virtual_ipaddresses: [192.0.2.100]
    priorty: 10
`), 0o644)
	cases := []struct {
		args       []string
		code       int
		out, errs  []string
		noOut, noE bool
	}{
		{args: []string{"-t", "-f", good}, code: 0, out: []string{good + " is valid: 4 vrrp instances, 1 sync groups, 2 vrrp scripts"}, noE: true},
		{args: []string{"-t", "-f", bad}, code: 1, noOut: true,
			errs: []string{bad + ":7:5: ", "priorty", bad + ":5:22: ", "invalid duration", bad + ": 2 errors"}},
		{args: []string{"-t", "-f", filepath.Join(dir, "missing.yaml")}, code: 1, noOut: true, errs: []string{"no such file"}},
		{args: []string{"-t", "extra"}, code: 2, errs: []string{"unexpected argument"}},
		{args: []string{"-bogus"}, code: 2, errs: []string{"flag provided but not defined"}},
	}
	for _, c := range cases {
		var out, errs bytes.Buffer
		code := Run(context.Background(), c.args, &out, &errs)
		if code != c.code {
			t.Errorf("lbd %q: exit %d, want %d; stderr %s", c.args, code, c.code, errs.String())
		}
		for _, s := range c.out {
			if !strings.Contains(out.String(), s) {
				t.Errorf("lbd %q: stdout %q lacks %q", c.args, out.String(), s)
			}
		}
		for _, s := range c.errs {
			if !strings.Contains(errs.String(), s) {
				t.Errorf("lbd %q: stderr %q lacks %q", c.args, errs.String(), s)
			}
		}
		if c.noOut && out.Len() > 0 {
			t.Errorf("lbd %q: stdout %q", c.args, out.String())
		}
		if c.noE && errs.Len() > 0 {
			t.Errorf("lbd %q: stderr %q", c.args, errs.String())
		}
	}
}

// A notify script that outlives notify_timeout is killed with its whole
// process group, and the next one in the queue still runs.
func TestNotifyTimeoutKillsGroup(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "slow.sh")
	os.WriteFile(script, []byte("#!/bin/sh\nsleep 30 &\necho $! > "+dir+"/child\nsleep 30\n"), 0o755)
	fast := filepath.Join(dir, "fast.sh")
	os.WriteFile(fast, []byte("#!/bin/sh\necho \"$@\" > "+dir+"/fast\n"), 0o755)
	var logs bytes.Buffer
	var timeout atomic.Int64
	timeout.Store(int64(300 * time.Millisecond))
	q := newNotifyQueue(slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil)), &timeout)
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
