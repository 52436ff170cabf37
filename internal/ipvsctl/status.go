package ipvsctl

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lbd-project/lbd/internal/control"
)

// statusEvents is how many of the recent events "ipvsctl status" prints;
// --json has them all.
const statusEvents = 10

// writeStatus prints "ipvsctl status": a header about the configuration
// and reloads, the managed services with their real servers in ipvsadm's
// listing style, the VRRP instances and the last events.
func writeStatus(w io.Writer, st *control.StatusResult, now time.Time) {
	var b strings.Builder
	router := ""
	if st.RouterID != "" {
		router = " " + st.RouterID
	}
	fmt.Fprintf(&b, "lbd%s: configuration %s, generation %d, loaded %s\n", router, st.ConfigFile, st.Generation, when(st.LoadedAt, now))
	if r := st.LastReload; r != nil {
		if r.OK {
			fmt.Fprintf(&b, "last reload: ok, %s\n", when(r.At, now))
		} else {
			fmt.Fprintf(&b, "last reload: FAILED, %s; still running generation %d:\n", when(r.At, now), st.Generation)
			for _, line := range strings.Split(strings.TrimRight(r.Error, "\n"), "\n") {
				fmt.Fprintf(&b, "  %s\n", line)
			}
		}
	} else {
		b.WriteString("last reload: none\n")
	}
	fmt.Fprintf(&b, "drift repairs: %d\n", st.DriftRepairs)
	if st.LastError != "" {
		fmt.Fprintf(&b, "last error: %s\n", oneLine(st.LastError))
	}
	for _, key := range slices.Sorted(maps.Keys(st.SettingErrors)) {
		fmt.Fprintf(&b, "NOT APPLIED: %s: %s\n", key, oneLine(st.SettingErrors[key]))
	}

	b.WriteString("\n")
	if len(st.VirtualServers) == 0 {
		b.WriteString("No virtual services.\n")
	} else {
		// One table for every real server, so the columns line up across
		// services; service lines sit between its rows.
		t := &table{}
		t.row("  -> RemoteAddress:Port", "Health", "Since", "Weight", "Kernel", "ActiveConn", "InActConn", "LastCheck", "Flags", "Reason")
		var heads []int // row index of each service's first real server
		for _, vs := range st.VirtualServers {
			heads = append(heads, len(t.rows))
			for _, rs := range vs.RealServers {
				health := "down"
				if rs.Up {
					health = "up"
				}
				kernel := "-"
				if rs.KernelWeight != nil {
					kernel = strconv.Itoa(int(*rs.KernelWeight))
				}
				var fl []string
				for _, f := range []struct {
					on   bool
					name string
				}{{rs.Draining, "draining"}, {rs.Disabled, "disabled"}, {rs.Runtime, "runtime"}} {
					if f.on {
						fl = append(fl, f.name)
					}
				}
				if rs.ProbeUsers > 1 {
					fl = append(fl, fmt.Sprintf("shared-probe:%d", rs.ProbeUsers))
				}
				flags := "-"
				if len(fl) > 0 {
					flags = strings.Join(fl, ",")
				}
				check := "-"
				if c := rs.LastCheck; c != nil {
					check = "failed"
					if c.OK {
						check = "ok"
					}
					check += " " + c.Latency.Round(10*time.Microsecond).String()
				}
				t.row("  -> "+formatRealServer(rs.RealServerRef), health, age(rs.Since, now),
					strconv.Itoa(int(rs.Weight)), kernel, strconv.FormatUint(uint64(rs.ActiveConns), 10),
					strconv.FormatUint(uint64(rs.InactConns), 10), check, flags, oneLine(rs.Reason))
			}
		}
		lines := t.lines()
		b.WriteString("Prot LocalAddress:Port Scheduler Forwarding [Name] [State]\n")
		b.WriteString(lines[0])
		for i, vs := range st.VirtualServers {
			line := formatService(vs.Service, "  ")
			if vs.Scheduler != "" {
				line += " " + vs.Scheduler + " " + vs.Forwarding
			}
			if vs.Name != "" {
				line += "  " + vs.Name
			}
			if !vs.QuorumUp {
				line += "  quorum down"
			}
			if vs.SorryActive {
				line += "  sorry server active"
			}
			if vs.TableFingerprint != "" {
				line += "  table " + vs.TableFingerprint
			}
			b.WriteString(line + "\n")
			end := len(lines)
			if i+1 < len(heads) {
				end = heads[i+1]
			}
			for _, l := range lines[heads[i]:end] {
				b.WriteString(l)
			}
		}
	}

	if len(st.VRRPInstances) > 0 {
		b.WriteString("\n")
		t := &table{}
		t.row("VRRP Instance", "Interface", "VRID", "State", "Priority", "Master", "Since", "Reason")
		for _, in := range st.VRRPInstances {
			master := cmp.Or(in.Master, "-")
			if in.State == "MASTER" {
				master = "self"
			}
			t.row(in.Name, in.Interface, strconv.Itoa(in.VRID), in.State, strconv.Itoa(in.Priority), master,
				age(in.LastTransition, now), oneLine(in.Reason))
		}
		for _, l := range t.lines() {
			b.WriteString(l)
		}
	}
	if g := st.BGP; g != nil {
		b.WriteString("\n")
		switch {
		case g.Draining:
			b.WriteString("BGP: DRAINED (ipvsctl enable --balancer to announce again)\n")
		case len(g.Announced) == 0:
			b.WriteString("BGP: announcing nothing\n")
		default:
			fmt.Fprintf(&b, "BGP: announcing %s\n", strings.Join(g.Announced, ", "))
		}
		t := &table{}
		t.row("BGP Peer", "ASN", "State", "Up", "Routes", "BFD", "Last error")
		for _, p := range g.Peers {
			up := ""
			if p.Uptime > 0 {
				up = p.Uptime.Round(time.Second).String()
			}
			t.row(p.Address, strconv.FormatUint(uint64(p.ASN), 10), p.State, up, strconv.Itoa(p.Advertised), cmp.Or(p.BFD, "-"),
				oneLine(p.LastError))
		}
		for _, l := range t.lines() {
			b.WriteString(l)
		}
	}
	if n := len(st.Events); n > 0 {
		fmt.Fprintf(&b, "\nRecent events (the last %d of %d, newest last; --json has all):\n", min(n, statusEvents), n)
		t := &table{}
		for _, e := range st.Events[max(0, n-statusEvents):] {
			msg := oneLine(e.Message)
			if len(e.Detail) > 0 {
				msg += fmt.Sprintf(" (%d %s)", len(e.Detail), plural(len(e.Detail), "line", "lines"))
			}
			t.row(age(e.At, now)+" ago", e.Kind, oneLine(e.Subject), msg)
		}
		for _, l := range t.lines() {
			b.WriteString(l)
		}
	}
	io.WriteString(w, b.String())
}

// table aligns columns: every cell but the last is padded to its column's
// width plus two spaces.
type table struct{ rows [][]string }

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

// lines returns the rows, each ending in a newline.
func (t *table) lines() []string {
	var width []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], len(c))
		}
	}
	out := make([]string, len(t.rows))
	for j, r := range t.rows {
		var b strings.Builder
		for i, c := range r {
			if i == len(r)-1 {
				b.WriteString(c)
				break
			}
			b.WriteString(c)
			b.WriteString(strings.Repeat(" ", width[i]-len(c)+2))
		}
		out[j] = strings.TrimRight(b.String(), " ") + "\n"
	}
	return out
}

// oneLine keeps a table cell on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// when formats a point in time with its age: "2025-06-01 12:00:00 UTC
// (2h3m ago)".
func when(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.In(now.Location()).Format("2006-01-02 15:04:05 MST") + " (" + age(t, now) + " ago)"
}

// age formats how long ago t was, at most two units: "45s", "12m3s",
// "2h3m", "3d4h"; "-" for the zero time.
func age(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t).Truncate(time.Second)
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%dh", s/86400, s%86400/3600)
}
