//go:build linux

package daemon

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/lab"
)

// A sync group whose members track a file, a vrrp_script and an interface:
// any of them failing (weight 0) takes the whole group to FAULT and back;
// a weighted track file moves a lone instance's priority. Run alone, so a
// stop waits out the bounded handover.
func TestIntegrationTracking(t *testing.T) {
	l := lab.New(t)
	lan := l.LAN("lan")
	n := newNode(l, lan, "lb1", "192.0.2.1/24")
	n.Attach(lan, "eth1", "198.51.100.1/24")
	dir := t.TempDir()
	file, weightFile, ok := filepath.Join(dir, "fault"), filepath.Join(dir, "weight"), filepath.Join(dir, "ok")
	os.WriteFile(file, []byte("0\n"), 0o644)
	os.WriteFile(ok, nil, 0o644)
	notify := filepath.Join(dir, "notify.sh")
	os.WriteFile(notify, []byte("#!/bin/sh\necho \"$@\" >> "+dir+"/notes\n"), 0o755)
	yaml := fmt.Sprintf(`global:
  vrrp: {version: 3, advert_interval: 100ms}
vrrp_scripts:
  - {name: chk, script: [/usr/bin/test, -e, %s], interval: 100ms}
vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 1
    virtual_ipaddresses: [192.0.2.100]
    track_files: [{path: %s, weight: 0}]
    track_interfaces: [{name: eth1}]
  - name: VI_2
    interface: eth0
    virtual_router_id: 2
    virtual_ipaddresses: [192.0.2.101]
    track_scripts: [{name: chk}]
  - name: VI_3
    interface: eth0
    virtual_router_id: 3
    virtual_ipaddresses: [192.0.2.102]
    track_files: [{path: %s, weight: -10}]
vrrp_sync_groups:
  - {name: G, group: [VI_1, VI_2], notify: %s}
`, ok, file, weightFile, notify)
	lb := startLBD(t, n, yaml)
	vips := []netip.Addr{netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("192.0.2.101")}
	both := func(want bool) func() bool {
		return func() bool { return n.HasAddr(vips[0]) == want && n.HasAddr(vips[1]) == want }
	}
	groupNotes := func() string { b, _ := os.ReadFile(filepath.Join(dir, "notes")); return string(b) }
	eventually(t, 3*time.Second, "group master", both(true))
	eventually(t, time.Second, "GROUP G MASTER notified", func() bool { return strings.Contains(groupNotes(), "GROUP G MASTER\n") })

	for _, c := range []struct {
		what          string
		fail, recover func()
	}{
		{"track_file", func() { os.WriteFile(file, []byte("1\n"), 0o644) }, func() { os.WriteFile(file, []byte("0\n"), 0o644) }},
		{"track_script", func() { os.Remove(ok) }, func() { os.WriteFile(ok, nil, 0o644) }},
		{"track_interface", func() { n.SetLink("eth1", false) }, func() { n.SetLink("eth1", true) }},
	} {
		mark := strings.Count(groupNotes(), "GROUP G FAULT")
		c.fail()
		eventually(t, 3*time.Second, c.what+" failure faults the whole group", both(false))
		eventually(t, time.Second, "GROUP G FAULT notified", func() bool { return strings.Count(groupNotes(), "GROUP G FAULT") == mark+1 })
		c.recover()
		eventually(t, 3*time.Second, c.what+" recovery brings the group back", both(true))
	}

	os.WriteFile(weightFile, []byte("2\n"), 0o644)
	eventually(t, 2*time.Second, "VI_3 priority 100 - 2*10", func() bool {
		return len(lb.lines(0, "instance=VI_3", `msg="vrrp: priority changed"`, "priority=80")) == 1
	})

	start := time.Now()
	lb.p.Signal(syscall.SIGTERM)
	if err := lb.p.Wait(5 * time.Second); err != nil {
		t.Fatalf("lbd did not stop: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("stop with nobody to hand over to took %v", d)
	}
	if n.HasAddr(vips[0]) || n.HasAddr(vips[1]) {
		t.Error("VIPs left after stop")
	}
	if got := lb.lines(0, "handover: no new master heard"); len(got) != 3 {
		t.Errorf("want 3 bounded handovers, got %q", got)
	}
	eventually(t, time.Second, "GROUP G STOP notified", func() bool { return strings.Contains(groupNotes(), "GROUP G STOP\n") })
}
