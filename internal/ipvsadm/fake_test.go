package ipvsadm

import (
	"bufio"
	"context"
	"net/netip"
	"slices"
	"strings"
	"syscall"

	"github.com/lbd-project/lbd/ipvs"
)

// fakeKernel is an in-memory IPVS with the kernel's errnos, in insertion
// order (the kernel's hash order is as arbitrary).
type fakeKernel struct {
	svcs     []ipvs.ServiceEntry
	timeouts ipvs.Timeouts
	daemons  []ipvs.SyncDaemon
	applied  []ipvs.Plan
	calls    int
}

func newFake() *fakeKernel {
	return &fakeKernel{timeouts: ipvs.Timeouts{TCP: 900e9, TCPFin: 120e9, UDP: 300e9}}
}

func (f *fakeKernel) find(s ipvs.Service) int {
	return slices.IndexFunc(f.svcs, func(e ipvs.ServiceEntry) bool { return e.Key() == s.Key() })
}

func (f *fakeKernel) Info(context.Context) (ipvs.Info, error) {
	return ipvs.Info{Version: ipvs.Version{Major: 1, Minor: 2, Patch: 1}, ConnTableSize: 4096}, nil
}

func (f *fakeKernel) Services(context.Context) ([]ipvs.ServiceEntry, error) {
	out := make([]ipvs.ServiceEntry, len(f.svcs))
	for i, s := range f.svcs {
		s.Destinations = nil
		out[i] = s
	}
	return out, nil
}

func (f *fakeKernel) Destinations(_ context.Context, s ipvs.Service) ([]ipvs.DestinationEntry, error) {
	i := f.find(s)
	if i < 0 {
		return nil, syscall.ESRCH
	}
	return slices.Clone(f.svcs[i].Destinations), nil
}

func (f *fakeKernel) Dump(ctx context.Context) (ipvs.Table, error) {
	var t ipvs.Table
	for _, s := range f.svcs {
		s.Destinations = slices.Clone(s.Destinations)
		t.Services = append(t.Services, s)
	}
	t.Sort()
	return t, nil
}

func (f *fakeKernel) NewService(_ context.Context, s ipvs.Service) error {
	f.calls++
	if err := s.Validate(); err != nil {
		return err
	}
	if f.find(s) >= 0 {
		return syscall.EEXIST
	}
	f.svcs = append(f.svcs, ipvs.ServiceEntry{Service: s})
	return nil
}

func (f *fakeKernel) UpdateService(_ context.Context, s ipvs.Service) error {
	f.calls++
	i := f.find(s)
	if i < 0 {
		return syscall.ESRCH
	}
	f.svcs[i].Service = s
	return nil
}

func (f *fakeKernel) DeleteService(_ context.Context, s ipvs.Service) error {
	f.calls++
	i := f.find(s)
	if i < 0 {
		return syscall.ESRCH
	}
	f.svcs = slices.Delete(f.svcs, i, i+1)
	return nil
}

func (f *fakeKernel) destIndex(s ipvs.Service, d ipvs.Destination) (int, int) {
	i := f.find(s)
	if i < 0 {
		return -1, -1
	}
	k := netip.AddrPortFrom(d.Address, d.Port)
	return i, slices.IndexFunc(f.svcs[i].Destinations, func(e ipvs.DestinationEntry) bool {
		return netip.AddrPortFrom(e.Address, e.Port) == k
	})
}

func (f *fakeKernel) NewDestination(_ context.Context, s ipvs.Service, d ipvs.Destination) error {
	f.calls++
	i, j := f.destIndex(s, d)
	switch {
	case i < 0:
		return syscall.ESRCH
	case j >= 0:
		return syscall.EEXIST
	}
	f.svcs[i].Destinations = append(f.svcs[i].Destinations, ipvs.DestinationEntry{Destination: d})
	return nil
}

func (f *fakeKernel) UpdateDestination(_ context.Context, s ipvs.Service, d ipvs.Destination) error {
	f.calls++
	i, j := f.destIndex(s, d)
	switch {
	case i < 0:
		return syscall.ESRCH
	case j < 0:
		return syscall.ENOENT
	}
	f.svcs[i].Destinations[j].Destination = d
	return nil
}

