package statuspage

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/control"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func fixed(st control.StatusResult) Source {
	return func(context.Context) (control.StatusResult, error) { return st, nil }
}

func get(t *testing.T, h http.Handler, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, target, nil))
	return w
}

func sample() control.StatusResult {
	now := time.Now()
	w := int32(0)
	return control.StatusResult{RouterID: "lb1", ConfigFile: "/etc/lbd/lbd.yaml", Generation: 3, LoadedAt: now.Add(-time.Hour),
		LastReload: &control.ReloadOutcome{At: now.Add(-time.Hour), OK: true},
		VRRPInstances: []control.VRRPInstanceStatus{
			{Name: "VI_1", Interface: "eth0", VRID: 51, State: "MASTER", Priority: 150, LastTransition: now.Add(-time.Minute), Reason: "master down timer expired"},
			{Name: "VI_2", Interface: "eth0", VRID: 52, State: "BACKUP", Priority: 100, Master: "198.51.100.2", Reason: "startup"},
		},
		VirtualServers: []control.VirtualServerStatus{{
			Service: control.ServiceRef{Protocol: "TCP", Address: "198.51.100.10", Port: 80}, Name: "web", QuorumUp: true,
			Scheduler: "mh", Forwarding: "DR", TableFingerprint: "0123456789abcdef",
			RealServers: []control.RealServerStatus{
				{RealServerRef: control.RealServerRef{Address: "192.0.2.15", Port: 8080}, Weight: 5, KernelWeight: &w, Up: false,
					Reason: "connection refused", ActiveConns: 7, InactConns: 11, Draining: true,
					LastCheck: &control.CheckResult{At: now, Reason: "connection refused", Latency: 1500 * time.Microsecond}},
				{RealServerRef: control.RealServerRef{Address: "2001:db8::16", Port: 8080}, Weight: 3, Up: true, Runtime: true, ProbeUsers: 2},
			},
		}},
		Events: []control.Event{
			{At: now.Add(-2 * time.Minute), Kind: control.EventReload, Subject: "/etc/lbd/lbd.yaml", Message: "ok: generation 3, 1 kernel change",
				Detail: []string{"~ -e -t 198.51.100.10:80 -r 192.0.2.15:8080 -g -w 5"}},
			{At: now.Add(-time.Minute), Kind: control.EventHealth, Subject: "web 192.0.2.15:8080", Message: "DOWN: connection refused"},
		},
	}
}

func TestPageShowsTheStatus(t *testing.T) {
	p := New(fixed(sample()), quiet())
	for _, path := range []string{"/", "/status"} {
		w := get(t, p, "GET", path)
		body := w.Body.String()
		if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("%s: %d %s", path, w.Code, w.Header().Get("Content-Type"))
		}
		for _, want := range []string{
			`<title>lbd lb1</title>`,
			`data-instance="VI_1" data-state="MASTER" data-priority="150"`,
			`<td>198.51.100.2</td>`, // VI_2's master
			`this node`,             // VI_1 is the master
			`data-service="TCP 198.51.100.10:80" data-quorum="up" data-sorry="false"`,
			`mh, DR`,
			`<code title="0123456789abcdef">0123456789ab</code>`,
			`data-rs="192.0.2.15:8080" data-up="false" data-kernel-weight="0" data-weight="5" data-active="7" data-inactive="11"`,
			`data-rs="[2001:db8::16]:8080" data-up="true" data-kernel-weight="—"`,
			`failed: connection refused</td><td class="num">1.5ms</td>`,
			`<span class="flag draining">draining</span>`,
			`<span class="flag">run-time</span>`,
			`probe ×2`,
			`~ -e -t 198.51.100.10:80 -r 192.0.2.15:8080 -g -w 5`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %s", path, want)
			}
		}
		// Newest event first.
		if i, j := strings.Index(body, "DOWN: connection refused"), strings.Index(body, "ok: generation 3"); i < 0 || j < 0 || i > j {
			t.Errorf("%s: events not newest first", path)
		}
		if t.Failed() {
			t.Logf("%s:\n%s", path, body)
		}
	}
}

// The one inline script is the one the policy allows, and nothing else
// may load from anywhere.
func TestPageSecurityPolicy(t *testing.T) {
	w := get(t, New(fixed(sample()), quiet()), "GET", "/")
	csp := w.Header().Get("Content-Security-Policy")
	scripts := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllStringSubmatch(w.Body.String(), -1)
	if len(scripts) != 1 {
		t.Fatalf("%d scripts in the page, want 1", len(scripts))
	}
	sum := sha256.Sum256([]byte(scripts[0][1]))
	if want := "script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, want) {
		t.Errorf("policy %q does not allow the page's script (%s)", csp, want)
	}
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("policy %q", csp)
	}
	if strings.Contains(w.Body.String(), "http://") || strings.Contains(w.Body.String(), "https://") {
		t.Error("the page refers to another site")
	}
}

