package conf

import (
	"strings"
	"testing"
	"time"
)

func TestGARPTiming(t *testing.T) {
	c, err := Parse("x.yaml", []byte(`global:
  vrrp: {garp_interval: 0.01, garp_master_refresh_repeat: 2}
vrrp_instances:
  - name: A
    interface: eth0
    virtual_router_id: 1
    virtual_ipaddresses: [192.0.2.1]
  - name: B
    interface: eth0
    virtual_router_id: 2
    garp_interval: 0
    gna_interval: 5ms
    garp_master_refresh_repeat: 3
    virtual_ipaddresses: [192.0.2.2]
`))
	if err != nil {
		t.Fatal(err)
	}
	a, b := c.VRRPInstances[0], c.VRRPInstances[1]
	if a.GARPInterval.D() != 10*time.Millisecond || a.GNAInterval.D() != 0 || a.GARPMasterRefreshRepeat != 2 {
		t.Errorf("A inherits: garp_interval %v gna_interval %v refresh_repeat %d", a.GARPInterval.D(), a.GNAInterval.D(), a.GARPMasterRefreshRepeat)
	}
	if b.GARPInterval.D() != 0 || b.GNAInterval.D() != 5*time.Millisecond || b.GARPMasterRefreshRepeat != 3 {
		t.Errorf("B overrides: garp_interval %v gna_interval %v refresh_repeat %d", b.GARPInterval.D(), b.GNAInterval.D(), b.GARPMasterRefreshRepeat)
	}
	d, err := Parse("x.yaml", []byte("vrrp_instances: [{name: A, interface: eth0, virtual_router_id: 1, virtual_ipaddresses: [192.0.2.1]}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if in := d.VRRPInstances[0]; in.GARPMasterRefreshRepeat != DefaultGARPRefreshRep || in.GARPInterval.D() != 0 {
		t.Errorf("defaults: %+v", in)
	}
	_, err = Parse("x.yaml", []byte("vrrp_instances:\n  - {name: A, interface: eth0, virtual_router_id: 1, gna_interval: 2s, virtual_ipaddresses: [192.0.2.1]}\n"))
	if want := "x.yaml:2:5: vrrp instance A: gna_interval 2s over 1s"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want %q", err, want)
	}
}

// The answer to a lower-priority master follows the instance's
// garp_master_delay and garp_master_repeat unless set, as in keepalived.
func TestGARPLowerPriorityDefaults(t *testing.T) {
	c, err := Parse("x.yaml", []byte(`global:
  vrrp: {garp_master_repeat: 4}
vrrp_instances:
  - {name: A, interface: eth0, virtual_router_id: 1, garp_master_delay: 0, virtual_ipaddresses: [192.0.2.1]}
  - {name: B, interface: eth0, virtual_router_id: 2, garp_lower_prio_delay: 2s, garp_lower_prio_repeat: 1, virtual_ipaddresses: [192.0.2.2]}
`))
	if err != nil {
		t.Fatal(err)
	}
	a, b := c.VRRPInstances[0], c.VRRPInstances[1]
	if a.GARPLowerPrioDelay.D() != 0 || a.GARPLowerPrioRepeat != 4 {
		t.Errorf("A: lower_prio delay %v repeat %d, want its garp_master_*: 0s 4", a.GARPLowerPrioDelay.D(), a.GARPLowerPrioRepeat)
	}
	if b.GARPLowerPrioDelay.D() != 2*time.Second || b.GARPLowerPrioRepeat != 1 || b.GARPMasterDelay.D() != DefaultGARPMasterDelay {
		t.Errorf("B: lower_prio delay %v repeat %d", b.GARPLowerPrioDelay.D(), b.GARPLowerPrioRepeat)
	}
}
