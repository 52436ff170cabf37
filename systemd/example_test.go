package systemd

import (
	"testing"

	"github.com/lbd-project/lbd/conf"
)

// TestExampleConfigValid keeps the example `make install` ships valid.
func TestExampleConfigValid(t *testing.T) {
	c, err := conf.Load("lbd.yaml")
	if err != nil {
		t.Fatalf("lbd.yaml: %v", err)
	}
	if len(c.VRRPInstances) != 1 || len(c.VirtualServers) != 1 || len(c.VirtualServers[0].RealServers) != 2 {
		t.Errorf("example decoded to %d instances, %d virtual servers", len(c.VRRPInstances), len(c.VirtualServers))
	}
}
