package ipvs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/ipvs"
)

// kernel is an IPVS table in a fresh network namespace of the lab VM, with
// our client and Debian's ipvsadm both pointed at it.
type kernel struct {
	node *lab.Node
	c    *ipvs.Client
	ctx  context.Context
}

func newKernel(t *testing.T, l *lab.Lab, name string) *kernel {
	t.Helper()
	k := &kernel{node: l.Node(name)}
	// A netlink socket belongs to the namespace it was opened in, so the
	// client talks to this node's IPVS from any goroutine.
	if err := k.node.Do(func() (err error) { k.c, err = ipvs.Open(); return err }); err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { k.c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	k.ctx = ctx
	return k
}

// ipvsadm runs Debian's ipvsadm in the node with stdin and returns stdout.
func (k *kernel) ipvsadmIn(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	var out, errOut strings.Builder
	cmd := exec.CommandContext(k.ctx, "ipvsadm", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errOut
	if err := k.node.RunCmd(cmd); err != nil {
		t.Fatalf("%v: %s\nstdin:\n%s", err, errOut.String(), stdin)
	}
	return out.String()
}

func (k *kernel) ipvsadm(t *testing.T, args ...string) string {
	t.Helper()
	return k.ipvsadmIn(t, "", args...)
}

func (k *kernel) flush(t *testing.T) {
	t.Helper()
	if err := k.c.Flush(k.ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if out := k.ipvsadm(t, "-S", "-n"); out != "" {
		t.Fatalf("table not empty after Flush:\n%s", out)
	}
}

func ap(s string) netip.Addr { return netip.MustParseAddr(s) }

// featureCases are the same IPVS state written two ways: as ipvsadm -R rules
// and as a Table. Together they cover every service and destination
// feature of the kernel.
var featureCases = []struct {
	name  string
	rules string
	table func() ipvs.Table
}{
	{
		name: "NAT service, default scheduler",
		rules: `-A -t 192.0.2.10:80
-a -t 192.0.2.10:80 -r 192.0.2.15:8080 -m -w 3
-a -t 192.0.2.10:80 -r 192.0.2.16:8080 -m -w 0
`,
		table: func() (t ipvs.Table) {
			t.Add(ipvs.Service{Protocol: ipvs.TCP, Address: ap("192.0.2.10"), Port: 80},
				ipvs.Destination{Address: ap("192.0.2.15"), Port: 8080, ForwardMethod: ipvs.Masq, Weight: 3},
				ipvs.Destination{Address: ap("192.0.2.16"), Port: 8080, ForwardMethod: ipvs.Masq, Weight: 0})
			return t
		},
	},
	{
		name: "persistence with netmask, DR, thresholds",
		rules: `-A -t 192.0.2.10:443 -s wrr -p 600 -M 255.255.255.0
-a -t 192.0.2.10:443 -r 192.0.2.15:443 -g -w 50 -x 1000 -y 800
`,
		table: func() (t ipvs.Table) {
			t.Add(ipvs.Service{Protocol: ipvs.TCP, Address: ap("192.0.2.10"), Port: 443, Scheduler: "wrr",
				Persistent: true, Timeout: 600, Netmask: 24},
				ipvs.Destination{Address: ap("192.0.2.15"), Port: 443, ForwardMethod: ipvs.Route, Weight: 50,
					UpperThreshold: 1000, LowerThreshold: 800})
			return t
		},
	},
	{
		name: "UDP one-packet scheduling, SIP persistence engine",
		rules: `-A -u 192.0.2.10:53 -s rr -o
-a -u 192.0.2.10:53 -r 192.0.2.15:53 -m -w 1
-A -u 192.0.2.10:5060 -s rr -p 60 --pe sip
-a -u 192.0.2.10:5060 -r 192.0.2.15:5060 -m -w 1
`,
		table: func() (t ipvs.Table) {
			t.Add(ipvs.Service{Protocol: ipvs.UDP, Address: ap("192.0.2.10"), Port: 53, Scheduler: "rr", OnePacket: true},
				ipvs.Destination{Address: ap("192.0.2.15"), Port: 53, Weight: 1})
			t.Add(ipvs.Service{Protocol: ipvs.UDP, Address: ap("192.0.2.10"), Port: 5060, Scheduler: "rr",
				Persistent: true, Timeout: 60, PEName: "sip"},
				ipvs.Destination{Address: ap("192.0.2.15"), Port: 5060, Weight: 1})
			return t
		},
	},
	{
		name: "scheduler flags",
		rules: `-A -t 192.0.2.11:80 -s sh -b sh-fallback,sh-port
-A -t 192.0.2.12:80 -s mh -b mh-port
`,
		table: func() (t ipvs.Table) {
			t.Add(ipvs.Service{Protocol: ipvs.TCP, Address: ap("192.0.2.11"), Port: 80, Scheduler: "sh",
				SchedFlags: ipvs.SHFallback | ipvs.SHPort})
			t.Add(ipvs.Service{Protocol: ipvs.TCP, Address: ap("192.0.2.12"), Port: 80, Scheduler: "mh",
				SchedFlags: ipvs.MHPort})
			return t
		},
	},
	{
		name: "tunnels: ipip, gue with port and checksum flags, gre",
		rules: `-A -t 192.0.2.10:80 -s rr
-a -t 192.0.2.10:80 -r 192.0.2.20:80 -i -w 1
-a -t 192.0.2.10:80 -r 192.0.2.21:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum
-a -t 192.0.2.10:80 -r 192.0.2.22:80 -i -w 1 --tun-type gue --tun-port 6081 --tun-remcsum
-a -t 192.0.2.10:80 -r 192.0.2.23:80 -i -w 1 --tun-type gre --tun-csum
`,
		table: func() (t ipvs.Table) {
			tun := func(a string, typ ipvs.TunnelType, port uint16, flags ipvs.TunnelFlags) ipvs.Destination {
				return ipvs.Destination{Address: ap(a), Port: 80, ForwardMethod: ipvs.Tunnel, Weight: 1,
					TunnelType: typ, TunnelPort: port, TunnelFlags: flags}
			}
			t.Add(ipvs.Service{Protocol: ipvs.TCP, Address: ap("192.0.2.10"), Port: 80, Scheduler: "rr"},
				tun("192.0.2.20", ipvs.IPIP, 0, 0),
				tun("192.0.2.21", ipvs.GUE, 6080, 0),
				tun("192.0.2.22", ipvs.GUE, 6081, ipvs.TunnelRemCsum),
				tun("192.0.2.23", ipvs.GRE, 0, ipvs.TunnelCsum))
			return t
		},
	},
	{
		name: "firewall marks, IPv4 and IPv6",
		rules: `-A -f 1 -s rr
-a -f 1 -r 192.0.2.20:0 -i -w 1
-A -f 2 -6 -s wlc -p 300
-a -f 2 -6 -r [2001:db8::20]:0 -g -w 2
`,
		table: func() (t ipvs.Table) {
			t.Add(ipvs.Service{FWMark: 1, Scheduler: "rr"},
				ipvs.Destination{Address: ap("192.0.2.20"), ForwardMethod: ipvs.Tunnel, Weight: 1})
			t.Add(ipvs.Service{FWMark: 2, Family: ipvs.IPv6, Scheduler: "wlc", Persistent: true, Timeout: 300},
				ipvs.Destination{Address: ap("2001:db8::20"), ForwardMethod: ipvs.Route, Weight: 2})
			return t
		},
	},
	{
		// ipvsadm ignores the port of an IPv4 destination of an IPv6
		// service and uses the service's; the table says the same.
		name: "IPv6 and SCTP services, IPv4 tunnel behind IPv6",
		rules: `-A -t [2001:db8::10]:443 -s lc -p 120 -M 64
-a -t [2001:db8::10]:443 -r [2001:db8::15]:8443 -m -w 5
-a -t [2001:db8::10]:443 -r 192.0.2.30:443 -i -w 1
-A --sctp-service 192.0.2.10:9000 -s nq
-a --sctp-service 192.0.2.10:9000 -r 192.0.2.15:9000 -g -w 1
`,
		table: func() (t ipvs.Table) {
			t.Add(ipvs.Service{Protocol: ipvs.TCP, Address: ap("2001:db8::10"), Port: 443, Scheduler: "lc",
				Persistent: true, Timeout: 120, Netmask: 64},
				ipvs.Destination{Address: ap("2001:db8::15"), Port: 8443, ForwardMethod: ipvs.Masq, Weight: 5},
				ipvs.Destination{Address: ap("192.0.2.30"), Port: 443, ForwardMethod: ipvs.Tunnel, Weight: 1})
			t.Add(ipvs.Service{Protocol: ipvs.SCTP, Address: ap("192.0.2.10"), Port: 9000, Scheduler: "nq"},
				ipvs.Destination{Address: ap("192.0.2.15"), Port: 9000, ForwardMethod: ipvs.Route, Weight: 1})
			return t
		},
	},
	{
		name: "every scheduler",
		rules: func() string {
			var b strings.Builder
			for i, s := range kernelSchedulers() {
				fmt.Fprintf(&b, "-A -t 192.0.2.40:%d -s %s\n", 1000+i, s)
			}
			return b.String()
		}(),
		table: func() (t ipvs.Table) {
			for i, s := range kernelSchedulers() {
				t.Add(ipvs.Service{Protocol: ipvs.TCP, Address: ap("192.0.2.40"), Port: uint16(1000 + i), Scheduler: s})
			}
			return t
		},
	},
}

// kernelSchedulers are the schedulers whose module the VM kernel has: twos
// arrived in Linux 6.2, after Debian 12's kernel.
func kernelSchedulers() []string {
	var out []string
	for _, s := range ipvs.Schedulers {
		if _, err := os.Stat("/sys/module/ip_vs_" + s); err == nil || !lab.InVM() {
			out = append(out, s)
		}
	}
	return out
}

// TestIntegrationVMKernel checks the client against the real kernel and
// Debian's ipvsadm, feature by feature, in both directions.
func TestIntegrationVMKernel(t *testing.T) {
	if !lab.RunInVM(t, lab.VMOptions{}) {
		return
	}
	l := lab.New(t)
	k := newKernel(t, l, "lb")
	c, ctx := k.c, k.ctx
	flush := k.flush
	ipvsadm := k.ipvsadm
	ipvsadmRestore := func(t *testing.T, rules string) { k.ipvsadmIn(t, rules, "-R") }

	t.Run("info", func(t *testing.T) {
		info, err := c.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("IP Virtual Server version %s (size=%d)", info.Version, info.ConnTableSize)
		if got := strings.SplitN(ipvsadm(t, "-L", "-n"), "\n", 2)[0]; got != want {
			t.Errorf("ipvsadm says %q, we say %q", got, want)
		}
	})

	for _, tc := range featureCases {
		t.Run(tc.name, func(t *testing.T) {
			// ipvsadm writes, we read.
			flush(t)
			ipvsadmRestore(t, tc.rules)
			saved := ipvsadm(t, "-S", "-n")
			dump, err := c.Dump(ctx)
			if err != nil {
				t.Fatalf("dump: %v", err)
			}
			if p := ipvs.Diff(tc.table(), dump); len(p.Changes) != 0 {
				t.Errorf("our Dump of ipvsadm's table differs from the expected table:\n%s", p)
			}

			// We write, ipvsadm reads: the same -S output as ipvsadm's own.
			flush(t)
			res, err := c.Apply(ctx, ipvs.Diff(tc.table(), ipvs.Table{}))
			if err != nil {
				t.Fatalf("apply: %v", err)
			}
			if got := ipvsadm(t, "-S", "-n"); got != saved {
				t.Errorf("ipvsadm -S -n after our Apply:\n%s\nafter ipvsadm -R:\n%s", got, saved)
			}
			if res.Messages != len(res.Results) {
				t.Errorf("apply sent %d messages for %d changes", res.Messages, len(res.Results))
			}

			// Nothing left to do: a second plan is empty.
			dump, err = c.Dump(ctx)
			if err != nil {
				t.Fatalf("dump: %v", err)
			}
			if p := ipvs.Diff(tc.table(), dump); len(p.Changes) != 0 {
				t.Errorf("plan after apply is not empty:\n%s", p)
			}
		})
	}

	t.Run("edits in place", func(t *testing.T) {
		flush(t)
		ipvsadmRestore(t, "-A -t 192.0.2.10:80 -s rr\n-a -t 192.0.2.10:80 -r 192.0.2.15:80 -m -w 1\n-a -t 192.0.2.10:80 -r 192.0.2.16:80 -m -w 1\n")
		var want ipvs.Table
		want.Add(ipvs.Service{Protocol: ipvs.TCP, Address: ap("192.0.2.10"), Port: 80, Scheduler: "wlc", Persistent: true, Timeout: 30},
			ipvs.Destination{Address: ap("192.0.2.15"), Port: 80, ForwardMethod: ipvs.Route, Weight: 7},
			ipvs.Destination{Address: ap("192.0.2.17"), Port: 80, Weight: 1})
		dump, err := c.Dump(ctx)
		if err != nil {
			t.Fatal(err)
		}
		plan := ipvs.Diff(want, dump)
		var ops []string
		for _, ch := range plan.Changes {
			ops = append(ops, ch.Op.String())
		}
		// one service edit, one destination edit, one delete, one add
		if got := strings.Join(ops, ","); got != "delete,edit,add,edit" && len(plan.Changes) != 4 {
			t.Errorf("plan ops %s, want 4 changes:\n%s", got, plan)
		}
		res, err := c.Apply(ctx, plan)
		if err != nil {
			t.Fatalf("apply: %v", err)
		}
		if res.Messages != 4 {
			t.Errorf("sent %d messages, want 4", res.Messages)
		}
		want2 := "-A -t 192.0.2.10:80 -s wlc -p 30\n" +
			"-a -t 192.0.2.10:80 -r 192.0.2.15:80 -g -w 7\n" +
			"-a -t 192.0.2.10:80 -r 192.0.2.17:80 -m -w 1\n"
		if got := ipvsadm(t, "-S", "-n"); got != want2 {
			t.Errorf("after apply:\n%s\nwant:\n%s", got, want2)
		}

		// A scoped read returns the same as the full Dump for the services
		// asked for, and skips the ones the kernel does not have.
		full, err := c.Dump(ctx)
		if err != nil {
			t.Fatal(err)
		}
		gone := ipvs.Service{Protocol: ipvs.UDP, Address: ap("192.0.2.10"), Port: 80}
		scoped, err := c.DumpServices(ctx, gone, want.Services[0].Service)
		if err != nil {
			t.Fatal(err)
		}
		if len(scoped.Services) != 1 || len(ipvs.Diff(scoped, full).Changes) != 0 {
			t.Errorf("DumpServices = %+v, want the one service of %+v", scoped, full)
		}
	})

	t.Run("errors name object and errno", func(t *testing.T) {
		flush(t)
		svc := ipvs.Service{Protocol: ipvs.TCP, Address: ap("192.0.2.10"), Port: 80, Scheduler: "rr"}
		if err := c.NewService(ctx, svc); err != nil {
			t.Fatal(err)
		}
		err := c.NewService(ctx, svc)
		if !errors.Is(err, unix.EEXIST) || !strings.Contains(err.Error(), "TCP 192.0.2.10:80") {
			t.Errorf("adding an existing service: %v", err)
		}
		d := ipvs.Destination{Address: ap("192.0.2.15"), Port: 80, Weight: 1}
		if err := c.NewDestination(ctx, svc, d); err != nil {
			t.Fatal(err)
		}
		err = c.NewDestination(ctx, svc, d)
		if want := "ipvs: add destination 192.0.2.15:80 to TCP 192.0.2.10:80: file exists"; err == nil || err.Error() != want {
			t.Errorf("got %v, want %q", err, want)
		}
		missing := ipvs.Service{Protocol: ipvs.TCP, Address: ap("192.0.2.99"), Port: 80}
		if err := c.DeleteService(ctx, missing); !errors.Is(err, unix.ESRCH) {
			t.Errorf("deleting a missing service: %v", err)
		}
		bad := ipvs.Service{Protocol: ipvs.TCP, Address: ap("192.0.2.11"), Port: 80, Scheduler: "nosuch"}
		if err := c.NewService(ctx, bad); err == nil {
			t.Error("unknown scheduler accepted")
		}
	})

	t.Run("apply reports each failure", func(t *testing.T) {
		flush(t)
		ipvsadmRestore(t, "-A -t 192.0.2.10:80 -s rr\n")
		svc := ipvs.Service{Protocol: ipvs.TCP, Address: ap("192.0.2.10"), Port: 80, Scheduler: "rr"}
		other := ipvs.Service{Protocol: ipvs.TCP, Address: ap("192.0.2.11"), Port: 80, Scheduler: "rr"}
		d := func(a string) *ipvs.Destination {
			return &ipvs.Destination{Address: ap(a), Port: 80, Weight: 1}
		}
		plan := ipvs.Plan{Changes: []ipvs.Change{
			{Op: ipvs.Add, Service: svc, Destination: d("192.0.2.15")},
			{Op: ipvs.Add, Service: other, Destination: d("192.0.2.16")}, // no such service
			{Op: ipvs.Add, Service: svc, Destination: d("192.0.2.17")},
			{Op: ipvs.Delete, Service: svc, Destination: d("192.0.2.18")}, // no such destination
			{Op: ipvs.Add, Service: other},
		}}
		res, err := c.Apply(ctx, plan)
		if err == nil {
			t.Fatal("apply with failing changes returned no error")
		}
		wantFail := []bool{false, true, false, true, false}
		for i, r := range res.Results {
			if (r.Err != nil) != wantFail[i] {
				t.Errorf("change %d (%s): err=%v, want failure=%v", i, r.Change, r.Err, wantFail[i])
			}
		}
		want := "-A -t 192.0.2.10:80 -s rr\n" +
			"-a -t 192.0.2.10:80 -r 192.0.2.15:80 -m -w 1\n" +
			"-a -t 192.0.2.10:80 -r 192.0.2.17:80 -m -w 1\n" +
			"-A -t 192.0.2.11:80 -s rr\n"
		if got := ipvsadm(t, "-S", "-n"); got != want {
			t.Errorf("kernel state:\n%s\nwant:\n%s", got, want)
		}
	})

	t.Run("timeouts", func(t *testing.T) {
		ipvsadm(t, "--set", "901", "121", "301")
		got, err := c.Timeouts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := (ipvs.Timeouts{TCP: 901 * time.Second, TCPFin: 121 * time.Second, UDP: 301 * time.Second}); got != want {
			t.Errorf("Timeouts = %+v, want %+v", got, want)
		}
		if err := c.SetTimeouts(ctx, ipvs.Timeouts{TCP: 600 * time.Second}); err != nil { // others unchanged
			t.Fatal(err)
		}
		if out := ipvsadm(t, "-L", "--timeout"); out != "Timeout (tcp tcpfin udp): 600 121 301\n" {
			t.Errorf("ipvsadm -L --timeout = %q", out)
		}
	})

	t.Run("sloppy tcp", func(t *testing.T) {
		for _, on := range []bool{true, false} {
			var got bool
			err := k.node.Do(func() error {
				if err := c.SetSloppyTCP(on); err != nil {
					return err
				}
				var err error
				got, err = c.SloppyTCP()
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			want := map[bool]string{true: "1\n", false: "0\n"}[on]
			if out := k.node.MustRun("cat", "/proc/sys/net/ipv4/vs/sloppy_tcp"); got != on || out != want {
				t.Errorf("SetSloppyTCP(%v): SloppyTCP() = %v, the sysctl reads %q", on, got, out)
			}
		}
	})

	t.Run("sync daemons", func(t *testing.T) {
		// The daemon sends its multicast out of an interface of the node.
		k.node.AddDummy("sync0")
		ipvsadm(t, "--start-daemon", "master", "--mcast-interface", "sync0", "--syncid", "7")
		ds, err := c.SyncDaemons(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// ipvsadm leaves group, port and TTL to the kernel's defaults.
		if len(ds) != 1 || ds[0].State != ipvs.Master || ds[0].McastIfn != "sync0" || ds[0].SyncID != 7 ||
			ds[0].McastPort != 8848 || ds[0].McastGroup != ap("224.0.0.81") || ds[0].McastTTL != 1 {
			t.Errorf("SyncDaemons = %+v", ds)
		}
		err = c.StartSyncDaemon(ctx, ipvs.SyncDaemon{State: ipvs.Backup, McastIfn: "sync0", SyncID: 9,
			McastGroup: ap("239.1.2.3"), McastPort: 8850, McastTTL: 2})
		if err != nil {
			t.Fatal(err)
		}
		out := ipvsadm(t, "-L", "--daemon")
		for _, want := range []string{"master sync daemon (mcast=sync0, syncid=7", "backup sync daemon (mcast=sync0, syncid=9", "group=239.1.2.3", "port=8850"} {
			if !strings.Contains(out, want) {
				t.Errorf("ipvsadm -L --daemon lacks %q:\n%s", want, out)
			}
		}
		for _, st := range []ipvs.DaemonState{ipvs.Master, ipvs.Backup} {
			if err := c.StopSyncDaemon(ctx, st); err != nil {
				t.Errorf("stop %s: %v", st, err)
			}
		}
		if out := ipvsadm(t, "-L", "--daemon"); out != "" {
			t.Errorf("daemons left running:\n%s", out)
		}

		// An IPv6 multicast group travels in its own attribute.
		if err := c.StartSyncDaemon(ctx, ipvs.SyncDaemon{State: ipvs.Master, McastIfn: "sync0", SyncID: 3,
			McastGroup: ap("ff15::8")}); err != nil {
			t.Fatal(err)
		}
		if out := ipvsadm(t, "-L", "--daemon"); !strings.Contains(out, "group=ff15::8") {
			t.Errorf("IPv6 group not in ipvsadm -L --daemon:\n%s", out)
		}
		if ds, err := c.SyncDaemons(ctx); err != nil || len(ds) != 1 || ds[0].McastGroup != ap("ff15::8") {
			t.Errorf("SyncDaemons = %+v, %v", ds, err)
		}
		if err := c.StopSyncDaemon(ctx, ipvs.Master); err != nil {
			t.Error(err)
		}
	})

	t.Run("stats and zero", func(t *testing.T) {
		flush(t)
		trafficThroughVIP(t, l, k, 5)
		var dump ipvs.Table
		deadline := time.Now().Add(8 * time.Second) // the kernel folds per-CPU counters every 2 s
		for {
			var err error
			if dump, err = c.Dump(ctx); err != nil {
				t.Fatal(err)
			}
			if len(dump.Services) == 1 && dump.Services[0].Stats.Conns == 5 || time.Now().After(deadline) {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		s := dump.Services[0]
		if s.Stats.Conns != 5 || s.Destinations[0].Stats.Conns != 5 || s.Stats.InPkts == 0 || s.Stats.OutBytes == 0 {
			t.Fatalf("stats after 5 connections: service %+v, destination %+v", s.Stats, s.Destinations[0].Stats)
		}
		line := fmt.Sprintf("TCP 198.51.100.10:80 %d %d %d %d %d", s.Stats.Conns, s.Stats.InPkts, s.Stats.OutPkts, s.Stats.InBytes, s.Stats.OutBytes)
		if out := strings.Join(strings.Fields(ipvsadm(t, "-L", "-n", "--stats", "--exact")), " "); !strings.Contains(out, line) {
			t.Errorf("ipvsadm --stats --exact disagrees with our %q:\n%s", line, out)
		}
		other := ipvs.Service{Protocol: ipvs.UDP, Address: ap("198.51.100.10"), Port: 53}
		if err := c.NewService(ctx, other); err != nil {
			t.Fatal(err)
		}
		if err := c.ZeroService(ctx, other); err != nil { // zeroes only that one
			t.Fatal(err)
		}
		if dump, _ = c.Dump(ctx); dump.Services[0].Stats.Conns != 5 {
			t.Errorf("ZeroService of another service zeroed this one: %+v", dump.Services[0].Stats)
		}
		if err := c.Zero(ctx); err != nil {
			t.Fatal(err)
		}
		if dump, _ = c.Dump(ctx); dump.Services[0].Stats.Conns != 0 {
			t.Errorf("Zero left %d connections counted", dump.Services[0].Stats.Conns)
		}
	})
}

// trafficThroughVIP makes the node of k a NAT balancer for the service
// 198.51.100.10:80 (which it adds), with a client and a real server
// namespace on either side, and opens n connections through it.
func trafficThroughVIP(t *testing.T, l *lab.Lab, k *kernel, n int) {
	t.Helper()
	client, rs := l.Node("client"), l.Node("rs")
	client.Link("eth0", k.node, "front")
	rs.Link("eth0", k.node, "back")
	client.AddAddr("eth0", "198.51.100.2/24")
	k.node.AddAddr("front", "198.51.100.1/24")
	k.node.AddAddr("front", "198.51.100.10/32")
	k.node.AddAddr("back", "192.0.2.1/24")
	rs.AddAddr("eth0", "192.0.2.15/24")
	rs.AddRoute("default", "192.0.2.1")
	k.node.Sysctl("net.ipv4.ip_forward", "1")
	lab.Serve(t, rs.Listen("tcp", "192.0.2.15:8080"), func(c net.Conn) { c.Write([]byte("rs1\n")) })
	svc := ipvs.Service{Protocol: ipvs.TCP, Address: ap("198.51.100.10"), Port: 80, Scheduler: "rr"}
	if err := k.c.NewService(k.ctx, svc); err != nil {
		t.Fatal(err)
	}
	if err := k.c.NewDestination(k.ctx, svc, ipvs.Destination{Address: ap("192.0.2.15"), Port: 8080, Weight: 1}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		conn, err := client.Dial("tcp", "198.51.100.10:80", 3*time.Second)
		if err != nil {
			t.Fatalf("connection %d through the VIP: %v", i, err)
		}
		buf := make([]byte, 4)
		conn.SetDeadline(time.Now().Add(3 * time.Second))
		if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "rs1\n" {
			t.Fatalf("connection %d: read %q, %v", i, buf, err)
		}
		conn.Close()
	}
}
