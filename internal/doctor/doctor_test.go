package doctor

import (
	"bytes"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/lbd-project/lbd/conf"
)

// fakeHost is a machine made of a map of files and a rule set.
type fakeHost struct {
	files map[string]string
	rules string
}

func (h fakeHost) ReadFile(path string) ([]byte, error) {
	if v, ok := h.files[path]; ok {
		return []byte(v), nil
	}
	return nil, fs.ErrNotExist
}

func (h fakeHost) Ruleset() (string, error) {
	if h.rules == "" {
		return "", errors.New("nft not found")
	}
	return h.rules, nil
}

const cfgText = `vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 51
    virtual_ipaddresses: [198.51.100.10]
virtual_servers:
  - address: 198.51.100.10:80
    scheduler: rr
    persistence: true
    real_servers:
      - address: 192.0.2.15:8080
  - address: 198.51.100.10:443
    forwarding: DR
    real_servers:
      - address: 192.0.2.16:443
`

func healthyHost() fakeHost {
	return fakeHost{files: map[string]string{
		"/proc/net/ip_vs":                                 "IP Virtual Server version 1.2.1 (size=4096)\n",
		"/sys/module/ip_vs_rr/refcnt":                     "0\n",
		"/sys/module/ip_vs_wlc/refcnt":                    "0\n",
		"/proc/sys/net/ipv4/ip_forward":                   "1\n",
		"/proc/sys/net/ipv4/vs/expire_nodest_conn":        "1\n",
		"/proc/sys/net/ipv4/vs/expire_quiescent_template": "1\n",
		"/proc/sys/net/ipv4/vs/conntrack":                 "1\n",
		"/proc/sys/net/ipv4/conf/all/rp_filter":           "2\n",
		"/proc/sys/net/ipv4/conf/eth0/rp_filter":          "0\n",
	}, rules: "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t\tip protocol vrrp accept\n\t}\n}\n"}
}

func parse(t *testing.T) *conf.Config {
	t.Helper()
	c, err := conf.Parse("lbd.yaml", []byte(cfgText))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func byCheck(fs []Finding) map[string]Finding {
	m := map[string]Finding{}
	for _, f := range fs {
		m[f.Check] = f
	}
	return m
}

func TestHealthyHost(t *testing.T) {
	fs := Check(parse(t), healthyHost())
	for _, f := range fs {
		if f.Status > Info {
			t.Errorf("unexpected %s finding %s: %s", f.Status, f.Check, f.Detail)
		}
	}
	if f := byCheck(fs)["DR/TUN real servers"]; f.Status != Info || !strings.Contains(f.Fix, "arp_ignore=1") {
		t.Errorf("DR reminder missing: %+v", f)
	}
}

func TestProblems(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(h *fakeHost)
		check  string
		status Status
		fix    string
	}{
		{"no IPVS", func(h *fakeHost) { delete(h.files, "/proc/net/ip_vs") }, "IPVS kernel module", Fail, "modprobe ip_vs"},
		{"scheduler not loaded", func(h *fakeHost) { delete(h.files, "/sys/module/ip_vs_rr/refcnt") }, "IPVS schedulers", Info, "modprobe ip_vs_rr"},
		{"forwarding off", func(h *fakeHost) { h.files["/proc/sys/net/ipv4/ip_forward"] = "0\n" }, "net.ipv4.ip_forward", Fail, "ip_forward=1"},
		{"nodest", func(h *fakeHost) { h.files["/proc/sys/net/ipv4/vs/expire_nodest_conn"] = "0" }, "vs.expire_nodest_conn", Warn, "expire_nodest_conn=1"},
		{"quiescent", func(h *fakeHost) { h.files["/proc/sys/net/ipv4/vs/expire_quiescent_template"] = "0" }, "vs.expire_quiescent_template", Warn, "=1"},
		{"strict rp_filter", func(h *fakeHost) { h.files["/proc/sys/net/ipv4/conf/all/rp_filter"] = "1" }, "rp_filter eth0", Warn, "rp_filter=2"},
		{"missing interface", func(h *fakeHost) { delete(h.files, "/proc/sys/net/ipv4/conf/eth0/rp_filter") }, "interface eth0", Fail, "interface name"},
		{"firewall drops VRRP", func(h *fakeHost) {
			h.rules = "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t\ttcp dport 22 accept\n\t}\n}\n"
		}, "firewall", Fail, "protocol vrrp accept"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := healthyHost()
			files := map[string]string{}
			for k, v := range h.files {
				files[k] = v
			}
			h.files = files
			tc.break_(&h)
			f, ok := byCheck(Check(parse(t), h))[tc.check]
			if !ok || f.Status != tc.status || !strings.Contains(f.Fix, tc.fix) {
				t.Errorf("finding %q = %+v (present %v), want status %s with fix containing %q", tc.check, f, ok, tc.status, tc.fix)
			}
		})
	}
}

// A sloppy_tcp the kernel does not have is what a refused write leaves
// behind (EROFS under a unit with a read-only /proc/sys).
func TestSloppyTCPNotApplied(t *testing.T) {
	cfg, err := conf.Parse("lbd.yaml", []byte("global: {lvs_sloppy_tcp: true}\n"+cfgText))
	if err != nil {
		t.Fatal(err)
	}
	h := healthyHost()
	h.files["/proc/sys/net/ipv4/vs/sloppy_tcp"] = "0\n"
	f, ok := byCheck(Check(cfg, h))["vs.sloppy_tcp"]
	if !ok || f.Status != Warn || !strings.Contains(f.Detail, "sloppy_tcp=0") || !strings.Contains(f.Fix, "ReadWritePaths") {
		t.Errorf("finding = %+v (present %v), want a warning that sloppy_tcp is 0", f, ok)
	}
	h.files["/proc/sys/net/ipv4/vs/sloppy_tcp"] = "1\n"
	if f, ok := byCheck(Check(cfg, h))["vs.sloppy_tcp"]; ok {
		t.Errorf("sloppy_tcp applied, still a finding: %+v", f)
	}
}

