package keepalived

import (
	"strings"
	"testing"
)

// TestLVSFlags checks lvs_flags (and lb_flags) still convert to
// scheduler_flags but carry an Approximated finding, since keepalived
// 2.2.7 ignores them; the separate sh-port / sh-fallback keywords,
// which it honours, convert without one.
func TestLVSFlags(t *testing.T) {
	const vs = "virtual_server 198.51.100.1 80 {\n lvs_sched sh\n lvs_method NAT\n protocol TCP\n%s real_server 192.0.2.1 80 {\n }\n}\n"
	for _, tc := range []struct {
		name, flags string
		finding     bool
	}{
		{"lvs_flags", " lvs_flags sh-port sh-fallback\n", true},
		{"lb_flags", " lb_flags sh-port sh-fallback\n", true},
		{"keywords", " sh-port\n sh-fallback\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, cfg := convertValid(t, strings.Replace(vs, "%s", tc.flags, 1))
			if got := strings.Join(cfg.VirtualServers[0].SchedulerFlags, " "); got != "sh-port sh-fallback" {
				t.Errorf("scheduler flags %q, want \"sh-port sh-fallback\"\n%s", got, res.YAML)
			}
			if got := ChangesBehaviour(res.Findings); got != tc.finding {
				t.Errorf("ChangesBehaviour = %v, want %v:\n%s", got, tc.finding, Report(res.Findings))
			}
			if !tc.finding {
				return
			}
			if len(res.Findings) != 1 {
				t.Fatalf("findings:\n%s", Report(res.Findings))
			}
			f := res.Findings[0]
			if f.Severity != Approximated || f.Keyword != tc.name || f.Pos.Line != 5 ||
				!strings.Contains(f.Message, "keepalived 2.2.7 ignores "+tc.name) || !strings.Contains(f.Message, "lbd applies sh-port sh-fallback") {
				t.Errorf("finding %v", f)
			}
		})
	}
}

// TestScriptUser checks global_defs script_user becomes global.script_user,
// and that a group, which lbd cannot keep, is reported.
func TestScriptUser(t *testing.T) {
	for _, tc := range []struct{ line, finding string }{
		{"script_user nobody", ""},
		{"script_user nobody nogroup", "the group nogroup is not kept"},
	} {
		res, cfg := convertValid(t, "global_defs {\n "+tc.line+"\n}\n")
		if cfg.Global.ScriptUser != "nobody" {
			t.Errorf("%s: script_user %q\n%s", tc.line, cfg.Global.ScriptUser, res.YAML)
		}
		if got := Report(res.Findings); tc.finding == "" && got != "" || !strings.Contains(got, tc.finding) {
			t.Errorf("%s: findings %q, want %q", tc.line, got, tc.finding)
		}
	}
}