// Names come from the configuration, reasons from real servers and
// messages from errors: none of them is markup.
func TestPageEscapesHostileText(t *testing.T) {
	const evil = `<script>alert(1)</script>`
	st := sample()
	st.RouterID = evil
	st.VRRPInstances[0].Name = evil
	st.VRRPInstances[0].Reason = `"><img src=x onerror=alert(2)>`
	st.VirtualServers[0].Name = evil
	st.VirtualServers[0].RealServers[0].Reason = `</td></tr></table>` + evil
	st.VirtualServers[0].RealServers[0].LastCheck.Reason = evil
	st.Events = append(st.Events, control.Event{Kind: evil, Subject: evil, Message: evil, Detail: []string{`</pre>` + evil}})
	st.LastReload = &control.ReloadOutcome{Error: evil}
	st.SettingErrors = map[string]string{evil: evil}
	p := New(fixed(st), quiet())
	for _, target := range []string{"/", "/status?part=content"} {
		body := get(t, p, "GET", target).Body.String()
		if strings.Count(body, "<script>") > 1 || strings.Contains(body, "<img") || strings.Contains(body, "alert(1)</script>") {
			t.Errorf("%s: hostile text went out as markup:\n%s", target, body)
		}
		if n := strings.Count(body, "&lt;script&gt;alert(1)&lt;/script&gt;"); n < 8 {
			t.Errorf("%s: the hostile name is shown escaped %d times, want every place (8+)", target, n)
		}
	}
	var d Data
	if err := json.Unmarshal(get(t, p, "GET", "/status.json").Body.Bytes(), &d); err != nil || d.VRRPInstances[0].Name != evil {
		t.Errorf("/status.json: %v, instance %q", err, d.VRRPInstances[0].Name)
	}
}

// The content part is what the script swaps in: the same content, without
// the page around it.
func TestContentPart(t *testing.T) {
	p := New(fixed(sample()), quiet())
	part := get(t, p, "GET", "/status?part=content").Body.String()
	page := get(t, p, "GET", "/").Body.String()
	if strings.Contains(part, "<html") || strings.Contains(part, "<script") || !strings.Contains(part, `data-instance="VI_1"`) {
		t.Errorf("content part:\n%s", part)
	}
	if !strings.Contains(page, `<main id="content">`) {
		t.Error("the page has no content element for the script")
	}
}

func TestJSON(t *testing.T) {
	w := get(t, New(fixed(sample()), quiet()), "GET", "/status.json")
	var d Data
	if err := json.Unmarshal(w.Body.Bytes(), &d); err != nil || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%v %s", err, w.Header().Get("Content-Type"))
	}
	if d.RouterID != "lb1" || len(d.VirtualServers) != 1 || d.VirtualServers[0].RealServers[0].InactConns != 11 || len(d.Events) != 2 || d.Omitted != nil {
		t.Errorf("status.json: %+v", d)
	}
}

// A huge status is cut to the page's bounds, and says what it left out.
func TestPageBoundsHugeStatus(t *testing.T) {
	st := sample()
	long := strings.Repeat("x", 100_000)
	st.LastReload.Error = long
	st.VirtualServers = nil
	for i := range 3000 {
		vs := control.VirtualServerStatus{Service: control.ServiceRef{Protocol: "TCP", Address: "198.51.100.10", Port: uint16(i + 1)}, QuorumUp: true}
		for j := range 5 {
			vs.RealServers = append(vs.RealServers, control.RealServerStatus{
				RealServerRef: control.RealServerRef{Address: fmt.Sprintf("192.0.2.%d", j+1), Port: 80}, Up: true, Reason: long})
		}
		st.VirtualServers = append(st.VirtualServers, vs)
	}
	p := New(fixed(st), quiet())
	body := get(t, p, "GET", "/").Body.String()
	if n := strings.Count(body, "data-rs="); n > maxRealServers {
		t.Errorf("%d real servers rendered, at most %d", n, maxRealServers)
	}
	if len(body) > 2<<20 {
		t.Errorf("page of %d bytes", len(body))
	}
	var d Data
	if err := json.Unmarshal(get(t, p, "GET", "/status.json").Body.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	shown := len(d.VirtualServers)
	if d.Omitted == nil || shown+d.Omitted.VirtualServers != 3000 || shown*5+d.Omitted.RealServers != 15000 || shown > maxVirtualServers {
		t.Errorf("shown %d virtual servers, omitted %+v", shown, d.Omitted)
	}
	if !strings.Contains(body, fmt.Sprintf("Not shown: %d virtual servers with %d real servers", d.Omitted.VirtualServers, d.Omitted.RealServers)) {
		t.Error("the page does not say what it left out")
	}
	if r := d.VirtualServers[0].RealServers[0].Reason; len(r) > maxReason+len("…") {
		t.Errorf("reason of %d bytes", len(r))
	}
	if len(d.LastReload.Error) > maxError+len("…") {
		t.Errorf("reload error of %d bytes", len(d.LastReload.Error))
	}
}

// Builds beyond maxBuilds are refused at once, not queued; a source that
// fails or times out is a 503.
func TestPageLimits(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, maxBuilds)
	slow := func(ctx context.Context) (control.StatusResult, error) {
		started <- struct{}{}
		select {
		case <-release:
			return sample(), nil
		case <-ctx.Done():
			return control.StatusResult{}, ctx.Err()
		}
	}
	p := New(slow, quiet())
	done := make(chan int, maxBuilds)
	for range maxBuilds {
		go func() { done <- get(t, p, "GET", "/").Code }()
		<-started
	}
	start := time.Now()
	if w := get(t, p, "GET", "/status.json"); w.Code != http.StatusServiceUnavailable || time.Since(start) > time.Second {
		t.Errorf("build beyond the limit: %d after %v, want 503 at once", w.Code, time.Since(start))
	}
	close(release)
	for range maxBuilds {
		if code := <-done; code != 200 {
			t.Errorf("build within the limit: %d", code)
		}
	}

	failing := New(func(context.Context) (control.StatusResult, error) {
		return control.StatusResult{}, errors.New("loop busy")
	}, quiet())
	if w := get(t, failing, "GET", "/"); w.Code != http.StatusServiceUnavailable {
		t.Errorf("failing source: %d", w.Code)
	}
	for target, want := range map[string]int{"/nothing": 404, "/status.json/x": 404} {
		if w := get(t, p, "GET", target); w.Code != want {
			t.Errorf("GET %s: %d, want %d", target, w.Code, want)
		}
	}
	if w := get(t, p, "POST", "/status"); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", w.Code)
	}
}
