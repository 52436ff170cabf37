package keepalived

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lbd-project/lbd/conf"
)

// vrrpHead is an instance's lines before the ones a case adds.
const vrrpHead = "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n priority 100\n"

// TestWhatKeepalivedWarnsAbout covers what keepalived 2.2.7 warns about
// and then runs anyway, each class found in the public corpus: the
// converted file must pass lbd's validation, do what keepalived does, and
// carry a finding at the line keepalived names.
func TestWhatKeepalivedWarnsAbout(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		line      int    // the finding's line
		finding   string // a piece of its message
		check     func(*conf.Config) error
	}{{
		name:    "unknown keyword without a block: ignored, as keepalived does",
		src:     "global_defs {\n rooter_id x\n}\n" + vrrpHead + " lvs_sync_daemon_inteface eth0\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
		line:    2,
		finding: `unknown keyword "rooter_id" in global_defs: keepalived 2.2.7 logs it and ignores the line`,
		check: func(c *conf.Config) error {
			if len(c.VRRPInstances) != 1 || c.VRRPInstances[0].Interface != "eth0" {
				return fmt.Errorf("instances %+v", c.VRRPInstances)
			}
			return nil
		},
	}, {
		name:    "vrrp_script without script: removed with the entries naming it",
		src:     "vrrp_script chk {\n interval 1\n}\n" + vrrpHead + " virtual_ipaddress {\n  192.0.2.1\n }\n track_script {\n  chk\n }\n}\n",
		line:    1,
		finding: "vrrp_script chk has no script",
		check: func(c *conf.Config) error {
			if len(c.VRRPScripts) != 0 || len(c.VRRPInstances[0].TrackScripts) != 0 {
				return fmt.Errorf("scripts %v, tracked %v", c.VRRPScripts, c.VRRPInstances[0].TrackScripts)
			}
			return nil
		},
	}, {
		name:    "track_script naming no vrrp_script: ignored",
		src:     vrrpHead + " virtual_ipaddress {\n  192.0.2.1\n }\n track_script {\n  chk_typo\n }\n}\n",
		line:    9,
		finding: "track script chk_typo not found, ignoring",
	}, {
		name:    "nb_get_retry in HTTP_GET: the old name of retry",
		src:     "virtual_server 192.0.2.1 80 {\n real_server 192.0.2.2 80 {\n  HTTP_GET {\n   nb_get_retry 4\n   url {\n    path /\n   }\n  }\n }\n}\n",
		line:    4,
		finding: "the old name of retry",
		check: func(c *conf.Config) error {
			if r := c.VirtualServers[0].RealServers[0].Check; r == nil || r.Retry == nil || *r.Retry != 4 {
				return fmt.Errorf("check %+v", r)
			}
			return nil
		},
	}, {
		// keepalived 2.2.7: "(k.conf: Line 4) Unknown keyword 'nb_get_retry'";
		// the check keeps TCP_CHECK's default retry.
		name:    "nb_get_retry in TCP_CHECK: unknown there, ignored",
		src:     "virtual_server 192.0.2.1 80 {\n real_server 192.0.2.2 80 {\n  TCP_CHECK {\n   nb_get_retry 4\n  }\n }\n}\n",
		line:    4,
		finding: `keepalived 2.2.7 does not know nb_get_retry in TCP_CHECK: it logs "Unknown keyword" and ignores the line`,
		check: func(c *conf.Config) error {
			if r := c.VirtualServers[0].RealServers[0].Check; r == nil || r.Retry != nil {
				return fmt.Errorf("check %+v, want no retry (keepalived's default)", r)
			}
			return nil
		},
	}, {
		name:    "nb_get_retry in a virtual_server: unknown there, not inherited",
		src:     "virtual_server 192.0.2.1 80 {\n nb_get_retry 4\n real_server 192.0.2.2 80 {\n  HTTP_GET {\n   url {\n    path /\n   }\n  }\n }\n}\n",
		line:    2,
		finding: "does not know nb_get_retry in virtual_server",
		check: func(c *conf.Config) error {
			if ch := c.VirtualServers[0].RealServers[0].Check; ch == nil || ch.Retry != nil {
				return fmt.Errorf("check %+v, want no retry", ch)
			}
			return nil
		},
	}, {
		// keepalived 2.2.7: "Unknown keyword 'connect_timeout'" (and
		// 'connect_port'); the program runs for the virtual server's
		// delay_loop at most (check_misc.c), not lbd's connect_timeout.
		name:    "connection settings in MISC_CHECK: unknown there; its timeout is the virtual server's delay_loop",
		src:     "virtual_server 192.0.2.1 80 {\n delay_loop 9\n real_server 192.0.2.2 80 {\n  delay_loop 2\n  MISC_CHECK {\n   misc_path /bin/true\n   connect_timeout 7\n   connect_port 80\n  }\n }\n}\n",
		line:    7,
		finding: "does not know connect_timeout in MISC_CHECK",
		check: func(c *conf.Config) error {
			ch := c.VirtualServers[0].RealServers[0].Check
			if ch == nil || ch.ConnectPort != 0 || ch.ConnectTimeout != 0 || ch.MiscTimeout.D() != 9*time.Second || ch.DelayLoop.D() != 2*time.Second {
				return fmt.Errorf("check %+v, want no connection settings, misc_timeout 9s, delay_loop 2s", ch)
			}
			return nil
		},
	}, {
		name: "comment-like words after lb_algo, lb_kind, path and interface: ignored, as keepalived does",
		src: "virtual_server 192.0.2.1 80 {\n protocol TCP\n lb_algo wrr // weighted\n lb_kind DR // direct\n real_server 192.0.2.2 80 {\n" +
			"  HTTP_GET {\n   url {\n    path /health // the page\n   }\n  }\n }\n}\n" +
			"vrrp_instance V {\n interface eth1 // the LAN\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
		line:    4,
		finding: `keepalived 2.2.7 logs "Invalid tunnel option //" and keeps DR without tunnel options`,
		check: func(c *conf.Config) error {
			vs := c.VirtualServers[0]
			if vs.Scheduler != "wrr" || vs.Forwarding != "DR" || vs.RealServers[0].Check.URLs[0].Path != "/health" ||
				c.VRRPInstances[0].Interface != "eth1" {
				return fmt.Errorf("scheduler %q forwarding %q url %+v interface %q", vs.Scheduler, vs.Forwarding,
					vs.RealServers[0].Check.URLs, c.VRRPInstances[0].Interface)
			}
			return nil
		},
	}, {
		// Each case below: keepalived 2.2.7's own message for it (keepalived -t).
		name:    "state in lower case: keepalived's unknown state, BACKUP",
		src:     "vrrp_instance V {\n state master\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
		line:    2,
		finding: `keepalived 2.2.7 logs "unknown state 'master', defaulting to BACKUP"`,
	}, {
		name:    "priority out of range: keepalived's default 100",
		src:     vrrpHead[:strings.Index(vrrpHead, " priority")] + " priority 300\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
		line:    4,
		finding: `keepalived 2.2.7 refuses priority "300" (1 to 255) and uses 100`,
		check: func(c *conf.Config) error {
			if p := c.VRRPInstances[0].Priority; p != 100 {
				return fmt.Errorf("priority %d", p)
			}
			return nil
		},
	}, {
		name:    "auth_pass without auth_type: no authentication",
		src:     vrrpHead + " authentication {\n  auth_pass 1111\n }\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
		line:    5,
		finding: "no auth_type: keepalived 2.2.7 sends and checks no authentication",
		check: func(c *conf.Config) error {
			if a := c.VRRPInstances[0].Authentication; a != nil {
				return fmt.Errorf("authentication %+v", a)
			}
			return nil
		},
	}, {
		name:    "auth_type without auth_pass: no authentication",
		src:     vrrpHead + " authentication {\n  auth_type PASS\n }\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
		line:    5,
		finding: `"Authentication specified but no password given. Ignoring"`,
		check: func(c *conf.Config) error {
			if a := c.VRRPInstances[0].Authentication; a != nil {
				return fmt.Errorf("authentication %+v", a)
			}
			return nil
		},
	}, {
		name:    "a scheduler keepalived does not know: the previous one stays",
		src:     "virtual_server 192.0.2.1 80 {\n protocol TCP\n lb_algo rr\n lb_algo RR\n real_server 192.0.2.2 80 {\n  lb_kind NAT\n  TCP_CHECK {\n  }\n }\n}\n",
		line:    4,
		finding: `keepalived 2.2.7 refuses the scheduler "RR" ("Invalid lvs_scheduler") and keeps the previous one`,
		check: func(c *conf.Config) error {
			vs := c.VirtualServers[0]
			if vs.Scheduler != "rr" || vs.RealServers[0].Forwarding != "" {
				return fmt.Errorf("scheduler %q, real server forwarding %q (lb_kind is not a real_server keyword)",
					vs.Scheduler, vs.RealServers[0].Forwarding)
			}
			return nil
		},
	}, {
		name:    "no protocol: keepalived's UDP",
		src:     "virtual_server 192.0.2.1 53 {\n real_server 192.0.2.2 53 {\n  TCP_CHECK {\n  }\n }\n}\n",
		line:    1,
		finding: `no protocol: keepalived 2.2.7 runs the service as UDP ("no protocol set - defaulting to UDP")`,
		check: func(c *conf.Config) error {
			if p := c.VirtualServers[0].Protocol; p != "UDP" {
				return fmt.Errorf("protocol %q", p)
			}
			return nil
		},
	}, {
		name:    "inhibit_on_failure off on a real server: overrides the virtual server's",
		src:     "virtual_server 192.0.2.1 80 {\n protocol TCP\n inhibit_on_failure\n real_server 192.0.2.2 80 {\n  inhibit_on_failure off\n  TCP_CHECK {\n  }\n }\n real_server 192.0.2.3 80 {\n  inhibit_on_failure maybe\n  TCP_CHECK {\n  }\n }\n}\n",
		line:    10,
		finding: "keepalived 2.2.7 ignores inhibit_on_failure maybe (it takes true, false, on, off, yes or no)",
		check: func(c *conf.Config) error {
			vs := c.VirtualServers[0]
			if i := vs.RealServers[0].InhibitOnFailure; !vs.InhibitOnFailure || i == nil || *i || vs.RealServers[1].InhibitOnFailure != nil {
				return fmt.Errorf("virtual server %v, real servers %v %v", vs.InhibitOnFailure, i, vs.RealServers[1].InhibitOnFailure)
			}
			return nil
		},
	}, {
		name:    "preempt after nopreempt, strict_mode off or invalid: as keepalived reads them",
		src:     vrrpHead + " nopreempt\n preempt\n strict_mode off\n strict_mode maybe\n authentication {\n  auth_type PASS\n  auth_pass secret\n }\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
		line:    8,
		finding: "keepalived 2.2.7 ignores strict_mode maybe",
		check: func(c *conf.Config) error {
			in := c.VRRPInstances[0]
			if in.NoPreempt || in.Accept == nil || !*in.Accept || in.Authentication == nil {
				return fmt.Errorf("nopreempt %v accept %v authentication %v", in.NoPreempt, in.Accept, in.Authentication)
			}
			return nil
		},
	}, {
		name:    "sorry_server_lvs_method and sorry_server_inhibit before sorry_server: ignored",
		src:     "virtual_server 192.0.2.1 80 {\n protocol TCP\n lb_kind DR\n sorry_server_lvs_method NAT\n sorry_server_inhibit\n sorry_server 192.0.2.9 80\n real_server 192.0.2.2 80 {\n  TCP_CHECK {\n  }\n }\n}\n",
		line:    4,
		finding: "keepalived 2.2.7 ignores sorry_server_lvs_method before or without sorry_server",
		check: func(c *conf.Config) error {
			vs := c.VirtualServers[0]
			if s := vs.SorryServer; s == nil || s.Forwarding != "" || vs.SorryServerInhibit {
				return fmt.Errorf("sorry server %+v, inhibit %v", s, vs.SorryServerInhibit)
			}
			return nil
		},
	}, {
		name:    "HTTP_GET without url, url without path: dropped",
		src:     "virtual_server 192.0.2.1 80 {\n protocol TCP\n real_server 192.0.2.2 80 {\n  HTTP_GET {\n   connect_timeout 3\n  }\n }\n real_server 192.0.2.3 80 {\n  HTTP_GET {\n   url {\n    status_code 200\n   }\n   url {\n    path /ok\n   }\n  }\n }\n}\n",
		line:    10,
		finding: `keepalived 2.2.7 drops a url without a path ("url has no path - ignoring")`,
		check: func(c *conf.Config) error {
			rs := c.VirtualServers[0].RealServers
			if rs[0].Check != nil || rs[1].Check == nil || len(rs[1].Check.URLs) != 1 || rs[1].Check.URLs[0].Path != "/ok" {
				return fmt.Errorf("checks %+v %+v", rs[0].Check, rs[1].Check)
			}
			return nil
		},
	}, {
		name:    "retry 0 in a virtual_server: refused there, kept in a checker",
		src:     "virtual_server 192.0.2.1 80 {\n protocol TCP\n retry 0\n real_server 192.0.2.2 80 {\n  TCP_CHECK {\n  }\n }\n real_server 192.0.2.3 80 {\n  TCP_CHECK {\n   retry 0\n  }\n }\n}\n",
		line:    3,
		finding: `keepalived 2.2.7 refuses retry 0 in a virtual_server ("retry value invalid - 0")`,
		check: func(c *conf.Config) error {
			rs := c.VirtualServers[0].RealServers
			if rs[0].Check == nil || rs[0].Check.Retry != nil || rs[1].Check == nil || rs[1].Check.Retry == nil || *rs[1].Check.Retry != 0 {
				return fmt.Errorf("checks %+v %+v", rs[0].Check, rs[1].Check)
			}
			return nil
		},
	}, {
		name:    "scheduler flags before lb_algo or under the other scheduler: ignored",
		src:     "virtual_server 192.0.2.1 80 {\n protocol TCP\n mh-port\n lb_algo mh\n sh-port\n mh-fallback\n real_server 192.0.2.2 80 {\n  TCP_CHECK {\n  }\n }\n}\n",
		line:    3,
		finding: `keepalived 2.2.7 ignores mh-port unless lb_algo mh comes before it (here: "")`,
		check: func(c *conf.Config) error {
			if f := c.VirtualServers[0].SchedulerFlags; len(f) != 1 || f[0] != "mh-fallback" {
				return fmt.Errorf("flags %v, want [mh-fallback]", f)
			}
			return nil
		},
	}, {
		name:    "vrrp_script interval 1.5 and timeout 0, garp_master_delay 2.5: whole seconds, script ones at least 1",
		src:     "vrrp_script chk {\n script /bin/true\n interval 1.5\n timeout 0\n}\n" + vrrpHead + " garp_master_delay 2.5\n virtual_ipaddress {\n  192.0.2.1\n }\n track_script {\n  chk\n }\n}\n",
		line:    3,
		finding: `keepalived 2.2.7 reads whole seconds for interval ("invalid number" warning): 1.5 is 1s`,
		check: func(c *conf.Config) error {
			if s := c.VRRPScripts[0]; s.Interval.D() != time.Second || s.Timeout.D() != time.Second {
				return fmt.Errorf("interval %v timeout %v", s.Interval.D(), s.Timeout.D())
			}
			if d := c.VRRPInstances[0].GARPMasterDelay.D(); d != 2*time.Second {
				return fmt.Errorf("garp_master_delay %v", d)
			}
			return nil
		},
	}, {
		name:    "persistence_granularity 24 on an IPv4 service: keepalived's mask 0.0.0.24",
		src:     "virtual_server 192.0.2.1 80 {\n protocol TCP\n persistence_timeout 60\n persistence_granularity 24\n real_server 192.0.2.2 80 {\n  TCP_CHECK {\n  }\n }\n}\n",
		line:    4,
		finding: "keepalived 2.2.7 reads 24 on an IPv4 service as the address (mask) 0.0.0.24, not a prefix length",
		check: func(c *conf.Config) error {
			if g := c.VirtualServers[0].PersistenceGranularity; g != nil {
				return fmt.Errorf("granularity %v, want none (/32)", g)
			}
			return nil
		},
	}, {
		name:    "FILE_CHECK's own weight without reverse, dynamic: as keepalived reads them",
		src:     "track_file tf {\n file /tmp/tf\n weight 1 reverse\n}\nvirtual_server 192.0.2.1 80 {\n protocol TCP\n real_server 192.0.2.2 80 {\n  FILE_CHECK {\n   track_file tf\n   dynamic\n  }\n }\n real_server 192.0.2.3 80 {\n  FILE_CHECK {\n   weight 2\n   track_file tf\n  }\n }\n}\n",
		line:    10,
		finding: `keepalived 2.2.7 does not know dynamic in FILE_CHECK`,
		check: func(c *conf.Config) error {
			rs := c.VirtualServers[0].RealServers
			a, b := rs[0].Check, rs[1].Check
			if a == nil || b == nil || !a.Reverse || a.Dynamic || b.Weight != 2 || b.Reverse {
				return fmt.Errorf("checks %+v %+v", a, b)
			}
			return nil
		},
	}, {
		name:    "lvs_sync_daemon's old form with a bare sync id",
		src:     "global_defs {\n lvs_sync_daemon eth0 V 50\n}\n" + vrrpHead + " virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
		line:    2,
		finding: "keepalived 2.2.7 reads 50 as the sync id (the old form)",
		check: func(c *conf.Config) error {
			if d := c.Global.LVSSyncDaemon; d == nil || d.SyncID != 50 || d.VRRPInstance != "V" {
				return fmt.Errorf("sync daemon %+v", d)
			}
			return nil
		},
	}, {
		name:    "a second notify script: keepalived keeps the first",
		src:     vrrpHead + " virtual_ipaddress {\n  192.0.2.1\n }\n notify /bin/true\n notify /bin/false\n}\n",
		line:    9,
		finding: "a second notify: keepalived 2.2.7 keeps the first",
		check: func(c *conf.Config) error {
			if got := strings.Join(c.VRRPInstances[0].Notify, " "); got != "/bin/true" {
				return fmt.Errorf("notify %q", got)
			}
			return nil
		},
	}, {
		name:    "scope on an IPv6 address: ignored",
		src:     vrrpHead + " virtual_ipaddress {\n  2001:db8::1/64 scope link\n }\n}\n",
		line:    6,
		finding: "ignores scope on an IPv6 address",
	}, {
		name:    "vrrp_strict: no authentication",
		src:     "global_defs {\n vrrp_strict\n}\n" + vrrpHead + " authentication {\n  auth_type PASS\n  auth_pass secret\n }\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
		line:    4,
		finding: "ignores authentication in strict mode",
		check: func(c *conf.Config) error {
			if a := c.VRRPInstances[0].Authentication; a != nil {
				return fmt.Errorf("authentication %+v", a)
			}
			return nil
		},
	}, {
		name:    "protocol on a fwmark service: ignored",
		src:     "virtual_server fwmark 1 {\n protocol UDP\n real_server 192.0.2.2 80 {\n }\n}\n",
		line:    2,
		finding: "ignores protocol on a fwmark service",
	}, {
		name:    "sync group without instances: removed",
		src:     "vrrp_sync_group G {\n V\n}\n" + vrrpHead + " virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
		line:    1,
		finding: "vrrp_sync_group G has no group of instances",
		check: func(c *conf.Config) error {
			if len(c.VRRPSyncGroups) != 0 {
				return fmt.Errorf("sync groups %+v", c.VRRPSyncGroups)
			}
			return nil
		},
	}, {
		name:    "loopback interface without unicast peers: instance dropped",
		src:     "vrrp_instance L {\n interface lo\n virtual_router_id 2\n virtual_ipaddress {\n  127.0.0.2\n }\n}\n" + vrrpHead + " virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
		line:    2,
		finding: "drops the instance",
		check: func(c *conf.Config) error {
			if len(c.VRRPInstances) != 1 || c.VRRPInstances[0].Name != "V" {
				return fmt.Errorf("instances %+v", c.VRRPInstances)
			}
			return nil
		},
	}, {
		name:    "tracking the instance's own interface: ignored, even with a weight",
		src:     vrrpHead + " virtual_ipaddress {\n  192.0.2.1\n }\n track_interface {\n  eth0 weight 10\n  eth1\n }\n}\n",
		line:    9,
		finding: "Ignoring track_interface eth0 since own interface",
		check: func(c *conf.Config) error {
			if ti := c.VRRPInstances[0].TrackInterfaces; len(ti) != 1 || ti[0].Name != "eth1" {
				return fmt.Errorf("track_interfaces %+v", ti)
			}
			return nil
		},
	}, {
		name:    "unicast_src_ip without unicast peers: multicast from that address",
		src:     vrrpHead + " unicast_src_ip 192.0.2.10\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
		line:    5,
		finding: "keepalived 2.2.7 sends multicast adverts from this address",
		check: func(c *conf.Config) error {
			if in := c.VRRPInstances[0]; in.UnicastSrcIP == nil || in.UnicastSrcIP.String() != "192.0.2.10" || len(in.UnicastPeers) != 0 {
				return fmt.Errorf("unicast_src_ip %v, peers %v", in.UnicastSrcIP, in.UnicastPeers)
			}
			return nil
		},
	}, {
		name:    "net_namespace in global_defs: unknown there",
		src:     "global_defs {\n net_namespace blue\n}\n" + vrrpHead + " virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
		line:    2,
		finding: "keepalived 2.2.7 reads net_namespace only at the top level, outside global_defs",
		check: func(c *conf.Config) error {
			if c.Global.NetNamespace != "" {
				return fmt.Errorf("net_namespace %q", c.Global.NetNamespace)
			}
			return nil
		},
	}, {
		name:    "net_namespace twice: the first is kept",
		src:     "net_namespace blue\nnet_namespace red\n" + vrrpHead + " virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
		line:    2,
		finding: `keeps the first net_namespace, blue, and ignores this one ("Duplicate net_namespace definition")`,
		check: func(c *conf.Config) error {
			if c.Global.NetNamespace != "blue" {
				return fmt.Errorf("net_namespace %q", c.Global.NetNamespace)
			}
			return nil
		},
	}, {
		name:    "net_namespace without a name: ignored",
		src:     "net_namespace\n" + vrrpHead + " virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
		line:    1,
		finding: `ignores net_namespace without a name ("name missing")`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			res, cfg := convertValid(t, tc.src)
			if !hasFinding(res.Findings, tc.line, tc.finding) {
				t.Errorf("no finding at line %d saying %q:\n%s", tc.line, tc.finding, Report(res.Findings))
			}
			if tc.check != nil {
				if err := tc.check(cfg); err != nil {
					t.Errorf("%v\n%s", err, res.YAML)
				}
			}
		})
	}
}

