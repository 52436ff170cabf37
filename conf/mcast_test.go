package conf

import (
	"strings"
	"testing"
)

func TestMulticastGroupAndSource(t *testing.T) {
	c, err := Parse("x.yaml", []byte(`global:
  vrrp: {mcast_group4: 224.0.0.19, mcast_group6: "ff02::13"}
vrrp_instances:
  - {name: A, interface: eth0, virtual_router_id: 1, mcast_src_ip: 192.0.2.1, virtual_ipaddresses: [192.0.2.100]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if v := c.Global.VRRP; v.MCastGroup4.String() != "224.0.0.19" || v.MCastGroup6.String() != "ff02::13" ||
		c.VRRPInstances[0].MCastSrcIP.String() != "192.0.2.1" {
		t.Errorf("decoded %+v %+v", v, c.VRRPInstances[0])
	}
	base := "vrrp_instances:\n  - name: A\n    interface: eth0\n    virtual_router_id: 1\n    virtual_ipaddresses: [192.0.2.100]\n"
	for _, tc := range []struct{ yaml, want string }{
		{"global:\n  vrrp: {mcast_group4: 192.0.2.1}\n", "x.yaml:2:3: vrrp mcast_group4 192.0.2.1 is not an IPv4 multicast address"},
		{"global:\n  vrrp: {mcast_group4: \"ff02::12\"}\n", "mcast_group4 ff02::12 is not an IPv4 multicast address"},
		{"global:\n  vrrp: {mcast_group6: \"ff05::12\"}\n", "vrrp mcast_group6 ff05::12 is not an IPv6 link-local multicast address"},
		{base + "    mcast_src_ip: 192.0.2.1\n    unicast_src_ip: 192.0.2.2\n", "x.yaml:2:5: vrrp instance A: mcast_src_ip 192.0.2.1 and unicast_src_ip 192.0.2.2 both set the source"},
		{base + "    mcast_src_ip: \"2001:db8::1\"\n", "mcast_src_ip 2001:db8::1 is not of the virtual addresses' family"},
		{base + "    mcast_src_ip: 224.0.0.1\n", "mcast_src_ip 224.0.0.1 is not a unicast address"},
	} {
		if _, err := Parse("x.yaml", []byte(tc.yaml)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}
