package conf

import (
	"fmt"
	"strings"
	"testing"
)

func TestVMAC(t *testing.T) {
	c, err := Parse("x.yaml", []byte(`vrrp_instances:
  - {name: A, interface: eth0, virtual_router_id: 51, use_vmac: true, virtual_ipaddresses: [192.0.2.100]}
  - {name: B, interface: eth0, virtual_router_id: 51, use_vmac: true, virtual_ipaddresses: ["2001:db8::100"]}
  - {name: C, interface: eth1, virtual_router_id: 51, use_vmac: true, vmac_name: vrrp.eth1.51,
     unicast_peers: [192.0.2.2], vmac_xmit_base: true, virtual_ipaddresses: [192.0.2.101]}
  - {name: D, interface: eth1, virtual_router_id: 52, virtual_ipaddresses: [192.0.2.102]}
`))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		use  bool
		name string
		xmit bool
	}{{true, "vrrp.51", false}, {true, "vrrp6.51", false}, {true, "vrrp.eth1.51", true}, {false, "", false}} {
		in := c.VRRPInstances[i]
		if in.UseVMAC != want.use || in.VMACName != want.name || in.VMACXmitBase != want.xmit {
			t.Errorf("instance %s: use_vmac %v, vmac_name %q, vmac_xmit_base %v; want %+v", in.Name, in.UseVMAC, in.VMACName, in.VMACXmitBase, want)
		}
	}

	inst := func(name, iface string, vrid int, more string) string {
		return fmt.Sprintf("  - {name: %s, interface: %s, virtual_router_id: %d, virtual_ipaddresses: [192.0.2.%d]%s}\n",
			name, iface, vrid, 100+vrid, more)
	}
	for _, tc := range []struct{ yaml, want string }{
		{inst("A", "eth0", 1, ", vmac_name: vrrp.1"), "x.yaml:2:5: vrrp instance A: vmac_name \"vrrp.1\" needs use_vmac: true"},
		{inst("A", "eth0", 1, ", vmac_xmit_base: true"), "x.yaml:2:5: vrrp instance A: vmac_xmit_base needs use_vmac: true"},
		{inst("A", "eth0", 1, ", use_vmac: true, vmac_name: vrrp.too-long-name"), `vmac_name "vrrp.too-long-name" is longer than 15 bytes`},
		{inst("A", "eth0", 1, ", use_vmac: true, vmac_name: \"vrrp:1\""), `vmac_name "vrrp:1" has a '/', ':' or white space`},
		{inst("A", "eth0", 1, ", use_vmac: true, vmac_name: \"..\""), `vmac_name ".." is not an interface name`},
		{inst("A", "eth0", 1, ", use_vmac: true, vmac_name: eth0"), "vrrp instance A: vmac_name eth0 is the instance's own interface"},
		{inst("A", "eth0", 1, "") + inst("B", "eth1", 2, ", use_vmac: true, vmac_name: eth0"),
			"x.yaml:3:5: vrrp instance B: vmac_name eth0 is the interface of vrrp instance A"},
		{inst("A", "eth0", 1, ", use_vmac: true") + inst("B", "eth1", 1, ", use_vmac: true"),
			"x.yaml:3:5: vrrp instance B: vmac_name vrrp.1 is also the macvlan of vrrp instance A (one each; set vmac_name)"},
		{inst("A", "eth0", 1, ", use_vmac: true, unicast_peers: [192.0.2.2]"),
			"vrrp instance A: use_vmac with unicast_peers needs vmac_xmit_base: true"},
	} {
		_, err := Parse("x.yaml", []byte("vrrp_instances:\n"+tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
