package keepalived

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lbd-project/lbd/conf"
)

// use_vmac names each macvlan as keepalived 2.2.7 would: the names given
// first (in file order, the first claim winning), then the defaults in
// file order, each the first of vrrp.VRID, vrrp1.VRID, vrrp2.VRID... (for
// IPv6 vrrp.VRID, vrrp6.VRID, vrrp1.VRID...) that no instance has; a
// name equal to lbd's default is left out.
func TestImportVMAC(t *testing.T) {
	inst := func(name, iface string, vrid int, vip string, lines ...string) string {
		return "vrrp_instance " + name + " {\n  interface " + iface + "\n  virtual_router_id " + strconv.Itoa(vrid) +
			"\n  " + strings.Join(lines, "\n  ") + "\n  virtual_ipaddress {\n    " + vip + "\n  }\n}\n"
	}
	res, cfg := convertValid(t, inst("A", "eth0", 51, "192.0.2.100", "use_vmac")+
		inst("B", "eth1", 51, "192.0.2.101", "use_vmac")+
		inst("C", "eth0", 51, "2001:db8::100", "use_vmac")+
		inst("D", "eth2", 53, "192.0.2.103", "use_vmac name vrrp.51 02:00:00:00:00:01 group 5 netlink_notify_msg",
			"unicast_src_ip 192.0.2.1", "unicast_peer {\n    192.0.2.2\n  }")+
		inst("E", "eth2", 54, "192.0.2.104", "use_vmac vrrp.51")+
		inst("F", "eth0", 55, "192.0.2.105", "vmac_xmit_base")+
		inst("G", "eth0", 56, "192.0.2.106", "use_vmac bad/name")+
		inst("H", "eth0", 57, "192.0.2.107", "use_vmac", "vmac_xmit_base"))
	want := map[string]struct {
		use  bool
		name string
		xmit bool
	}{
		"A": {true, "vrrp1.51", false}, "B": {true, "vrrp2.51", false}, "C": {true, "vrrp6.51", false},
		"D": {true, "vrrp.51", true}, "E": {true, "vrrp.54", false}, "F": {false, "", false},
		"G": {true, "vrrp.56", false}, "H": {true, "vrrp.57", true},
	}
	for _, in := range cfg.VRRPInstances {
		w := want[in.Name]
		if in.UseVMAC != w.use || in.VMACName != w.name || in.VMACXmitBase != w.xmit {
			t.Errorf("instance %s: use_vmac %v, vmac_name %q, vmac_xmit_base %v; want %+v", in.Name,
				in.UseVMAC, in.VMACName, in.VMACXmitBase, w)
		}
	}
	y := string(res.YAML)
	if strings.Count(y, "vmac_name:") != 3 {
		t.Errorf("vmac_name written %d times, want 3 (A, B, D: those that are not lbd's default):\n%s", strings.Count(y, "vmac_name:"), y)
	}
	r := Report(res.Findings)
	for _, f := range []string{
		"k.conf:28: approximated: use_vmac: lbd gives the macvlan the virtual router MAC of RFC 5798 (00:00:5e:00:01:35), not 02:00:00:00:00:01",
		"k.conf:28: approximated: use_vmac: lbd puts the macvlan in its parent interface's link group, not in group 5",
		"k.conf:28: note: use_vmac: netlink_notify_msg",
		"k.conf:28: approximated: use_vmac: with unicast peers keepalived sends and receives adverts on the macvlan",
		"k.conf:40: note: use_vmac: an earlier vrrp_instance already names its macvlan vrrp.51: keepalived 2.2.7 ignores the name here and uses vrrp.54",
		"k.conf:48: note: vmac_xmit_base: keepalived 2.2.7 ignores vmac_xmit_base without use_vmac",
		"k.conf:56: note: use_vmac: keepalived 2.2.7 ignores the interface name \"bad/name\"",
	} {
		if !strings.Contains(r, f) {
			t.Errorf("no finding %q in:\n%s", f, r)
		}
	}
	if strings.Contains(r, "unsupported") {
		t.Errorf("unsupported findings:\n%s", r)
	}

	// global_defs' vmac_prefix names the defaults.
	res, cfg = convertValid(t, "global_defs {\n  vmac_prefix vm\n}\n"+inst("A", "eth0", 51, "192.0.2.100", "use_vmac"))
	if in := cfg.VRRPInstances[0]; in.VMACName != "vm.51" {
		t.Errorf("with vmac_prefix vm: vmac_name %q, want vm.51", in.VMACName)
	}
	if r := Report(res.Findings); !strings.Contains(r, "note: vmac_prefix:") {
		t.Errorf("findings:\n%s", r)
	}
}

// Export writes use_vmac NAME and vmac_xmit_base, and the import reads
// them back.
func TestExportVMAC(t *testing.T) {
	cfg, err := conf.Parse("x.yaml", []byte(`vrrp_instances:
  - {name: A, interface: eth0, virtual_router_id: 51, use_vmac: true, virtual_ipaddresses: [192.0.2.100]}
  - {name: B, interface: eth0, virtual_router_id: 52, use_vmac: true, vmac_name: vm52, vmac_xmit_base: true,
     unicast_peers: [192.0.2.2], virtual_ipaddresses: [192.0.2.101]}
`))
	if err != nil {
		t.Fatal(err)
	}
	text, findings, err := Export(cfg)
	if err != nil || len(findings) > 0 {
		t.Fatalf("export: %v %v", err, findings)
	}
	for _, l := range []string{"use_vmac vrrp.51\n", "use_vmac vm52\n    vmac_xmit_base\n"} {
		if !strings.Contains(string(text), l) {
			t.Errorf("export has no %q:\n%s", l, text)
		}
	}
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	os.WriteFile(path, text, 0o644)
	res, err := Import(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg2, err := conf.Parse("y.yaml", res.YAML)
	if err != nil {
		t.Fatalf("%v\n%s", err, res.YAML)
	}
	for i, in := range cfg2.VRRPInstances {
		a := cfg.VRRPInstances[i]
		if in.UseVMAC != a.UseVMAC || in.VMACName != a.VMACName || in.VMACXmitBase != a.VMACXmitBase {
			t.Errorf("instance %s back as use_vmac %v, vmac_name %q, vmac_xmit_base %v; want %v %q %v", in.Name,
				in.UseVMAC, in.VMACName, in.VMACXmitBase, a.UseVMAC, a.VMACName, a.VMACXmitBase)
		}
	}
}
