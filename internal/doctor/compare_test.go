package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/control"
)

// fakeBalancer serves status on a control socket, as lbd does, and
// returns the socket's path.
func fakeBalancer(t *testing.T, st control.StatusResult) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "control.sock")
	mux := control.NewMux()
	mux.Handle(control.MethodStatus, func(context.Context, control.Peer, json.RawMessage) (any, error) { return st, nil })
	s, err := control.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	if uid := os.Getuid(); uid != 0 {
		s.AllowUIDs = []uint32{uint32(uid)}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, mux) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return path
}

func status(fps map[control.ServiceRef]string) control.StatusResult {
	st := control.StatusResult{}
	for ref, fp := range fps {
		st.VirtualServers = append(st.VirtualServers, control.VirtualServerStatus{Service: ref, TableFingerprint: fp})
	}
	return st
}

// metricsPage serves body as a metrics page.
func metricsPage(t *testing.T, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, body) }))
	t.Cleanup(srv.Close)
	return srv.URL + "/metrics"
}

var (
	web  = control.ServiceRef{Protocol: "TCP", Address: "192.0.2.10", Port: 80}
	web6 = control.ServiceRef{Protocol: "TCP", Address: "2001:db8::10", Port: 443}
	mark = control.ServiceRef{FWMark: 7, Family: "ipv6"}
)

const (
	fpA = "5692a3fa48bd3ae0"
	fpB = "0123456789abcdef"
)

func page(lines ...string) string {
	return "# HELP lbd_ipvs_service_table_info ...\n# TYPE lbd_ipvs_service_table_info gauge\n" +
		strings.Join(lines, "\n") + "\nlbd_config_generation 4\n"
}

func info(svc, fp string) string {
	return `lbd_ipvs_service_table_info{fingerprint="` + fp + `",service="` + svc + `",virtual_server="web \"1\""} 1`
}

func findings(fs []Finding) string {
	var b strings.Builder
	Print(&b, fs)
	return b.String()
}

func TestCompareAgree(t *testing.T) {
	local := fakeBalancer(t, status(map[control.ServiceRef]string{web: fpA, web6: fpB, mark: fpA}))
	other := metricsPage(t, page(info("TCP 192.0.2.10:80", fpA), info("TCP [2001:db8::10]:443", fpB), info("FWM 7 IPv6", fpA)))
	third := fakeBalancer(t, status(map[control.ServiceRef]string{web: fpA, web6: fpB, mark: fpA}))
	fs := Compare(context.Background(), local, []string{other, third})
	if len(fs) != 1 || fs[0].Status != OK || !strings.Contains(fs[0].Detail, "3 services") {
		t.Errorf("findings:\n%s", findings(fs))
	}
}

func TestCompareDiffersAndLacks(t *testing.T) {
	local := fakeBalancer(t, status(map[control.ServiceRef]string{web: fpA, web6: fpB}))
	other := metricsPage(t, page(info("TCP 192.0.2.10:80", fpB)))
	fs := Compare(context.Background(), local, []string{other})
	out := findings(fs)
	if len(fs) != 2 || fs[0].Status != Fail || fs[1].Status != Warn {
		t.Fatalf("findings:\n%s", out)
	}
	for _, want := range []string{
		"TCP 192.0.2.10:80: tables differ: " + fpB + " on " + other + "; " + fpA + " on " + local,
		"TCP [2001:db8::10]:443: not in the kernel of " + other,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("findings lack %q:\n%s", want, out)
		}
	}
	// A service not in the local kernel (no fingerprint) counts as lacking.
	local2 := fakeBalancer(t, status(map[control.ServiceRef]string{web: ""}))
	fs = Compare(context.Background(), local2, []string{other})
	if len(fs) != 1 || fs[0].Status != Warn || !strings.Contains(fs[0].Detail, "not in the kernel of "+local2) {
		t.Errorf("findings:\n%s", findings(fs))
	}
}

