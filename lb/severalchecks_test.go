package lb

import (
	"strings"
	"testing"
)

// A real server with two checks (keepalived's two checkers in one
// real_server) is up only while both pass; its TCP check is the same as
// another virtual server's, so that probe is shared.
const severalChecks = `virtual_servers:
  - address: 192.0.2.10:80
    real_servers:
      - address: 198.51.100.1:80
        checks:
          - {type: TCP, connect_port: 8080}
          - {type: HTTP_GET, urls: [{path: /health}]}
  - address: 192.0.2.11:80
    check: {type: TCP, connect_port: 8080}
    real_servers: [198.51.100.1:80]
`

func TestSeveralChecks(t *testing.T) {
	h := start(t, severalChecks, nil, nil)
	if n := h.h.count(); n != 2 {
		t.Fatalf("%d health targets, want 2 (the TCP probe shared, the HTTP one)", n)
	}
	rs := func() (both, tcpOnly RealServerStatus) {
		st := h.status()
		return st.VirtualServers[0].RealServers[0], st.VirtualServers[1].RealServers[0]
	}
	if both, tcpOnly := rs(); both.Checks != 2 || both.ProbeUsers != 2 || tcpOnly.Checks != 1 || !both.Up {
		t.Errorf("at start: %+v / %+v", both, tcpOnly)
	}

	h.event("", "198.51.100.1:80", false) // the HTTP check fails
	both, tcpOnly := rs()
	if both.Up || !tcpOnly.Up || !strings.HasPrefix(both.Reason, "HTTP_GET: ") {
		t.Errorf("HTTP check failed: %+v / %+v; want the first down (HTTP_GET: ...), the second up", both, tcpOnly)
	}
	if tb := h.table(); strings.Contains(tb, "-t 192.0.2.10:80 -r") || !strings.Contains(tb, "-t 192.0.2.11:80 -r 198.51.100.1:80") {
		t.Errorf("table:\n%s", tb)
	}

	h.event("", "198.51.100.1:8080", false) // and the shared TCP probe
	h.event("", "198.51.100.1:80", true)    // the HTTP check passes again: still down
	if both, tcpOnly := rs(); both.Up || tcpOnly.Up || !strings.HasPrefix(both.Reason, "TCP: ") {
		t.Errorf("TCP check failed: %+v / %+v; want both down", both, tcpOnly)
	}

	h.event("", "198.51.100.1:8080", true)
	if both, tcpOnly := rs(); !both.Up || !tcpOnly.Up || both.Reason != "all 2 checks pass" {
		t.Errorf("both pass: %+v / %+v", both, tcpOnly)
	}

	// A reload that changes the HTTP check only gives it a new probe: the
	// TCP probe keeps its result, and the real server waits for the new
	// probe's first result as up (no alpha).
	h.event("", "198.51.100.1:8080", false)
	changed := strings.Replace(severalChecks, "/health", "/ready", 1)
	if _, err := h.e.Reload(h.ctx, mustParse(t, changed)); err != nil {
		t.Fatal(err)
	}
	if both, tcpOnly := rs(); both.Up || tcpOnly.Up || !strings.HasPrefix(both.Reason, "TCP: ") {
		t.Errorf("after the reload: %+v / %+v; want the TCP probe's failure kept", both, tcpOnly)
	}
	if n := h.h.count(); n != 2 {
		t.Errorf("%d health targets after the reload, want 2", n)
	}
}
