package conf

import (
	"strings"
	"testing"
)

// TestInitFileConflict: two init_file of one file that disagree are an
// error at the second.
func TestInitFileConflict(t *testing.T) {
	_, err := Parse("lbd.yaml", []byte(`vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 51
    virtual_ipaddresses: [192.0.2.100]
    track_files:
      - {path: /run/a, weight: -5, init_file: {value: 3}}
  - name: VI_2
    interface: eth0
    virtual_router_id: 52
    virtual_ipaddresses: [192.0.2.101]
    track_files:
      - {path: /run/a, weight: -5, init_file: {value: 4}}
`))
	if err == nil || !strings.Contains(err.Error(), "lbd.yaml:13:47: init_file: another init_file of the same file") {
		t.Errorf("conflicting init_file: %v", err)
	}
}
