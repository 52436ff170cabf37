package ipvsctl

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/lbd-project/lbd/internal/control"
	"github.com/lbd-project/lbd/ipvs"
	"github.com/lbd-project/lbd/ipvs/ipvstest"
)

// managedLbd manages TCP 192.0.2.10:80 and FWM 1 IPv6; everything else
// is not_managed.
func managedLbd(t *testing.T) *fakeLbd {
	managed := []control.ServiceRef{
		{Protocol: "TCP", Address: "192.0.2.10", Port: 80},
		{FWMark: 1, Family: "ipv6"},
	}
	return startLbd(t, map[string]func(json.RawMessage) (any, error){
		control.MethodRuntime: func(raw json.RawMessage) (any, error) {
			var p control.RuntimeParams
			if err := json.Unmarshal(raw, &p); err != nil {
				return nil, err
			}
			for _, m := range managed {
				if sameService(m, p.Service) {
					if p.RealServer.Address == "192.0.2.99" {
						return nil, control.Errorf(control.CodeInvalidParams, "real server 192.0.2.99:80 is already in TCP 192.0.2.10:80")
					}
					return nil, nil
				}
			}
			return nil, control.Errorf(control.CodeNotManaged, "lbd does not manage %s", formatService(p.Service, " "))
		},
		control.MethodStatus: canned(control.StatusResult{VirtualServers: []control.VirtualServerStatus{
			{Service: managed[0]}, {Service: managed[1]}}}),
	})
}

// kernelWith has TCP 192.0.2.20:80 with real server 192.0.2.15:8080 and
// TCP 192.0.2.10:80 with 192.0.2.16:80, so every command of the tests
// below can succeed in it.
func kernelWith() *ipvstest.Kernel {
	svc := func(addr string) ipvs.Service {
		return ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP, Address: netip.MustParseAddr(addr), Port: 80, Scheduler: "wlc"}
	}
	dest := func(addr string, port uint16) []ipvs.DestinationEntry {
		return []ipvs.DestinationEntry{{Destination: ipvs.Destination{Family: ipvs.IPv4,
			Address: netip.MustParseAddr(addr), Port: port, ForwardMethod: ipvs.Masq, Weight: 1}}}
	}
	k := ipvstest.NewKernel()
	k.Load(ipvs.Table{Services: []ipvs.ServiceEntry{
		{Service: svc("192.0.2.20"), Destinations: dest("192.0.2.15", 8080)},
		{Service: svc("192.0.2.10"), Destinations: dest("192.0.2.16", 80)},
	}})
	return k
}

// changes renders the changes k was asked to make, as ipvsadm rules.
func changes(k *ipvstest.Kernel) []string {
	var out []string
	for _, c := range k.Changes() {
		out = append(out, c.String())
	}
	return out
}

func TestRuntimeManaged(t *testing.T) {
	lbd := managedLbd(t)
	tests := []struct {
		args   string
		params string
	}{
		{"-a -t 192.0.2.10:80 -r 192.0.2.15",
			`{"op":"add","service":{"protocol":"TCP","address":"192.0.2.10","port":80},"real_server":{"address":"192.0.2.15","port":80}}`},
		// Without -g, the port given stays (ipvsadm would force the
		// service's for direct routing; lbd uses the service's method).
		{"-a -t web.example:http -r rs1.example:8080 -w 5",
			`{"op":"add","service":{"protocol":"TCP","address":"192.0.2.10","port":80},"real_server":{"address":"198.51.100.7","port":8080},"weight":5}`},
		{"-a -t 192.0.2.10:80 -r 192.0.2.16:8080 -m -w 0 -x 100 -y 50",
			`{"op":"add","service":{"protocol":"TCP","address":"192.0.2.10","port":80},"real_server":{"address":"192.0.2.16","port":8080},"forwarding":"NAT","weight":0,"upper_threshold":100,"lower_threshold":50}`},
		{"-e -t 192.0.2.10:80 -r 192.0.2.16:8080 -g",
			`{"op":"edit","service":{"protocol":"TCP","address":"192.0.2.10","port":80},"real_server":{"address":"192.0.2.16","port":80},"forwarding":"DR"}`},
		{"-e -f 1 -6 -r [2001:db8::1]:0 -i -w 2",
			`{"op":"edit","service":{"fwmark":1,"family":"ipv6"},"real_server":{"address":"2001:db8::1","port":0},"forwarding":"TUN","weight":2}`},
		{"-d -t 192.0.2.10:80 -r 192.0.2.15",
			`{"op":"delete","service":{"protocol":"TCP","address":"192.0.2.10","port":80},"real_server":{"address":"192.0.2.15","port":80}}`},
		{"--delete-server -f 1 -6 -r 2001:db8::1",
			`{"op":"delete","service":{"fwmark":1,"family":"ipv6"},"real_server":{"address":"2001:db8::1","port":0}}`},
	}
	for i, tt := range tests {
		k := kernelWith()
		r := runWith(t, lbd.path, k, strings.Fields(tt.args)...)
		if r.code != 0 || r.stdout != "" || r.stderr != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", tt.args, r.code, r.stdout, r.stderr)
		}
		if len(k.Changes()) != 0 {
			t.Errorf("%s: kernel touched: %v", tt.args, changes(k))
		}
		c := lbd.recorded()
		if len(c) != i+1 || c[i].method != control.MethodRuntime || c[i].params != tt.params {
			t.Errorf("%s: request %+v\nwant params %s", tt.args, c[len(c)-1], tt.params)
		}
	}

	// lbd refuses: its message like a kernel error, exit 255.
	k := kernelWith()
	r := runWith(t, lbd.path, k, "-a", "-t", "192.0.2.10:80", "-r", "192.0.2.99")
	if r.code != 255 || r.stderr != "real server 192.0.2.99:80 is already in TCP 192.0.2.10:80\n" || len(k.Changes()) != 0 {
		t.Errorf("refused: exit %d %q, kernel %v", r.code, r.stderr, changes(k))
	}

	// Tunnel options cannot travel: refused for a managed service ...
	r = runWith(t, lbd.path, k, "-a", "-f", "1", "-6", "-r", "2001:db8::3", "-i", "--tun-type", "gue", "--tun-port", "6080")
	if r.code != 255 || !strings.HasPrefix(r.stderr, "lbd manages FWM 1 IPv6: its runtime changes cannot set tunnel options") || len(k.Changes()) != 0 {
		t.Errorf("tunnel on managed: exit %d %q, kernel %v", r.code, r.stderr, changes(k))
	}
	// ... and go to the kernel for another.
	r = runWith(t, lbd.path, k, "-a", "-t", "192.0.2.20:80", "-r", "192.0.2.30", "-i", "--tun-type", "gre")
	if r.code != 0 || r.stderr != "" || len(k.Changes()) != 1 || !strings.HasPrefix(changes(k)[0], "+ -a -t 192.0.2.20:80 -r 192.0.2.30:80 -i") {
		t.Errorf("tunnel on unmanaged: exit %d %q, kernel %v", r.code, r.stderr, changes(k))
	}
}