func (f *fakeKernel) DeleteDestination(_ context.Context, s ipvs.Service, d ipvs.Destination) error {
	f.calls++
	i, j := f.destIndex(s, d)
	switch {
	case i < 0:
		return syscall.ESRCH
	case j < 0:
		return syscall.ENOENT
	}
	f.svcs[i].Destinations = slices.Delete(f.svcs[i].Destinations, j, j+1)
	return nil
}

func (f *fakeKernel) Apply(ctx context.Context, p ipvs.Plan) (ipvs.ApplyResult, error) {
	f.applied = append(f.applied, p)
	res := ipvs.ApplyResult{}
	var errs []error
	for _, c := range p.Changes {
		var err error
		switch {
		case c.Destination == nil && c.Op == ipvs.Add:
			err = f.NewService(ctx, c.Service)
		case c.Destination == nil && c.Op == ipvs.Edit:
			err = f.UpdateService(ctx, c.Service)
		case c.Destination == nil:
			err = f.DeleteService(ctx, c.Service)
		case c.Op == ipvs.Add:
			err = f.NewDestination(ctx, c.Service, *c.Destination)
		case c.Op == ipvs.Edit:
			err = f.UpdateDestination(ctx, c.Service, *c.Destination)
		default:
			err = f.DeleteDestination(ctx, c.Service, *c.Destination)
		}
		res.Results = append(res.Results, ipvs.ChangeResult{Change: c, Err: err})
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return res, &ipvs.ApplyError{Failed: len(errs), Total: len(p.Changes), Errs: errs}
	}
	return res, nil
}

func (f *fakeKernel) Flush(context.Context) error { f.calls++; f.svcs = nil; return nil }
func (f *fakeKernel) Zero(context.Context) error  { return nil }
func (f *fakeKernel) ZeroService(_ context.Context, s ipvs.Service) error {
	if f.find(s) < 0 {
		return syscall.ESRCH
	}
	return nil
}
func (f *fakeKernel) Timeouts(context.Context) (ipvs.Timeouts, error) { return f.timeouts, nil }
func (f *fakeKernel) SetTimeouts(_ context.Context, t ipvs.Timeouts) error {
	if t.TCP != 0 {
		f.timeouts.TCP = t.TCP
	}
	if t.TCPFin != 0 {
		f.timeouts.TCPFin = t.TCPFin
	}
	if t.UDP != 0 {
		f.timeouts.UDP = t.UDP
	}
	return nil
}
func (f *fakeKernel) SyncDaemons(context.Context) ([]ipvs.SyncDaemon, error) { return f.daemons, nil }
func (f *fakeKernel) StartSyncDaemon(_ context.Context, d ipvs.SyncDaemon) error {
	for _, x := range f.daemons {
		if x.State == d.State {
			return syscall.EEXIST
		}
	}
	f.daemons = append(f.daemons, d)
	return nil
}
func (f *fakeKernel) StopSyncDaemon(_ context.Context, s ipvs.DaemonState) error {
	for i, x := range f.daemons {
		if x.State == s {
			f.daemons = slices.Delete(f.daemons, i, i+1)
			return nil
		}
	}
	return syscall.ESRCH
}

// fakeNames resolves from fixed tables.
type fakeNames struct{}

func (fakeNames) HostToAddr(name string) (netip.Addr, bool) {
	if name == "vip1" {
		return netip.MustParseAddr("10.0.0.1"), true
	}
	return netip.Addr{}, false
}

func (fakeNames) AddrToHost(a netip.Addr) (string, bool) {
	switch a.String() {
	case "10.0.0.1":
		return "vip1.example.org", true
	case "10.0.1.2":
		return "a-very-long-real-server-name.example.org", true
	}
	return "", false
}

func (fakeNames) ServiceToPort(name, proto string) (uint16, bool) {
	if name == "http" && proto == "tcp" {
		return 80, true
	}
	return 0, false
}

func (fakeNames) PortToService(port uint16, proto string) (string, bool) {
	if port == 80 && proto == "tcp" {
		return "http", true
	}
	return "", false
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }
