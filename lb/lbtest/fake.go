// Package lbtest provides an in-memory IPVS kernel for tests of code that
// drives lb.Engine (or any ipvs reconciler) without root or a VM.
package lbtest

import (
	"context"
	"errors"
	"net/netip"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/lbd-project/lbd/ipvs"
)

// FakeKernel is an IPVS table in memory. It implements lb.Kernel and
// lb.GlobalKernel, answers like the kernel does (EEXIST, ESRCH, ENOENT),
// counts the requests applied, and can be told to fail changes. It is safe
// for concurrent use.
type FakeKernel struct {
	mu    sync.Mutex
	svcs  map[ipvs.ServiceKey]*fakeService
	conns map[connKey]uint32

	timeouts  ipvs.Timeouts
	daemons   map[ipvs.DaemonState]ipvs.SyncDaemon
	sloppyTCP bool

	messages int
	plans    []ipvs.Plan
	// fail, when set, decides per change whether it fails and with what.
	fail func(ipvs.Change) error
}

type fakeService struct {
	svc   ipvs.Service
	dests map[netip.AddrPort]ipvs.Destination
}

type connKey struct {
	svc  ipvs.ServiceKey
	dest netip.AddrPort
}

// NewFakeKernel returns an empty table.
func NewFakeKernel() *FakeKernel {
	return &FakeKernel{svcs: map[ipvs.ServiceKey]*fakeService{}, conns: map[connKey]uint32{},
		daemons: map[ipvs.DaemonState]ipvs.SyncDaemon{}}
}

// Dump implements lb.Kernel.
func (k *FakeKernel) Dump(ctx context.Context) (ipvs.Table, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var t ipvs.Table
	for key := range k.svcs {
		t.Services = append(t.Services, k.entry(key))
	}
	t.Sort()
	return t, nil
}

// DumpServices implements lb.Kernel.
func (k *FakeKernel) DumpServices(ctx context.Context, svcs ...ipvs.Service) (ipvs.Table, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var t ipvs.Table
	for _, s := range svcs {
		if _, ok := k.svcs[s.Key()]; ok {
			t.Services = append(t.Services, k.entry(s.Key()))
		}
	}
	t.Sort()
	return t, nil
}

func (k *FakeKernel) entry(key ipvs.ServiceKey) ipvs.ServiceEntry {
	s := k.svcs[key]
	e := ipvs.ServiceEntry{Service: s.svc}
	for ap, d := range s.dests {
		e.Destinations = append(e.Destinations, ipvs.DestinationEntry{Destination: d, ActiveConns: k.conns[connKey{key, ap}]})
	}
	return e
}

// Apply implements lb.Kernel: it makes the changes in order, as the kernel
// does, carrying on after a failed one.
func (k *FakeKernel) Apply(ctx context.Context, p ipvs.Plan) (ipvs.ApplyResult, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	res := ipvs.ApplyResult{Results: make([]ipvs.ChangeResult, len(p.Changes))}
	var errs []error
	for i, ch := range p.Changes {
		res.Results[i].Change = ch
		err := k.apply(ch)
		if err != nil {
			err = &ipvs.OpError{Op: ch.Op.String(), Object: ch.String(), Err: err}
			errs = append(errs, err)
		}
		res.Results[i].Err = err
	}
	res.Messages = len(p.Changes)
	if len(p.Changes) > 0 {
		res.Batches = 1
		k.plans = append(k.plans, p)
	}
	k.messages += len(p.Changes)
	if len(errs) > 0 {
		return res, &ipvs.ApplyError{Failed: len(errs), Total: len(p.Changes), Errs: errs}
	}
	return res, nil
}

