package statuspage

import (
	"fmt"
	"html/template"
	"net"
	"strconv"
	"time"

	"github.com/lbd-project/lbd/internal/control"
)

// view is what the templates render: the data and the time it is shown
// at, which "ago" columns count from.
type view struct {
	Data
	Now time.Time
}

// Ago says how long before the view t was: "3m12s ago"; "—" for a zero t.
func (v view) Ago(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := v.Now.Sub(t)
	if d < 0 {
		d = 0
	}
	return d.Round(time.Second).String() + " ago"
}

// Time is t in UTC to the second, for a title attribute; "" when zero.
func (Data) Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Service names a service as ipvsadm does: "TCP 192.0.2.10:80", "FWM 5".
func (Data) Service(s control.ServiceRef) string {
	if s.FWMark != 0 {
		if s.Family == "ipv6" {
			return fmt.Sprintf("FWM %d IPv6", s.FWMark)
		}
		return fmt.Sprintf("FWM %d", s.FWMark)
	}
	return s.Protocol + " " + net.JoinHostPort(s.Address, strconv.Itoa(int(s.Port)))
}

// RealServer is a real server's address:port.
func (Data) RealServer(r control.RealServerStatus) string {
	return net.JoinHostPort(r.Address, strconv.Itoa(int(r.Port)))
}

// Weight is a kernel weight, "—" when the real server is not in the kernel.
func (Data) Weight(w *int32) string {
	if w == nil {
		return "—"
	}
	return strconv.Itoa(int(*w))
}

// Latency rounds a probe's latency for reading.
func (Data) Latency(d time.Duration) string {
	if d >= 10*time.Millisecond {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(10 * time.Microsecond).String()
}

// Short is a table fingerprint's first characters: enough to compare
// balancers at a glance (the title has all of it).
func (Data) Short(fp string) string {
	if len(fp) > 12 {
		return fp[:12]
	}
	return fp
}

// Newest lists the events newest first.
func (d Data) Newest() []control.Event {
	out := make([]control.Event, len(d.Events))
	for i, e := range d.Events {
		out[len(out)-1-i] = e
	}
	return out
}

// refreshScript fetches the content part every refreshEvery and swaps it
// in; the content is HTML the server escaped. body's data-refreshes counts
// the swaps (the browser test waits for one), and the "stale" note shows
// while lbd does not answer.
var refreshScript = fmt.Sprintf(`
(function () {
  var n = 0;
  function refresh() {
    fetch("status?part=content", {cache: "no-store"}).then(function (r) {
      if (!r.ok) { throw new Error(r.status); }
      return r.text();
    }).then(function (html) {
      document.getElementById("content").innerHTML = html;
      document.body.setAttribute("data-refreshes", String(++n));
      document.getElementById("stale").hidden = true;
    }).catch(function () {
      document.getElementById("stale").hidden = false;
    }).finally(function () {
      setTimeout(refresh, %d);
    });
  }
  setTimeout(refresh, %[1]d);
})();
`, refreshEvery.Milliseconds())

var tmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"script": func() template.JS { return template.JS(refreshScript) },
	"every":  func() string { return refreshEvery.String() },
}).Parse(pageHTML))

