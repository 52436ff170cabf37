package ipvsadm

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/lbd-project/lbd/ipvs"
	"github.com/lbd-project/lbd/ipvs/ipvstest"
)

func TestParseRealServer(t *testing.T) {
	tests := []struct {
		args    string
		svc     ipvs.Service
		dest    ipvs.Destination
		wantErr string
	}{
		{
			args: "-t 192.0.2.10:80 -r 192.0.2.15",
			svc:  ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP, Address: netip.MustParseAddr("192.0.2.10"), Port: 80},
			dest: ipvs.Destination{Family: ipvs.IPv4, Address: netip.MustParseAddr("192.0.2.15"), Port: 80},
		},
		{
			args: "-r 192.0.2.15:8080 --udp-service 192.0.2.10:53",
			svc:  ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.UDP, Address: netip.MustParseAddr("192.0.2.10"), Port: 53},
			dest: ipvs.Destination{Family: ipvs.IPv4, Address: netip.MustParseAddr("192.0.2.15"), Port: 8080},
		},
		{
			args: "-f 1 -6 -r [2001:db8::1]:0",
			svc:  ipvs.Service{Family: ipvs.IPv6, FWMark: 1},
			dest: ipvs.Destination{Family: ipvs.IPv6, Address: netip.MustParseAddr("2001:db8::1")},
		},
		{
			args: "--sctp-service [2001:db8::10]:5060 -r 2001:db8::2",
			svc:  ipvs.Service{Family: ipvs.IPv6, Protocol: ipvs.SCTP, Address: netip.MustParseAddr("2001:db8::10"), Port: 5060},
			dest: ipvs.Destination{Family: ipvs.IPv6, Address: netip.MustParseAddr("2001:db8::2"), Port: 5060},
		},
		{
			args: "-t 192.0.2.10:http -r 192.0.2.15",
			svc:  ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP, Address: netip.MustParseAddr("192.0.2.10"), Port: 80},
			dest: ipvs.Destination{Family: ipvs.IPv4, Address: netip.MustParseAddr("192.0.2.15"), Port: 80},
		},
		{args: "-t 192.0.2.10:80", wantErr: "You need to supply the 'real-server' option for the 'drain' command"},
		{args: "-r 192.0.2.15", wantErr: "You need to supply the 'service-address' option for the 'drain' command"},
		{args: "-t 192.0.2.10:80 -r 192.0.2.15 -w 3", wantErr: "Illegal 'weight' option with the 'drain' command"},
		{args: "-t nosuchhost:80 -r 192.0.2.15", wantErr: "illegal virtual server address[:port] specified"},
		{args: "-t 192.0.2.10:80 -r 192.0.2.15 extra", wantErr: "unexpected argument extra"},
		{args: "-t 192.0.2.10:80 -r 192.0.2.15 --bogus", wantErr: "--bogus: unknown option"},
		{args: "-6 -f 1 -r 192.0.2.15", wantErr: "-6 used before -f"},
	}
	for _, tt := range tests {
		svc, dest, err := ParseRealServer(fakeNames{}, "drain", strings.Fields(tt.args))
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%s: error %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.args, err)
			continue
		}
		if svc != tt.svc || dest != tt.dest {
			t.Errorf("%s:\n got %+v %+v\nwant %+v %+v", tt.args, svc, dest, tt.svc, tt.dest)
		}
	}
}

// TestRealServerHook checks which commands are offered to Env.RealServer
// and what happens for each answer.
func TestRealServerHook(t *testing.T) {
	run := func(k *ipvstest.Kernel, hook RealServerFunc, stdin string, args ...string) (string, int) {
		var out, errb bytes.Buffer
		env := Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
			Open: func() (Kernel, error) { return k, nil }, Names: fakeNames{}, RealServer: hook}
		code := Run(context.Background(), env, append([]string{"ipvsadm"}, args...))
		return out.String() + errb.String(), code
	}
	var got []RealServerChange
	handle := func(handled bool, err error) RealServerFunc {
		return func(_ context.Context, c RealServerChange) (bool, error) {
			got = append(got, c)
			return handled, err
		}
	}
	k := ipvstest.NewKernel()
	mustRun(t, k, "-A", "-t", "192.0.2.10:80")
	calls := len(k.Changes())

	// Handled: the kernel is not touched, nothing is printed.
	out, code := run(k, handle(true, nil), "", "-a", "-t", "192.0.2.10:80", "-r", "192.0.2.15:8080", "-w", "5")
	if n := len(k.Changes()) - calls; code != 0 || out != "" || n != 0 {
		t.Fatalf("handled -a: exit %d, output %q, kernel calls %d", code, out, n)
	}
	want := RealServerChange{Op: ipvs.Add,
		Service:     ipvs.Service{Family: ipvs.IPv4, Protocol: ipvs.TCP, Address: netip.MustParseAddr("192.0.2.10"), Port: 80},
		Destination: ipvs.Destination{Family: ipvs.IPv4, Address: netip.MustParseAddr("192.0.2.15"), Port: 8080, ForwardMethod: ipvs.Route, Weight: 5},
		HasWeight:   true}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("offered %+v\nwant %+v", got, want)
	}

	// Handled with an error: printed like a kernel error, exit 255.
	out, code = run(k, handle(true, errors.New("real server 192.0.2.15:80 is not in TCP 192.0.2.10:80")), "",
		"-e", "-t", "192.0.2.10:80", "-r", "192.0.2.15", "-m", "-x", "10", "-y", "5")
	if code != 255 || out != "real server 192.0.2.15:80 is not in TCP 192.0.2.10:80\n" {
		t.Fatalf("failed -e: exit %d, output %q", code, out)
	}
	if c := got[1]; c.Op != ipvs.Edit || !c.HasForward || !c.HasUpperThreshold || !c.HasLowerThreshold || c.HasWeight ||
		c.Destination.ForwardMethod != ipvs.Masq || c.Destination.UpperThreshold != 10 {
		t.Fatalf("offered %+v", c)
	}

	dests := func() []ipvs.DestinationEntry {
		ds, _ := k.Destinations(context.Background(), want.Service)
		return ds
	}

	// Not handled: the kernel as ipvsadm.
	out, code = run(k, handle(false, nil), "", "-a", "-t", "192.0.2.10:80", "-r", "192.0.2.15")
	if code != 0 || out != "" || len(dests()) != 1 {
		t.Fatalf("unhandled -a: exit %d, output %q, destinations %+v", code, out, dests())
	}
	out, code = run(k, handle(false, nil), "", "-d", "-t", "192.0.2.10:80", "-r", "192.0.2.15")
	if code != 0 || out != "" || len(dests()) != 0 || got[3].Op != ipvs.Delete {
		t.Fatalf("unhandled -d: exit %d, output %q, destinations %+v", code, out, dests())
	}

	// Only -a/-e/-d on the command line are offered: not -A, -L, nor -R's lines.
	n := len(got)
	run(k, handle(true, nil), "", "-A", "-t", "192.0.2.11:80")
	run(k, handle(true, nil), "", "-L", "-n")
	out, code = run(k, handle(true, nil), "-a -t 192.0.2.10:80 -r 192.0.2.16\n", "-R")
	if len(got) != n || code != 0 || len(dests()) != 1 {
		t.Fatalf("offered %d more, -R exit %d %q", len(got)-n, code, out)
	}
	// A parse error stops before the hook.
	out, code = run(k, handle(true, nil), "", "-a", "-t", "192.0.2.10:80")
	if len(got) != n || code != 2 {
		t.Fatalf("offered %d more, exit %d %q", len(got)-n, code, out)
	}
}
