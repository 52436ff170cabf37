// Package statuspage is lbd's read-only status page, the operator's view
// HAProxy's stats page gives: VRRP instances, virtual and real servers,
// and the recent events, on one page that refreshes itself.
//
// It renders the daemon's control.StatusResult — the answer `ipvsctl
// status --json` prints — so the page and the CLI never disagree. The
// page is HTML rendered on the server with html/template (every value
// escaped) with inline CSS and a small inline script that fetches the
// content part again every 2 s and swaps it in: nothing is loaded from
// elsewhere, and a Content-Security-Policy says so to the browser. The
// same data is at /status.json.
//
// The metrics server serves it beside /metrics, with that server's limits
// on connections and request times; here each request's work is bounded:
// at most maxBuilds status builds at once (others get 503 at once), each
// within buildTimeout; at most maxRealServers real servers and
// maxVirtualServers virtual servers are shown, the rest counted, and long
// reasons and errors are cut.
package statuspage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/lbd-project/lbd/internal/control"
)

// Source returns the daemon's status; it must give up when ctx ends.
type Source func(ctx context.Context) (control.StatusResult, error)

// The limits of one request.
const (
	// buildTimeout bounds the wait for the daemon loop, the engine and
	// the kernel, as a scrape's.
	buildTimeout = 3 * time.Second
	// maxBuilds caps the status builds running at once; a browser tab
	// refreshes every 2 s, and a few tabs share two builds easily.
	maxBuilds = 2
	// maxVirtualServers and maxRealServers bound the page (and the
	// JSON): a 10,000-service table belongs to ipvsctl, not a browser.
	maxVirtualServers = 500
	maxRealServers    = 2000
	// maxReason bounds a reason in a table cell (a health check's
	// answer), maxError an error (a reload's lists every line).
	maxReason = 256
	maxError  = 4096
	// refreshEvery is how often the page fetches its content again.
	refreshEvery = 2 * time.Second
)

// Page is the status page's handler: / and /status (the page),
// /status?part=content (its content, for the refresh), /status.json.
type Page struct {
	src   Source
	log   *slog.Logger
	slots chan struct{} // one per build running
	mux   *http.ServeMux
}

// New returns the page of src; log gets what cannot be rendered.
func New(src Source, log *slog.Logger) *Page {
	p := &Page{src: src, log: log, slots: make(chan struct{}, maxBuilds), mux: http.NewServeMux()}
	p.mux.HandleFunc("GET /{$}", p.html)
	p.mux.HandleFunc("GET /status", p.html)
	p.mux.HandleFunc("GET /status.json", p.json)
	return p
}

func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.mux.ServeHTTP(w, r) }

// Data is what the page shows and /status.json holds: the status, with
// what was left out to bound it.
type Data struct {
	control.StatusResult
	Omitted *Omitted `json:"omitted,omitempty"`
}

// Omitted counts what the bounds left out.
type Omitted struct {
	VirtualServers int `json:"virtual_servers,omitempty"`
	RealServers    int `json:"real_servers,omitempty"`
}

// build gets the status within the limits; it writes the error answer
// itself and returns false when there is none.
func (p *Page) build(w http.ResponseWriter, r *http.Request) (Data, bool) {
	select {
	case p.slots <- struct{}{}:
		defer func() { <-p.slots }()
	default:
		http.Error(w, "busy: too many status requests at once; try again", http.StatusServiceUnavailable)
		return Data{}, false
	}
	ctx, cancel := context.WithTimeout(r.Context(), buildTimeout)
	defer cancel()
	st, err := p.src(ctx)
	if err != nil {
		// Not logged: a busy loop is the watchdog's business, and every
		// open tab would log it every 2 s.
		http.Error(w, "lbd did not answer with its status in time; try again", http.StatusServiceUnavailable)
		return Data{}, false
	}
	return bound(st), true
}

// bound cuts st to the page's limits. It changes st's real servers in
// place: each request has a status of its own.
func bound(st control.StatusResult) Data {
	d := Data{StatusResult: st}
	var om Omitted
	rows := 0
	for i, v := range st.VirtualServers {
		if i == maxVirtualServers || rows+len(v.RealServers) > maxRealServers {
			om.VirtualServers = len(st.VirtualServers) - i
			for _, v := range st.VirtualServers[i:] {
				om.RealServers += len(v.RealServers)
			}
			d.VirtualServers = st.VirtualServers[:i]
			break
		}
		rows += len(v.RealServers)
		for j := range v.RealServers {
			r := &v.RealServers[j]
			r.Reason = clip(r.Reason, maxReason)
			if c := r.LastCheck; c != nil {
				cc := *c
				cc.Reason = clip(c.Reason, maxReason)
				r.LastCheck = &cc
			}
		}
	}
	if om != (Omitted{}) {
		d.Omitted = &om
	}
	if r := st.LastReload; r != nil {
		c := *r
		c.Error = clip(c.Error, maxError)
		d.LastReload = &c
	}
	d.LastError = clip(d.LastError, maxError)
	if len(st.SettingErrors) > 0 {
		d.SettingErrors = map[string]string{}
		for k, v := range st.SettingErrors {
			d.SettingErrors[k] = clip(v, maxError)
		}
	}
	if b := st.BGP; b != nil {
		c := *b
		c.Peers = append([]control.BGPPeerStatus(nil), b.Peers...)
		for i := range c.Peers {
			c.Peers[i].LastError = clip(c.Peers[i].LastError, maxError)
		}
		d.BGP = &c
	}
	return d
}

// clip cuts s to n bytes; the template and JSON encoders make whatever
// is left valid UTF-8.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// securityHeaders: the page runs its one inline script and style, talks
// only to lbd, and is framed by no one.
func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src '"+scriptHash+
		"'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
}

func (p *Page) html(w http.ResponseWriter, r *http.Request) {
	d, ok := p.build(w, r)
	if !ok {
		return
	}
	name := "page"
	if r.URL.Query().Get("part") == "content" {
		name = "content"
	}
	var b bytes.Buffer
	if err := tmpl.ExecuteTemplate(&b, name, view{Data: d, Now: time.Now()}); err != nil {
		p.log.Error("lbd: status page: render", "err", err)
		http.Error(w, "cannot render the status page", http.StatusInternalServerError)
		return
	}
	securityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b.Bytes())
}

func (p *Page) json(w http.ResponseWriter, r *http.Request) {
	d, ok := p.build(w, r)
	if !ok {
		return
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		p.log.Error("lbd: status page: encode", "err", err)
		http.Error(w, "cannot encode the status", http.StatusInternalServerError)
		return
	}
	securityHeaders(w)
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
}

// scriptHash is the inline script's hash for the Content-Security-Policy.
var scriptHash = func() string {
	sum := sha256.Sum256([]byte(refreshScript))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}()
