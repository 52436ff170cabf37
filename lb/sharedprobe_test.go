package lb

import (
	"strings"
	"testing"
)

// Two virtual servers on the same real server with the same check share
// one probe: one health target, whose result feeds both.
const sharedProbes = `virtual_servers:
  - address: 192.0.2.10:80
    check: {type: TCP, connect_port: 8080}
    real_servers: [198.51.100.1:80]
  - address: 192.0.2.11:80
    check: {type: TCP, connect_port: 8080}
    real_servers: [198.51.100.1:80]
  - address: 192.0.2.12:80
    check: {type: TCP, connect_port: 8081}
    real_servers: [198.51.100.1:80]
`

func TestSharedProbes(t *testing.T) {
	h := start(t, sharedProbes, nil, nil)
	if n := h.h.count(); n != 2 {
		t.Fatalf("%d health targets, want 2 (one shared by two virtual servers, one of its own)", n)
	}
	st := h.status()
	for _, v := range st.VirtualServers {
		want := 2
		if v.Name == "TCP 192.0.2.12:80" {
			want = 1
		}
		if got := v.RealServers[0].ProbeUsers; got != want {
			t.Errorf("%s: ProbeUsers %d, want %d", v.Name, got, want)
		}
	}

	// One event: both users go down, with their own quorum (lost: each
	// has one real server), and the third keeps its state.
	h.event("", "198.51.100.1:8080", false)
	st = h.status()
	for _, v := range st.VirtualServers {
		down := v.Name != "TCP 192.0.2.12:80"
		if v.RealServers[0].Up == down || v.QuorumUp == down {
			t.Errorf("%s: up %v, quorum %v after the shared probe failed", v.Name, v.RealServers[0].Up, v.QuorumUp)
		}
	}

	// A reload that changes one user's check gives it a probe of its
	// own; the other keeps the shared probe's state (down).
	changed := strings.Replace(sharedProbes, "  - address: 192.0.2.11:80\n    check: {type: TCP, connect_port: 8080}",
		"  - address: 192.0.2.11:80\n    check: {type: TCP, connect_port: 8080, connect_timeout: 2s}", 1)
	if _, err := h.e.Reload(h.ctx, mustParse(t, changed)); err != nil {
		t.Fatal(err)
	}
	st = h.status()
	if v := st.VirtualServers[0]; v.RealServers[0].Up || v.RealServers[0].ProbeUsers != 1 {
		t.Errorf("the unchanged user: %+v", v.RealServers[0])
	}
	if n := h.h.count(); n != 3 {
		t.Errorf("%d health targets after the reload, want 3", n)
	}

	// A virtual server added by a reload that joins a probe takes its
	// current result rather than starting up.
	added := changed + "  - address: 192.0.2.13:80\n    check: {type: TCP, connect_port: 8080}\n    real_servers: [198.51.100.1:80]\n"
	if _, err := h.e.Reload(h.ctx, mustParse(t, added)); err != nil {
		t.Fatal(err)
	}
	st = h.status()
	last := st.VirtualServers[len(st.VirtualServers)-1]
	if last.RealServers[0].Up || last.RealServers[0].ProbeUsers != 2 {
		t.Errorf("the joining user: %+v, want down (the probe's result) and 2 users", last.RealServers[0])
	}
	if !strings.Contains(h.table(), "-A -t 192.0.2.13:80") || strings.Contains(h.table(), "-t 192.0.2.13:80 -r") {
		t.Errorf("the new virtual server should be installed without its down real server:\n%s", h.table())
	}
}
