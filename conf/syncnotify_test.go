package conf

import (
	"slices"
	"strings"
	"testing"
)

func TestSyncGroupNotifyScripts(t *testing.T) {
	base := `vrrp_instances:
  - {name: A, interface: eth0, virtual_router_id: 1, virtual_ipaddresses: [192.0.2.100]}
vrrp_sync_groups:
  - name: G
    group: [A]
`
	c, err := Parse("x.yaml", []byte(base+"    notify_master: /bin/true master\n    notify_backup: /bin/true\n    notify_fault: /bin/true\n    notify_stop: /bin/true\n    notify: /bin/true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if g := c.VRRPSyncGroups[0]; !slices.Equal(g.NotifyMaster, Command{"/bin/true", "master"}) || len(g.NotifyStop) != 1 || len(g.Notify) != 1 {
		t.Errorf("decoded %+v", g)
	}
	_, err = Parse("x.yaml", []byte(base+"    notify_fault: /nonexistent/fault.sh\n"))
	if want := `x.yaml:4:5: vrrp sync group G notify_fault: stat /nonexistent/fault.sh`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want %q", err, want)
	}
}