func (k *FakeKernel) apply(ch ipvs.Change) error {
	if k.fail != nil {
		if err := k.fail(ch); err != nil {
			return err
		}
	}
	key := ch.Service.Key()
	s := k.svcs[key]
	if ch.Destination == nil {
		switch ch.Op {
		case ipvs.Add:
			if s != nil {
				return unix.EEXIST
			}
			if err := ch.Service.Validate(); err != nil {
				return err
			}
			k.svcs[key] = &fakeService{svc: ch.Service, dests: map[netip.AddrPort]ipvs.Destination{}}
		case ipvs.Edit:
			if s == nil {
				return unix.ESRCH
			}
			s.svc = ch.Service
		case ipvs.Delete:
			if s == nil {
				return unix.ESRCH
			}
			delete(k.svcs, key)
		}
		return nil
	}
	if s == nil {
		return unix.ESRCH
	}
	d := *ch.Destination
	ap := netip.AddrPortFrom(d.Address, d.Port)
	_, exists := s.dests[ap]
	switch ch.Op {
	case ipvs.Add:
		if exists {
			return unix.EEXIST
		}
		if err := d.Validate(ch.Service); err != nil {
			return err
		}
		s.dests[ap] = d
	case ipvs.Edit:
		if !exists {
			return unix.ENOENT
		}
		s.dests[ap] = d
	case ipvs.Delete:
		if !exists {
			return unix.ENOENT
		}
		delete(s.dests, ap)
		delete(k.conns, connKey{key, ap})
	}
	return nil
}

// Load replaces the table, as if another program had programmed it.
func (k *FakeKernel) Load(t ipvs.Table) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.svcs = map[ipvs.ServiceKey]*fakeService{}
	for _, e := range t.Services {
		s := &fakeService{svc: e.Service, dests: map[netip.AddrPort]ipvs.Destination{}}
		for _, d := range e.Destinations {
			s.dests[netip.AddrPortFrom(d.Address, d.Port)] = d.Destination
		}
		k.svcs[e.Key()] = s
	}
}

// Messages counts the requests applied since the start or ResetCounters.
func (k *FakeKernel) Messages() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.messages
}

// Plans returns the non-empty plans applied since the start or
// ResetCounters, in order.
func (k *FakeKernel) Plans() []ipvs.Plan {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]ipvs.Plan(nil), k.plans...)
}

// ResetCounters forgets the messages and plans seen so far.
func (k *FakeKernel) ResetCounters() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.messages, k.plans = 0, nil
}

// FailWith makes every change for which fn returns an error fail with
// it; nil restores normal operation.
func (k *FakeKernel) FailWith(fn func(ipvs.Change) error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.fail = fn
}

// SetActiveConns sets the active connection count the kernel reports for
// a destination of a service.
func (k *FakeKernel) SetActiveConns(svc ipvs.ServiceKey, dest netip.AddrPort, n uint32) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.conns[connKey{svc, dest}] = n
}

// Timeouts implements lb.GlobalKernel.
func (k *FakeKernel) Timeouts(ctx context.Context) (ipvs.Timeouts, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.timeouts, nil
}

// SetTimeouts implements lb.GlobalKernel; zero fields stay unchanged.
func (k *FakeKernel) SetTimeouts(ctx context.Context, t ipvs.Timeouts) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if t.TCP != 0 {
		k.timeouts.TCP = t.TCP
	}
	if t.TCPFin != 0 {
		k.timeouts.TCPFin = t.TCPFin
	}
	if t.UDP != 0 {
		k.timeouts.UDP = t.UDP
	}
	return nil
}

// SyncDaemons implements lb.GlobalKernel.
func (k *FakeKernel) SyncDaemons(ctx context.Context) ([]ipvs.SyncDaemon, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []ipvs.SyncDaemon
	for _, st := range []ipvs.DaemonState{ipvs.Master, ipvs.Backup} {
		if d, ok := k.daemons[st]; ok {
			out = append(out, d)
		}
	}
	return out, nil
}

// StartSyncDaemon implements lb.GlobalKernel.
func (k *FakeKernel) StartSyncDaemon(ctx context.Context, d ipvs.SyncDaemon) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.daemons[d.State]; ok {
		return errors.Join(unix.EEXIST)
	}
	k.daemons[d.State] = d
	return nil
}

// StopSyncDaemon implements lb.GlobalKernel.
func (k *FakeKernel) StopSyncDaemon(ctx context.Context, st ipvs.DaemonState) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.daemons[st]; !ok {
		return unix.ESRCH
	}
	delete(k.daemons, st)
	return nil
}

// SloppyTCP implements lb.GlobalKernel.
func (k *FakeKernel) SloppyTCP() (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.sloppyTCP, nil
}

// SetSloppyTCP implements lb.GlobalKernel.
func (k *FakeKernel) SetSloppyTCP(on bool) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.sloppyTCP = on
	return nil
}