// hasFinding reports whether a finding at line says piece.
func hasFinding(fs []Finding, line int, piece string) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.Pos.Line == line && strings.Contains(f.Message, piece) })
}

// TestUnknownBlockRefused: keepalived reads an unknown keyword's block as
// part of the enclosing one, so the import refuses it, naming the line.
func TestUnknownBlockRefused(t *testing.T) {
	_, err := convertString(t, "virtual_server 192.0.2.1 80 {\n backup_real_server 192.0.2.3 80 {\n  weight 1\n }\n}\n")
	if want := `k.conf:2: unknown keyword "backup_real_server" in virtual_server opens a block`; err == nil ||
		!strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
}

// TestNetNamespace: keepalived's top-level net_namespace is lbd's
// global.net_namespace; net_namespace_ipvs is supported only when it
// names the namespace lbd runs in.
func TestNetNamespace(t *testing.T) {
	for _, c := range []struct {
		src, ns, want string
		changes       bool
	}{
		{"net_namespace blue\n", "blue", "NetworkNamespacePath=/run/netns/blue", false},
		{"net_namespace_ipvs blue\nnet_namespace blue\n", "blue", "IPVS is in the namespace keepalived runs in", false},
		{"net_namespace_ipvs\n", "", "IPVS is in the namespace keepalived runs in", false},
		{"net_namespace blue\nnet_namespace_ipvs\n", "blue", "not in the default namespace", true},
		{"net_namespace_ipvs red\n", "", "not in namespace red", true},
		{"namespace_with_ipsets\n", "", "lbd uses no ipsets", false},
	} {
		res, cfg := convertValid(t, c.src)
		if got := Report(res.Findings); !strings.Contains(got, c.want) || ChangesBehaviour(res.Findings) != c.changes {
			t.Errorf("%q: findings\n%s\nwant %q, changes behaviour %v", c.src, got, c.want, c.changes)
		}
		if cfg.Global.NetNamespace != c.ns {
			t.Errorf("%q: net_namespace %q, want %q", c.src, cfg.Global.NetNamespace, c.ns)
		}
	}
}

// A later sorry_server_lvs_method replaces an earlier one, as in
// keepalived 2.2.7 (ss_forwarding_handler sets the sorry server's method
// again).
func TestImportSorryServerMethodTwice(t *testing.T) {
	_, cfg := convertValid(t, "virtual_server 192.0.2.1 80 {\n protocol TCP\n lb_kind DR\n sorry_server 192.0.2.9 80\n"+
		" sorry_server_lvs_method NAT\n sorry_server_lvs_method TUN type ipip\n real_server 192.0.2.2 80 {\n  TCP_CHECK {\n  }\n }\n}\n")
	if s := cfg.VirtualServers[0].SorryServer; s == nil || s.Forwarding != "TUN" || s.Address.String() != "192.0.2.9:80" {
		t.Errorf("sorry server %+v, want 192.0.2.9:80 by TUN", s)
	}
}
