//go:build linux

package vrrpnet_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/control"
	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/vrrp"
)

func TestMain(m *testing.M) {
	code := m.Run()
	lab.RemoveBinaries()
	os.Exit(code)
}

// lbdSide is lbd's end of an interop test: the runtime in this process
// (lbd), or the lbd binary in the node (lbdBinary).
type lbdSide interface {
	state() vrrp.State
	// lastChange is when the state last changed.
	lastChange() time.Time
	becameMaster(after time.Time) (time.Time, bool)
	stop()
}

func (x *lbd) lastChange() time.Time { return x.stats().LastTransition }

// lbdBinary is `lbd -f FILE` running in a lab node; the test reads its
// state over its control socket.
type lbdBinary struct {
	t    *testing.T
	node *lab.Node
	p    *lab.Process
	sock string
}

// startLBDBinary runs the lbd command with one instance configured from o.
func startLBDBinary(t *testing.T, n *lab.Node, o lbdOpts) *lbdBinary {
	t.Helper()
	o = o.withDefaults()
	dir := t.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  control_socket: %s/control.sock\n  state_dir: %s\n  metrics_address: \"\"\n", dir, dir)
	fmt.Fprintf(&b, "vrrp_instances:\n  - name: VI_1\n    interface: eth0\n    version: %d\n    virtual_router_id: %d\n", o.version, o.vrid)
	fmt.Fprintf(&b, "    priority: %d\n    advert_interval: %s\n    fast_takeover_interval: 0s\n", o.prio, o.interval)
	if o.primary.IsValid() && !o.primary.IsLinkLocalUnicast() {
		fmt.Fprintf(&b, "    unicast_src_ip: %s\n", o.primary)
	}
	if len(o.peers) > 0 {
		fmt.Fprintf(&b, "    unicast_peers: [%s]\n", joinAddrs(o.peers))
	}
	if o.auth != "" {
		fmt.Fprintf(&b, "    authentication: {type: PASS, password: %s}\n", o.auth)
	}
	if v := o.vmac; v != nil {
		fmt.Fprintf(&b, "    use_vmac: true\n    vmac_name: %s\n    vmac_xmit_base: %v\n", v.Name, v.XmitBase)
	}
	fmt.Fprintf(&b, "    virtual_ipaddresses: [%s]\n", joinAddrs(o.vips))
	cfg := filepath.Join(dir, "lbd.yaml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	x := &lbdBinary{t: t, node: n, sock: filepath.Join(dir, "control.sock")}
	x.p = n.Start(lbdCommand(t), "-f", cfg, "-log-level", "debug")
	t.Cleanup(func() {
		x.stop()
		if t.Failed() {
			t.Logf("%s: lbd.yaml:\n%s\nlbd output:\n%s", n.Name, b.String(), x.p.Out.String())
		}
	})
	return x
}

// startLBDSide runs lbd's side of an interop test: the lbd command when
// binary, else the runtime in this process.
func startLBDSide(t *testing.T, n *lab.Node, o lbdOpts, binary bool) lbdSide {
	t.Helper()
	if binary {
		return startLBDBinary(t, n, o)
	}
	return startLBD(t, n, o)
}

// lbdCommand builds the lbd command once and returns its path.
func lbdCommand(t *testing.T) string { return lab.Binary(t, "github.com/lbd-project/lbd/cmd/lbd") }

func joinAddrs(as []netip.Addr) string {
	var s []string
	for _, a := range as {
		s = append(s, a.String())
	}
	return strings.Join(s, ", ")
}

// status asks the daemon; the zero status when it does not answer.
func (x *lbdBinary) status() control.VRRPInstanceStatus {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, err := control.DialContext(ctx, x.sock)
	if err != nil {
		return control.VRRPInstanceStatus{}
	}
	defer c.Close()
	var st control.StatusResult
	if err := c.Call(ctx, control.MethodStatus, nil, &st); err != nil || len(st.VRRPInstances) == 0 {
		return control.VRRPInstanceStatus{}
	}
	return st.VRRPInstances[0]
}

func (x *lbdBinary) state() vrrp.State {
	for _, s := range []vrrp.State{vrrp.StateBackup, vrrp.StateMaster, vrrp.StateFault} {
		if x.status().State == s.String() {
			return s
		}
	}
	return vrrp.StateInit
}

func (x *lbdBinary) lastChange() time.Time { return x.status().LastTransition }

func (x *lbdBinary) becameMaster(after time.Time) (time.Time, bool) {
	st := x.status()
	return st.LastTransition, st.State == "MASTER" && !st.LastTransition.Before(after)
}

// stop sends SIGTERM (a Master hands over) and waits for the exit.
func (x *lbdBinary) stop() {
	if x.p.Exited() {
		return
	}
	if err := x.p.Signal(syscall.SIGTERM); err != nil {
		x.t.Errorf("%s: lbd: %v", x.node.Name, err)
	}
	if err := x.p.Wait(10 * time.Second); err != nil && !x.p.Exited() {
		x.t.Errorf("%s: lbd did not stop: %v", x.node.Name, err)
	}
}
