package keepalived

import (
	"strings"
	"testing"
)

func TestImportMulticastGroupAndSource(t *testing.T) {
	res, cfg := convertValid(t, `global_defs {
    vrrp_mcast_group4 224.0.0.19
    vrrp_mcast_group6 ff02::13
}
vrrp_instance A {
    interface eth0
    virtual_router_id 1
    mcast_src_ip 192.0.2.1
    virtual_ipaddress {
        192.0.2.100
    }
}
vrrp_instance B {
    interface eth0
    virtual_router_id 2
    unicast_src_ip 192.0.2.1
    mcast_src_ip 192.0.2.2
    virtual_ipaddress {
        192.0.2.101
    }
}
`)
	if v := cfg.Global.VRRP; v.MCastGroup4.String() != "224.0.0.19" || v.MCastGroup6.String() != "ff02::13" {
		t.Errorf("groups %v %v", v.MCastGroup4, v.MCastGroup6)
	}
	a, b := cfg.VRRPInstances[0], cfg.VRRPInstances[1]
	if a.MCastSrcIP.String() != "192.0.2.1" || b.MCastSrcIP.String() != "192.0.2.2" || b.UnicastSrcIP != nil {
		t.Errorf("sources: A %v, B %v / %v", a.MCastSrcIP, b.MCastSrcIP, b.UnicastSrcIP)
	}
	if r := Report(res.Findings); strings.Contains(r, "mcast_group") || !strings.Contains(r, "k.conf:17: note: mcast_src_ip: keepalived uses the last") {
		t.Errorf("findings:\n%s", r)
	}
}