func TestRuntimeKernel(t *testing.T) {
	lbd := managedLbd(t)
	for _, tt := range []struct {
		name   string
		socket string // "" for no daemon
		args   string
		asked  bool // lbd was asked
		kernel string
	}{
		{"not managed", lbd.path, "-a -t 192.0.2.20:80 -r 192.0.2.15 -m", true, "+ -a -t 192.0.2.20:80 -r 192.0.2.15:80 -m"},
		{"not managed edit", lbd.path, "-e -t 192.0.2.20:80 -r 192.0.2.15:8080 -m -w 3", true, "~ -e -t 192.0.2.20:80 -r 192.0.2.15:8080 -m -w 3"},
		{"not managed delete", lbd.path, "-d -t 192.0.2.20:80 -r 192.0.2.15:8080", true, "- -d -t 192.0.2.20:80 -r 192.0.2.15:8080"},
		{"--kernel", lbd.path, "--kernel -a -t 192.0.2.10:80 -r 192.0.2.15", false, "+ -a -t 192.0.2.10:80 -r 192.0.2.15:80"},
		{"--kernel last", lbd.path, "-d -t 192.0.2.10:80 -r 192.0.2.16 --kernel", false, "- -d -t 192.0.2.10:80 -r 192.0.2.16:80"},
		{"no daemon", "", "-a -t 192.0.2.10:80 -r 192.0.2.15", false, "+ -a -t 192.0.2.10:80 -r 192.0.2.15:80"},
		{"service commands", lbd.path, "-E -t 192.0.2.10:80 -s rr", false, "~ -E -t 192.0.2.10:80 -s rr"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := len(lbd.recorded())
			k := kernelWith()
			r := runWith(t, tt.socket, k, strings.Fields(tt.args)...)
			if r.code != 0 || r.stdout != "" || r.stderr != "" {
				t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
			if asked := len(lbd.recorded()) > n; asked != tt.asked {
				t.Errorf("lbd asked: %v", asked)
			}
			if len(k.Changes()) != 1 || !strings.HasPrefix(changes(k)[0], tt.kernel) {
				t.Errorf("kernel calls %v, want %q", changes(k), tt.kernel)
			}
		})
	}

	// The kernel's errors stay ipvsadm's.
	k := kernelWith()
	r := runWith(t, lbd.path, k, "-a", "-t", "192.0.2.21:80", "-r", "192.0.2.15")
	if r.code != 255 || r.stderr != "Service not defined\n" {
		t.Errorf("unknown service: exit %d %q", r.code, r.stderr)
	}

	// An lbd without the runtime method: the kernel.
	old := startLbd(t, map[string]func(json.RawMessage) (any, error){control.MethodStatus: canned(control.StatusResult{})})
	k = kernelWith()
	r = runWith(t, old.path, k, "-a", "-t", "192.0.2.10:80", "-r", "192.0.2.15")
	if r.code != 0 || len(k.Changes()) != 1 {
		t.Errorf("old lbd: exit %d %q, kernel %v", r.code, r.stderr, changes(k))
	}
}
