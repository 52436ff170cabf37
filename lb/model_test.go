package lb

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/ipvs"
)

func mustParse(t testing.TB, y string) *conf.Config {
	t.Helper()
	c, err := conf.Parse("test.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// render writes a table as the ipvsadm rules that would create it.
func render(t ipvs.Table) string {
	return ipvs.Diff(t, ipvs.Table{}).String()
}

// TestDesiredState walks virtual servers through health changes and checks
// the exact table after each step, with keepalived's semantics.
func TestDesiredState(t *testing.T) {
	type step struct {
		name string
		// down and up list real servers (by index) that change.
		down, up []int
		quorumUp bool
		want     string
	}
	tests := []struct {
		name  string
		yaml  string
		steps []step
	}{
		{
			name: "failed real server removed and restored",
			yaml: `virtual_servers:
  - address: 192.0.2.10:80
    check: {type: TCP}
    real_servers: [198.51.100.1:8080, {address: 198.51.100.2:8080, weight: 5}]
`,
			steps: []step{
				{name: "all up", quorumUp: true, want: `+ -A -t 192.0.2.10:80 -s wlc
+ -a -t 192.0.2.10:80 -r 198.51.100.1:8080 -m -w 1
+ -a -t 192.0.2.10:80 -r 198.51.100.2:8080 -m -w 5
`},
				{name: "one down", down: []int{1}, quorumUp: true, want: `+ -A -t 192.0.2.10:80 -s wlc
+ -a -t 192.0.2.10:80 -r 198.51.100.1:8080 -m -w 1
`},
				{name: "all down: no quorum, no sorry server", down: []int{0}, quorumUp: false, want: "+ -A -t 192.0.2.10:80 -s wlc\n"},
				{name: "back", up: []int{0, 1}, quorumUp: true, want: `+ -A -t 192.0.2.10:80 -s wlc
+ -a -t 192.0.2.10:80 -r 198.51.100.1:8080 -m -w 1
+ -a -t 192.0.2.10:80 -r 198.51.100.2:8080 -m -w 5
`},
			},
		},
		{
			name: "inhibit_on_failure keeps weight 0, per-server override",
			yaml: `virtual_servers:
  - address: 192.0.2.10:80
    inhibit_on_failure: true
    check: {type: TCP}
    real_servers: [198.51.100.1:8080, {address: 198.51.100.2:8080, inhibit_on_failure: false}]
`,
			steps: []step{
				{name: "both down", down: []int{0, 1}, want: `+ -A -t 192.0.2.10:80 -s wlc
+ -a -t 192.0.2.10:80 -r 198.51.100.1:8080 -m -w 0
`},
			},
		},
		{
			name: "quorum with hysteresis and a sorry server",
			yaml: `virtual_servers:
  - address: 192.0.2.10:80
    quorum: 3
    hysteresis: 1
    sorry_server: 203.0.113.99:80
    check: {type: TCP}
    real_servers: [198.51.100.1:80, 198.51.100.2:80, 198.51.100.3:80, 198.51.100.4:80]
`,
			steps: []step{
				{name: "4 of 4", quorumUp: true, want: `+ -A -t 192.0.2.10:80 -s wlc
+ -a -t 192.0.2.10:80 -r 198.51.100.1:80 -m -w 1
+ -a -t 192.0.2.10:80 -r 198.51.100.2:80 -m -w 1
+ -a -t 192.0.2.10:80 -r 198.51.100.3:80 -m -w 1
+ -a -t 192.0.2.10:80 -r 198.51.100.4:80 -m -w 1
`},
				{name: "2 of 4 holds quorum (lost below 3-1)", down: []int{0, 1}, quorumUp: true, want: `+ -A -t 192.0.2.10:80 -s wlc
+ -a -t 192.0.2.10:80 -r 198.51.100.3:80 -m -w 1
+ -a -t 192.0.2.10:80 -r 198.51.100.4:80 -m -w 1
`},
				{name: "1 of 4 loses it: sorry server replaces the rest", down: []int{2}, quorumUp: false, want: `+ -A -t 192.0.2.10:80 -s wlc
+ -a -t 192.0.2.10:80 -r 203.0.113.99:80 -m -w 1
`},
				{name: "3 of 4 is not enough to regain (3+1)", up: []int{0, 1}, quorumUp: false, want: `+ -A -t 192.0.2.10:80 -s wlc
+ -a -t 192.0.2.10:80 -r 203.0.113.99:80 -m -w 1
`},
				{name: "4 of 4 regains: sorry server leaves", up: []int{2}, quorumUp: true, want: `+ -A -t 192.0.2.10:80 -s wlc
+ -a -t 192.0.2.10:80 -r 198.51.100.1:80 -m -w 1
+ -a -t 192.0.2.10:80 -r 198.51.100.2:80 -m -w 1
+ -a -t 192.0.2.10:80 -r 198.51.100.3:80 -m -w 1
+ -a -t 192.0.2.10:80 -r 198.51.100.4:80 -m -w 1
`},
			},
		},
		{
			name: "sorry_server_inhibit, DR sorry server, inhibited servers stay at 0 under the sorry server",
			yaml: `virtual_servers:
  - address: 192.0.2.10:80
    sorry_server: {address: 192.0.2.99, forwarding: DR}
    sorry_server_inhibit: true
    check: {type: TCP}
    real_servers: [{address: 198.51.100.1:80, inhibit_on_failure: true}, 198.51.100.2:80]
`,
			steps: []step{
				{name: "quorum: sorry at 0", quorumUp: true, want: `+ -A -t 192.0.2.10:80 -s wlc
+ -a -t 192.0.2.10:80 -r 192.0.2.99:80 -g -w 0
+ -a -t 192.0.2.10:80 -r 198.51.100.1:80 -m -w 1
+ -a -t 192.0.2.10:80 -r 198.51.100.2:80 -m -w 1
`},
				{name: "lost", down: []int{0, 1}, quorumUp: false, want: `+ -A -t 192.0.2.10:80 -s wlc
+ -a -t 192.0.2.10:80 -r 192.0.2.99:80 -g -w 1
+ -a -t 192.0.2.10:80 -r 198.51.100.1:80 -m -w 0
`},
			},
		},
		{
			name: "alpha starts checked servers down; unchecked ones are up",
			yaml: `virtual_servers:
  - address: 192.0.2.10:80
    alpha: true
    quorum: 2
    check: {type: TCP}
    real_servers: [198.51.100.1:80, {address: 198.51.100.2:80, check: {type: NONE}}]
`,
			steps: []step{
				{name: "start", quorumUp: false, want: `+ -A -t 192.0.2.10:80 -s wlc
+ -a -t 192.0.2.10:80 -r 198.51.100.2:80 -m -w 1
`},
				{name: "first success", up: []int{0}, quorumUp: true, want: `+ -A -t 192.0.2.10:80 -s wlc
+ -a -t 192.0.2.10:80 -r 198.51.100.1:80 -m -w 1
+ -a -t 192.0.2.10:80 -r 198.51.100.2:80 -m -w 1
`},
			},
		},
		{
			name: "group expands to every address and mark",
			yaml: `virtual_server_groups: [{name: g, addresses: ["192.0.2.10-11:80"], fwmarks: [7]}]
virtual_servers:
  - group: g
    forwarding: DR
    scheduler: rr
    persistence_timeout: 60
    real_servers: [192.0.2.50]
`,
			steps: []step{{name: "start", quorumUp: true, want: `+ -A -t 192.0.2.10:80 -s rr -p 60
+ -A -t 192.0.2.11:80 -s rr -p 60
+ -A -f 7 -s rr -p 60
+ -a -t 192.0.2.10:80 -r 192.0.2.50:80 -g -w 1
+ -a -t 192.0.2.11:80 -r 192.0.2.50:80 -g -w 1
+ -a -f 7 -r 192.0.2.50:0 -g -w 1
`}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := buildModel(mustParse(t, tc.yaml), nil)
			v := m.vss[0]
			for _, s := range tc.steps {
				for _, i := range s.down {
					v.rss[i].up = false
				}
				for _, i := range s.up {
					v.rss[i].up = true
				}
				v.updateQuorum()
				if v.quorumUp != s.quorumUp {
					t.Errorf("%s: quorum up = %v, want %v (weight %d)", s.name, v.quorumUp, s.quorumUp, v.weightSum())
				}
				if got := render(m.desired(roles{}, nil)); got != s.want {
					t.Errorf("%s: table\n%s\nwant\n%s", s.name, got, s.want)
				}
			}
		})
	}
}

// TestReloadPlans checks the exact kernel changes a reload computes, from
// the old and new model alone.
func TestReloadPlans(t *testing.T) {
	base := `virtual_servers:
  - address: 192.0.2.10:80
    check: {type: TCP}
    real_servers: [198.51.100.1:80, 198.51.100.2:80]
  - address: 192.0.2.11:80
    real_servers: [198.51.100.1:80]
`
	tests := []struct {
		name, yaml, want string
		// prep runs on the old model before the reload.
		prep func(m *model)
	}{
		{"unchanged", base, "", nil},
		{"weight change edits one destination", strings.Replace(base, "198.51.100.2:80]", "{address: 198.51.100.2:80, weight: 4}]", 1),
			"~ -e -t 192.0.2.10:80 -r 198.51.100.2:80 -m -w 4\n", nil},
		{"scheduler change edits the service in place", strings.Replace(base, "  - address: 192.0.2.11:80\n", "  - address: 192.0.2.11:80\n    scheduler: rr\n", 1),
			"~ -E -t 192.0.2.11:80 -s rr\n", nil},
		{"removed real server drains at weight 0", strings.Replace(base, ", 198.51.100.2:80]", "]", 1),
			"~ -e -t 192.0.2.10:80 -r 198.51.100.2:80 -m -w 0\n", nil},
		{"removed service is deleted", strings.Split(base, "  - address: 192.0.2.11:80")[0],
			"- -D -t 192.0.2.11:80\n", nil},
		{"added real server", strings.Replace(base, "[198.51.100.1:80]", "[198.51.100.1:80, 198.51.100.3:80]", 1),
			"+ -a -t 192.0.2.11:80 -r 198.51.100.3:80 -m -w 1\n", nil},
		{"failed server stays out when its check is unchanged", strings.Replace(base, "192.0.2.11:80\n", "192.0.2.11:80\n    scheduler: rr\n", 1),
			"~ -E -t 192.0.2.11:80 -s rr\n", func(m *model) { failProbes(m.vss[0].rss[1]) }},
		{"a changed check restarts the server's health (up)", strings.Replace(base, "{type: TCP}", "{type: TCP, connect_port: 81}", 1),
			"+ -a -t 192.0.2.10:80 -r 198.51.100.2:80 -m -w 1\n", func(m *model) { failProbes(m.vss[0].rss[1]) }},
		{"address change is delete and add", strings.Replace(base, "192.0.2.11:80", "192.0.2.12:80", 1),
			"+ -A -t 192.0.2.12:80 -s wlc\n+ -a -t 192.0.2.12:80 -r 198.51.100.1:80 -m -w 1\n- -D -t 192.0.2.11:80\n", nil},
	}
	for _, tc := range tests {
		// Read plainly, and through a conf.Parser with the running model
		// lending what did not change, as the daemon reloads.
		for _, incremental := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/incremental=%v", tc.name, incremental), func(t *testing.T) {
				var p conf.Parser
				parse := func(y string) *conf.Config {
					if !incremental {
						return mustParse(t, y)
					}
					c, err := p.Parse("test.yaml", []byte(y))
					if err != nil {
						t.Fatal(err)
					}
					return c
				}
				old := buildModel(parse(base), nil)
				if tc.prep != nil {
					tc.prep(old)
				}
				kernel := old.desired(roles{}, nil)
				lend := old
				if !incremental {
					lend = nil
				}
				nm := buildModel(parse(tc.yaml), lend)
				nm.carryOver(old, time.Now(), time.Minute)
				plan := ipvs.Diff(nm.desired(roles{}, nil), kernel)
				if got := plan.String(); got != tc.want {
					t.Errorf("plan\n%s\nwant\n%s", got, tc.want)
				}
				// A reload reads and compares only changedKeys: they must
				// cover every change (removed services are added by prepare).
				keys := changedKeys(old, nm, roles{})
				for _, c := range plan.Changes {
					if _, kept := nm.services()[c.Service.Key()]; kept && !keys[c.Service.Key()] {
						t.Errorf("change %v is outside changedKeys %v", c, keys)
					}
				}
			})
		}
	}
}

func TestVRRPGating(t *testing.T) {
	cfg := mustParse(t, `vrrp_instances: [{name: VI_1, interface: eth0, virtual_router_id: 1, virtual_ipaddresses: [192.0.2.100]}]
virtual_servers:
  - {address: 192.0.2.100:80, vrrp_instance: VI_1, real_servers: [198.51.100.1:80]}
  - {address: 192.0.2.101:80, real_servers: [198.51.100.1:80]}
`)
	m := buildModel(cfg, nil)
	if got := len(m.desired(roles{}, nil).Services); got != 1 {
		t.Errorf("backup: %d services installed, want 1 (the unbound one)", got)
	}
	if got := len(m.desired(roles{"VI_1": true}, nil).Services); got != 2 {
		t.Errorf("master: %d services installed, want 2", got)
	}
}

// failProbes marks r's probes failed, as health events would.
func failProbes(r *rsState) {
	for i := range r.checks {
		r.checks[i].up, r.checks[i].reason = false, "test: failed"
	}
	r.combine()
}
