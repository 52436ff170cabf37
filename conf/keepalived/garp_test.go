package keepalived

import (
	"strings"
	"testing"
	"time"
)

func TestImportGARPTiming(t *testing.T) {
	res, cfg := convertValid(t, `global_defs {
    vrrp_garp_master_delay 2
    vrrp_garp_master_repeat 3
    vrrp_garp_master_refresh 30
    vrrp_garp_master_refresh_repeat 2
    vrrp_garp_interval 0.001
    vrrp_gna_interval 0.002
    vrrp_garp_lower_prio_repeat 1
}
garp_group {
    garp_interval 0.05
    interface eth1
}
garp_group {
    gna_interval 0.02
    interfaces {
        eth2
        eth3
    }
}
vrrp_instance A {
    interface eth0
    virtual_router_id 1
    garp_master_refresh_repeat 4
    garp_lower_prio_delay 7
    virtual_ipaddress {
        192.0.2.1
    }
}
vrrp_instance B {
    interface eth1
    virtual_router_id 2
    virtual_ipaddress {
        192.0.2.2
    }
}
vrrp_instance C {
    interface eth2
    virtual_router_id 3
    virtual_ipaddress {
        192.0.2.3
    }
}
`)
	a, b, c := cfg.VRRPInstances[0], cfg.VRRPInstances[1], cfg.VRRPInstances[2]
	if a.GARPMasterDelay.D() != 2*time.Second || a.GARPMasterRepeat != 3 || a.GARPMasterRefresh.D() != 30*time.Second ||
		a.GARPMasterRefreshRepeat != 4 || a.GARPInterval.D() != time.Millisecond || a.GNAInterval.D() != 2*time.Millisecond {
		t.Errorf("A: %+v", a)
	}
	if a.GARPLowerPrioDelay.D() != 7*time.Second || a.GARPLowerPrioRepeat != 1 || b.GARPLowerPrioDelay.D() != 2*time.Second {
		t.Errorf("lower priority: A %v %d, B %v", a.GARPLowerPrioDelay.D(), a.GARPLowerPrioRepeat, b.GARPLowerPrioDelay.D())
	}
	if b.GARPMasterRefreshRepeat != 2 || b.GARPInterval.D() != 50*time.Millisecond || b.GNAInterval.D() != 2*time.Millisecond {
		t.Errorf("B (garp_group of eth1): refresh_repeat %d garp %v gna %v", b.GARPMasterRefreshRepeat, b.GARPInterval.D(), b.GNAInterval.D())
	}
	if c.GARPInterval.D() != time.Millisecond || c.GNAInterval.D() != 20*time.Millisecond {
		t.Errorf("C (garp_group of eth2, eth3): garp %v gna %v", c.GARPInterval.D(), c.GNAInterval.D())
	}
	// The garp_group's garp_interval (line 11) and the global
	// vrrp_garp_interval (line 6) are approximated: keepalived sends two per
	// paced burst; the other global defaults convert as they are.
	if r := Report(res.Findings); !strings.Contains(r, "k.conf:16: approximated: interfaces: keepalived paces gratuitous ARPs across these interfaces together") ||
		!strings.Contains(r, "k.conf:11: approximated: garp_interval: keepalived 2.2.7 sends two gratuitous ARPs per burst") ||
		!strings.Contains(r, "k.conf:6: approximated: vrrp_garp_interval: keepalived 2.2.7 sends two gratuitous ARPs per burst") ||
		strings.Count(r, "garp_interval:") != 2 || strings.Contains(r, "refresh_repeat") || strings.Contains(r, "gna_interval:") {
		t.Errorf("findings:\n%s", r)
	}
}