func TestPrintWorst(t *testing.T) {
	var b bytes.Buffer
	worst := Print(&b, []Finding{{Check: "a", Status: OK, Detail: "fine"}, {Check: "b", Status: Warn, Detail: "hm", Fix: "do x"}})
	if worst != Warn || !strings.Contains(b.String(), "fix: do x") || !strings.Contains(b.String(), "warn  b") {
		t.Errorf("Print = %v:\n%s", worst, b.String())
	}
}

func TestSloppyHandover(t *testing.T) {
	const head = "global: {lvs_sloppy_tcp: true}\nvirtual_servers:\n"
	tests := []struct {
		name, vs string
		want     []Status // of the "sloppy TCP handover" findings, in order
		detail   string   // in the first finding
	}{
		{"consistent", "  - {address: 192.0.2.10:80, forwarding: DR, scheduler: mh, scheduler_flags: [mh-port, mh-fallback], inhibit_on_failure: true, real_servers: [192.0.2.21]}\n",
			[]Status{OK}, "hashes consistently"},
		{"nat", "  - {address: 192.0.2.10:80, scheduler: mh, scheduler_flags: [mh-port, mh-fallback], inhibit_on_failure: true, real_servers: [192.0.2.21, {address: 192.0.2.22, forwarding: DR}]}\n",
			[]Status{Warn}, "with NAT a real server's reply"},
		{"rr", "  - {address: 192.0.2.10:80, scheduler: rr, real_servers: [192.0.2.21]}\n",
			[]Status{Info}, "with scheduler rr the new master picks"},
		{"removal", "  - {address: 192.0.2.10:80, forwarding: TUN, scheduler: mh, scheduler_flags: [mh-fallback], real_servers: [192.0.2.21, {address: 192.0.2.22, inhibit_on_failure: true}]}\n",
			[]Status{Warn}, "depend on its own history (192.0.2.21)"},
		{"udp only", "  - {address: 192.0.2.10:53, protocol: UDP, scheduler: rr, real_servers: [192.0.2.21]}\n",
			nil, ""},
	}
	for _, tt := range tests {
		cfg, err := conf.Parse("lbd.yaml", []byte(head+tt.vs))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got := checkSloppyHandover(cfg)
		var st []Status
		for _, f := range got {
			st = append(st, f.Status)
		}
		if !slices.Equal(st, tt.want) || len(got) > 0 && !strings.Contains(got[0].Detail, tt.detail) {
			t.Errorf("%s: findings %+v, want statuses %v and %q", tt.name, got, tt.want, tt.detail)
		}
	}
	off, err := conf.Parse("lbd.yaml", []byte("virtual_servers: [{address: 192.0.2.10:80, scheduler: rr, real_servers: [192.0.2.21]}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if fs := checkSloppyHandover(off); len(fs) != 0 {
		t.Errorf("without lvs_sloppy_tcp: %+v", fs)
	}
}

func TestHashFallback(t *testing.T) {
	cfg, err := conf.Parse("lbd.yaml", []byte(`virtual_servers:
  - {address: 192.0.2.10:80, scheduler: sh, real_servers: [192.0.2.21]}
  - {address: 192.0.2.11:80, scheduler: mh, scheduler_flags: [mh-port, mh-fallback], real_servers: [192.0.2.21]}
  - {address: 192.0.2.12:80, scheduler: wrr, real_servers: [192.0.2.21]}
`))
	if err != nil {
		t.Fatal(err)
	}
	fs := checkHashFallback(cfg)
	if len(fs) != 1 || fs[0].Status != Warn || !strings.Contains(fs[0].Detail, "TCP 192.0.2.10:80: sh without sh-fallback") ||
		!strings.Contains(fs[0].Fix, "sh-fallback") {
		t.Errorf("findings %+v, want one warning for the sh service", fs)
	}
}

func TestBGPVIPARP(t *testing.T) {
	cfg, err := conf.Parse("lbd.yaml", []byte("bgp: {local_asn: 65001, router_id: 192.0.2.11, peers: [{address: 192.0.2.1, asn: 65000}]}\n"+
		"virtual_servers: [{address: 203.0.113.10:80, announce: bgp, real_servers: [192.0.2.21:80]}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	h := healthyHost()
	h.files["/proc/sys/net/ipv4/conf/all/arp_ignore"] = "0\n"
	if f := byCheck(Check(cfg, h))["ARP for BGP VIPs"]; f.Status != Warn || !strings.Contains(f.Fix, "arp_ignore=1") {
		t.Errorf("arp_ignore=0: %+v", f)
	}
	h.files["/proc/sys/net/ipv4/conf/all/arp_ignore"] = "1\n"
	if f := byCheck(Check(cfg, h))["ARP for BGP VIPs"]; f.Status != OK {
		t.Errorf("arp_ignore=1: %+v", f)
	}
	if _, ok := byCheck(Check(parse(t), h))["ARP for BGP VIPs"]; ok {
		t.Error("a finding for a configuration without BGP")
	}
}
