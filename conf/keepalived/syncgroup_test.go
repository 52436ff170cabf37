package keepalived

import (
	"slices"
	"strings"
	"testing"
)

func TestImportSyncGroupScriptsAndSkipCheck(t *testing.T) {
	res, cfg := convertValid(t, `global_defs {
    vrrp_skip_check_adv_addr
}
vrrp_instance A {
    interface eth0
    virtual_router_id 1
    skip_check_adv_addr on
    virtual_ipaddress {
        192.0.2.100
    }
}
vrrp_sync_group G {
    group {
        A
    }
    notify_master "/bin/true master"
    notify_backup /bin/true
    notify_fault /bin/true
    notify_stop /bin/true
    notify /bin/true
}
`)
	g := cfg.VRRPSyncGroups[0]
	if !slices.Equal(g.NotifyMaster, []string{"/bin/true", "master"}) || len(g.NotifyBackup) != 1 || len(g.NotifyFault) != 1 ||
		len(g.NotifyStop) != 1 || len(g.Notify) != 1 {
		t.Errorf("sync group %+v", g)
	}
	r := Report(res.Findings)
	for _, want := range []string{"k.conf:2: note: vrrp_skip_check_adv_addr: lbd never drops an advert",
		"k.conf:7: note: skip_check_adv_addr: lbd never drops an advert"} {
		if !strings.Contains(r, want) {
			t.Errorf("report lacks %q:\n%s", want, r)
		}
	}
	if ChangesBehaviour(res.Findings) {
		t.Errorf("reported as changing behaviour:\n%s", r)
	}
}