// TestCompareHostile checks that a balancer answering garbage, too much,
// or too slowly is a failed check naming it, and never a hang or a crash.
func TestCompareHostile(t *testing.T) {
	defer func(max int64, tmo time.Duration) { compareMaxBytes, compareTimeout = max, tmo }(compareMaxBytes, compareTimeout)
	compareMaxBytes, compareTimeout = 1<<20, 500*time.Millisecond
	local := fakeBalancer(t, status(map[control.ServiceRef]string{web: fpA}))

	huge := page(info("TCP 192.0.2.10:80", fpA)) + strings.Repeat("lbd_other_series 1\n", (1<<20)/19+10)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, info("TCP 192.0.2.10:80", fpA))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(slow.Close)
	notFound := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notFound.Close)

	// A control error answer with terminal escapes, and long.
	hostileErr := filepath.Join(t.TempDir(), "control.sock")
	mux := control.NewMux()
	mux.Handle(control.MethodStatus, func(context.Context, control.Peer, json.RawMessage) (any, error) {
		return nil, control.Errorf(control.CodeInternal, "\x1b[2J%s", strings.Repeat("x", 10000))
	})
	s, err := control.Listen(hostileErr)
	if err != nil {
		t.Fatal(err)
	}
	if uid := os.Getuid(); uid != 0 {
		s.AllowUIDs = []uint32{uint32(uid)}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, mux) }()
	t.Cleanup(func() { cancel(); <-done })

	for _, tc := range []struct{ name, addr, want string }{
		{"oversized page", metricsPage(t, huge), "metrics page larger than 1048576 bytes"},
		{"endless line", metricsPage(t, "lbd_ipvs_service_table_info{service=\""+strings.Repeat("x", 100<<10)), "line longer than"},
		{"not a fingerprint", metricsPage(t, page(info("TCP 192.0.2.10:80", "$(reboot)"))), `fingerprint "$(reboot)" is not 16 hex digits`},
		{"unterminated value", metricsPage(t, `lbd_ipvs_service_table_info{fingerprint="`+fpA+`",service="TCP 1`), "metrics line 1: unterminated label value"},
		{"no service", metricsPage(t, `lbd_ipvs_service_table_info{fingerprint="`+fpA+`"} 1`), `bad service name ""`},
		{"control characters", metricsPage(t, info("TCP \\n192.0.2.10:80\x1b[2J", fpA)), "bad service name"},
		{"long name", metricsPage(t, info(strings.Repeat("A", 500), fpA)), "bad service name"},
		{"one service, two tables", metricsPage(t, page(info("TCP 192.0.2.10:80", fpA), info("TCP 192.0.2.10:80", fpB))), "listed twice with different fingerprints"},
		{"label twice", metricsPage(t, `lbd_ipvs_service_table_info{service="a",service="b"} 1`), `label "service" twice`},
		{"slow", "http://" + slow.Listener.Addr().String() + "/metrics", "deadline exceeded"},
		{"404", notFound.URL, "HTTP status 404"},
		{"hostile error", hostileErr, "?[2J" + strings.Repeat("x", 200)},
		{"no daemon", filepath.Join(t.TempDir(), "absent.sock"), "lbd is not running"},
		{"bad status answer", fakeBalancer(t, status(map[control.ServiceRef]string{web: "zz"})), `fingerprint "zz"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			fs := Compare(context.Background(), local, []string{tc.addr})
			if time.Since(start) > 3*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			if len(fs) != 1 || fs[0].Status != Fail || !strings.Contains(fs[0].Detail, tc.addr) || !strings.Contains(fs[0].Detail, tc.want) ||
				strings.ContainsRune(fs[0].Detail, 0x1b) || len(fs[0].Detail) > 500 {
				t.Errorf("findings:\n%s\nwant one FAIL naming %s with %q", findings(fs), tc.addr, tc.want)
			}
		})
	}
}