const pageHTML = `{{define "page"}}<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lbd {{.RouterID}}</title>
<style>
body { font: 13px/1.35 system-ui, sans-serif; margin: 0; color: #1d2329; background: #f4f5f7; }
header { background: #24313f; color: #fff; padding: 8px 14px; display: flex; gap: 18px; align-items: baseline; flex-wrap: wrap; }
header h1 { font-size: 17px; margin: 0; }
header span { color: #c5ced8; }
main { padding: 6px 14px 20px; }
h2 { font-size: 14px; margin: 14px 0 4px; }
table { border-collapse: collapse; background: #fff; width: 100%; margin-bottom: 6px; }
th, td { border: 1px solid #d5d9de; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #e4e8ec; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.vs td { background: #dfe9f5; font-weight: 600; }
tr.vs.down td { background: #f6d3d0; }
.MASTER, .up { background: #c9ecc5; }
.BACKUP { background: #dfe9f5; }
.FAULT, .down, .failed { background: #f6d3d0; }
.INIT { background: #eee; }
.draining { background: #fbe7bf; }
.disabled { background: #e2e2e2; color: #555; }
.flag { display: inline-block; border: 1px solid #99a3ad; border-radius: 3px; padding: 0 3px; margin-right: 2px; font-size: 11px; }
.muted { color: #66707a; }
.warn { background: #fbe7bf; padding: 4px 8px; border: 1px solid #e0b45a; margin: 6px 0; }
details pre { margin: 2px 0; white-space: pre-wrap; font-size: 12px; }
code { font-size: 12px; }
</style>
</head>
<body>
<header><h1>lbd {{.RouterID}}</h1><span>read-only status, refreshed every {{every}}</span>
<span id="stale" class="warn" hidden>lbd does not answer: showing the last status</span></header>
<main id="content">{{template "content" .}}</main>
<script>{{script}}</script>
</body>
</html>
{{end}}

{{define "content"}}
<p>
Configuration <code>{{.ConfigFile}}</code>, generation {{.Generation}}, loaded <span title="{{.Time .LoadedAt}}">{{$.Ago .LoadedAt}}</span>.
{{with .LastReload}}Last reload <span title="{{$.Time .At}}">{{$.Ago .At}}</span>:
{{if .OK}}<span class="up">ok</span>{{else}}<span class="failed">failed</span>{{end}}.{{end}}
Drift repairs: {{.DriftRepairs}}.
<span class="muted">Shown at {{.Time .Now}}.</span>
</p>
{{with .LastReload}}{{if .Error}}<details class="warn"><summary>Last reload error</summary><pre>{{.Error}}</pre></details>{{end}}{{end}}
{{if .LastError}}<p class="warn">Kernel: {{.LastError}}</p>{{end}}
{{range $k, $v := .SettingErrors}}<p class="warn">{{$k}}: {{$v}}</p>{{end}}

<h2>VRRP instances</h2>
{{if .VRRPInstances}}
<table id="vrrp">
<tr><th>instance</th><th>interface</th><th>VRID</th><th>state</th><th>priority</th><th>master</th><th>last transition</th><th>why</th></tr>
{{range .VRRPInstances}}<tr data-instance="{{.Name}}" data-state="{{.State}}" data-priority="{{.Priority}}">
<td>{{.Name}}</td><td>{{.Interface}}</td><td class="num">{{.VRID}}</td><td class="{{.State}}">{{.State}}</td>
<td class="num">{{.Priority}}</td><td>{{if eq .State "MASTER"}}this node{{else if .Master}}{{.Master}}{{else}}<span class="muted">unknown</span>{{end}}</td>
<td title="{{$.Time .LastTransition}}">{{$.Ago .LastTransition}}</td><td>{{.Reason}}</td></tr>
{{end}}</table>
{{else}}<p class="muted">No VRRP instance.</p>{{end}}

<h2>Virtual servers</h2>
{{if .VirtualServers}}
<table id="virtual-servers">
<tr><th>real server</th><th>health</th><th>last check</th><th>latency</th><th>weight now</th><th>configured</th><th>active</th><th>inactive</th><th>flags</th></tr>
{{range .VirtualServers}}
<tr class="vs{{if not .QuorumUp}} down{{end}}" data-service="{{$.Service .Service}}" data-quorum="{{if .QuorumUp}}up{{else}}down{{end}}" data-sorry="{{.SorryActive}}">
<td colspan="9">{{.Name}} <span class="muted">{{$.Service .Service}}</span> — {{.Scheduler}}, {{.Forwarding}} —
quorum {{if .QuorumUp}}up{{else}}DOWN{{end}}{{if .SorryActive}}, <span class="draining">sorry server active</span>{{end}}
{{if .TableFingerprint}} — table <code title="{{.TableFingerprint}}">{{$.Short .TableFingerprint}}</code>{{else}} — <span class="muted">not in the kernel</span>{{end}}</td></tr>
{{range .RealServers}}<tr data-rs="{{$.RealServer .}}" data-up="{{.Up}}" data-kernel-weight="{{$.Weight .KernelWeight}}" data-weight="{{.Weight}}" data-active="{{.ActiveConns}}" data-inactive="{{.InactConns}}">
<td>{{$.RealServer .}}</td>
<td class="{{if .Up}}up{{else}}down{{end}}" title="since {{$.Time .Since}}">{{if .Up}}UP{{else}}DOWN{{end}}{{with .Reason}} <span class="muted">{{.}}</span>{{end}}</td>
{{with .LastCheck}}<td class="{{if .OK}}up{{else}}down{{end}}" title="{{$.Time .At}}">{{if .OK}}ok{{else}}failed{{end}}{{with .Reason}}: {{.}}{{end}}</td><td class="num">{{$.Latency .Latency}}</td>
{{else}}<td class="muted">—</td><td></td>{{end}}
<td class="num">{{$.Weight .KernelWeight}}</td><td class="num">{{.Weight}}</td>
<td class="num">{{.ActiveConns}}</td><td class="num">{{.InactConns}}</td>
<td>{{if .Draining}}<span class="flag draining">draining</span>{{end}}{{if .Disabled}}<span class="flag disabled">disabled</span>{{end}}{{if .Runtime}}<span class="flag">run-time</span>{{end}}{{if .ProbeUsers}}<span class="flag" title="one probe feeds this many real servers">probe ×{{.ProbeUsers}}</span>{{end}}</td></tr>
{{end}}{{end}}</table>
{{with .Omitted}}<p class="warn">Not shown: {{.VirtualServers}} virtual servers with {{.RealServers}} real servers; <code>ipvsctl status</code> lists them all.</p>{{end}}
{{else}}<p class="muted">No virtual server.</p>{{end}}

{{with .BGP}}
<h2>BGP{{if .Draining}} <span class="draining">draining</span>{{end}}</h2>
<p>Announced: {{range .Announced}}<code>{{.}}</code> {{else}}<span class="muted">nothing</span>{{end}}</p>
<table id="bgp"><tr><th>peer</th><th>ASN</th><th>state</th><th>uptime</th><th>advertised</th><th>BFD</th><th>last error</th></tr>
{{range .Peers}}<tr><td>{{.Address}}</td><td class="num">{{.ASN}}</td><td>{{.State}}</td><td>{{.Uptime}}</td><td class="num">{{.Advertised}}</td><td>{{.BFD}}</td><td>{{.LastError}}</td></tr>
{{end}}</table>
{{end}}

<h2>Recent events</h2>
{{if .Events}}
<table id="events">
<tr><th>when</th><th>kind</th><th>what</th><th>event</th></tr>
{{range .Newest}}<tr data-kind="{{.Kind}}">
<td title="{{$.Time .At}}">{{$.Ago .At}}</td><td>{{.Kind}}</td><td>{{.Subject}}</td>
<td>{{.Message}}{{if .Detail}}<details><summary>{{len .Detail}} {{if eq (len .Detail) 1}}line{{else}}lines{{end}}</summary><pre>{{range .Detail}}{{.}}
{{end}}</pre></details>{{end}}</td></tr>
{{end}}</table>
{{else}}<p class="muted">No event since lbd started.</p>{{end}}
{{end}}`
