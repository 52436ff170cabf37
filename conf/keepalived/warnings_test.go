package keepalived

import (
	"fmt"
	"strings"
	"testing"

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
		name:    "nb_get_retry: the old name of retry",
		src:     "virtual_server 192.0.2.1 80 {\n real_server 192.0.2.2 80 {\n  TCP_CHECK {\n   nb_get_retry 4\n  }\n }\n}\n",
		line:    4,
		finding: "the old name of retry",
		check: func(c *conf.Config) error {
			if r := c.VirtualServers[0].RealServers[0].Check; r == nil || r.Retry == nil || *r.Retry != 4 {
				return fmt.Errorf("check %+v", r)
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
			found := false
			for _, f := range res.Findings {
				found = found || f.Pos.Line == tc.line && strings.Contains(f.Message, tc.finding)
			}
			if !found {
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
