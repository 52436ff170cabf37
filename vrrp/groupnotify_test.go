package vrrp_test

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/lbd-project/lbd/vrrp"
	"github.com/lbd-project/lbd/vrrp/vrrptest"
)

// A sync group runs its notify_master when the group becomes MASTER,
// notify_stop when it stops, and its generic notify with GROUP name state
// each time, besides the members' own scripts.
func TestRunnerSyncGroupNotifyScripts(t *testing.T) {
	dir := t.TempDir()
	script := func(name string) []string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte("#!/bin/sh\necho "+name+" \"$@\" >> "+dir+"/log\n"), 0o755)
		return []string{p}
	}
	member := func(name string, vrid uint8, vip string) MemberConfig {
		a := netip.MustParseAddr(vip)
		return MemberConfig{Interface: "eth0",
			Config: Config{Name: name, Version: Version3, VRID: vrid, Priority: PriorityOwner, AdvertInterval: 20 * time.Millisecond, VIPs: []netip.Addr{a}},
			VIPs:   []VIP{{Prefix: netip.PrefixFrom(a, 32), Dev: "eth0"}}, GARP: GARPConfig{Delay: -1, Refresh: -1},
			Notify: NotifyScripts{Master: script("vi_master_" + name)}}
	}
	r, err := NewRunner(RunnerConfig{
		Group: "G",
		GroupNotify: NotifyScripts{Master: script("g_master"), Backup: script("g_backup"), Fault: script("g_fault"),
			Stop: script("g_stop"), Generic: script("g_notify")},
		Members: []MemberConfig{member("A", 1, "192.0.2.100"), member("B", 2, "192.0.2.101")},
		Host:    vrrptest.NewHost(vrrptest.NewHub(), netip.MustParseAddr("192.0.2.1")),
		Logger:  slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go r.Run(ctx)
	lines := func() []string {
		b, _ := os.ReadFile(filepath.Join(dir, "log"))
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	has := slices.Contains[[]string]
	waitFor(t, 3*time.Second, "the group's master scripts", func() bool {
		l := lines()
		return has(l, "g_master") && has(l, "g_notify GROUP G MASTER") && has(l, "vi_master_A") && has(l, "vi_master_B")
	})
	cancel()
	<-r.Done()
	l := lines()
	if !has(l, "g_stop") || !has(l, "g_notify GROUP G STOP") {
		t.Errorf("after stop the scripts ran: %q", l)
	}
	for _, s := range []string{"g_backup", "g_fault"} {
		for _, x := range l {
			if strings.HasPrefix(x, s) {
				t.Errorf("%s ran: %q", s, l)
			}
		}
	}
}
