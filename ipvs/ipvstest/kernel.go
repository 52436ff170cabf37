// Package ipvstest provides an in-memory IPVS kernel for tests of code that
// drives an *ipvs.Client (lb.Engine, ipvsadm, ipvsctl) without root or a VM.
package ipvstest

import (
	"cmp"
	"context"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lbd-project/lbd/ipvs"
)

// Kernel is an IPVS table in memory with the methods of *ipvs.Client that
// its consumers use, so it satisfies lb.Kernel, lb.GlobalKernel and
// ipvsadm.Kernel. It answers as the kernel does: the same errnos (EEXIST,
// ESRCH, ENOENT) wrapped in *ipvs.OpError; each service's destinations in
// the kernel's list order, where an added destination goes to the head
// (ip_vs_ctl.c, __ip_vs_update_dest: list_add_rcu(&dest->n_list,
// &svc->destinations)), so they are listed newest first, as ipvsadm shows
// them and as the schedulers mh and sh walk them, with their Position set
// as Client's dumps do; and a plan with an invalid change is refused whole,
// like Client.Apply. Services are listed in the order they were added (the
// kernel lists them in the order of its hash table, on which no caller
// relies). It records the change requests it sees and can be told to fail
// some. It is safe for concurrent use.
type Kernel struct {
	mu    sync.Mutex
	svcs  map[ipvs.ServiceKey]*service
	order []ipvs.ServiceKey // services in the order they were added
	conns map[connKey]uint32

	timeouts  ipvs.Timeouts
	daemons   map[ipvs.DaemonState]ipvs.SyncDaemon
	sloppyTCP bool

	changes []ipvs.Change
	plans   []ipvs.Plan
	// fail, when set, decides per change whether it fails and with what.
	fail func(ipvs.Change) error
	// settingErr, when set, fails every change of a global setting, the
	// way a read-only /proc/sys fails sloppy_tcp.
	settingErr error
}

type service struct {
	svc   ipvs.Service
	dests []ipvs.Destination // in list order: the last added first
}

type connKey struct {
	svc  ipvs.ServiceKey
	dest netip.AddrPort
}

// errNotSent is what the changes of a refused plan fail with.
var errNotSent = errors.New("not sent")

// NewKernel returns an empty table with the kernel's default timeouts.
func NewKernel() *Kernel {
	return &Kernel{
		svcs:     map[ipvs.ServiceKey]*service{},
		conns:    map[connKey]uint32{},
		timeouts: ipvs.Timeouts{TCP: 900 * time.Second, TCPFin: 120 * time.Second, UDP: 300 * time.Second},
		daemons:  map[ipvs.DaemonState]ipvs.SyncDaemon{},
	}
}

// Load replaces the table, as if another program had programmed it; the
// services keep t's order, and each service's list is its destinations
// in the order of their Position, then as given.
func (k *Kernel) Load(t ipvs.Table) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.svcs, k.order = map[ipvs.ServiceKey]*service{}, nil
	for _, e := range t.Services {
		s := &service{svc: e.Service}
		ds := slices.Clone(e.Destinations)
		slices.SortStableFunc(ds, func(a, b ipvs.DestinationEntry) int { return cmp.Compare(a.Position, b.Position) })
		for _, d := range ds {
			s.dests = append(s.dests, d.Destination)
		}
		k.svcs[e.Key()] = s
		k.order = append(k.order, e.Key())
	}
}

// Info reports IPVS 1.2.1 with the default connection table size, as
// current kernels do.
func (k *Kernel) Info(context.Context) (ipvs.Info, error) {
	return ipvs.Info{Version: ipvs.Version{Major: 1, Minor: 2, Patch: 1}, ConnTableSize: 4096}, nil
}

// Services lists the services without destinations, in the order they
// were added.
func (k *Kernel) Services(context.Context) ([]ipvs.ServiceEntry, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]ipvs.ServiceEntry, 0, len(k.order))
	for _, key := range k.order {
		out = append(out, ipvs.ServiceEntry{Service: k.svcs[key].svc})
	}
	return out, nil
}

// Destinations lists the destinations of svc in list order, the last added
// first; like the kernel's dump, a service that does not exist has none.
func (k *Kernel) Destinations(_ context.Context, svc ipvs.Service) ([]ipvs.DestinationEntry, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.svcs[svc.Key()]; !ok {
		return nil, nil
	}
	return k.entry(svc.Key()).Destinations, nil
}

// Dump returns the whole table, sorted like Client.Dump's.
func (k *Kernel) Dump(context.Context) (ipvs.Table, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var t ipvs.Table
	for _, key := range k.order {
		t.Services = append(t.Services, k.entry(key))
	}
	t.Sort()
	return t, nil
}

// DumpServices returns the table restricted to svcs; missing services are
// left out.
func (k *Kernel) DumpServices(_ context.Context, svcs ...ipvs.Service) (ipvs.Table, error) {
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

func (k *Kernel) entry(key ipvs.ServiceKey) ipvs.ServiceEntry {
	s := k.svcs[key]
	e := ipvs.ServiceEntry{Service: s.svc}
	for i, d := range s.dests {
		e.Destinations = append(e.Destinations, ipvs.DestinationEntry{Destination: d, ActiveConns: k.conns[connKey{key, addrPort(d)}], Position: i})
	}
	return e
}

// NewService adds a virtual service.
func (k *Kernel) NewService(_ context.Context, svc ipvs.Service) error {
	return k.single(ipvs.Change{Op: ipvs.Add, Service: svc})
}

// UpdateService changes the settings of an existing service.
func (k *Kernel) UpdateService(_ context.Context, svc ipvs.Service) error {
	return k.single(ipvs.Change{Op: ipvs.Edit, Service: svc})
}

// DeleteService removes a service and its destinations.
func (k *Kernel) DeleteService(_ context.Context, svc ipvs.Service) error {
	return k.single(ipvs.Change{Op: ipvs.Delete, Service: svc})
}

// NewDestination adds a destination to svc, at the head of its list.
func (k *Kernel) NewDestination(_ context.Context, svc ipvs.Service, d ipvs.Destination) error {
	return k.single(ipvs.Change{Op: ipvs.Add, Service: svc, Destination: &d})
}

// UpdateDestination changes a destination of svc in place.
func (k *Kernel) UpdateDestination(_ context.Context, svc ipvs.Service, d ipvs.Destination) error {
	return k.single(ipvs.Change{Op: ipvs.Edit, Service: svc, Destination: &d})
}

// DeleteDestination removes a destination from svc.
func (k *Kernel) DeleteDestination(_ context.Context, svc ipvs.Service, d ipvs.Destination) error {
	return k.single(ipvs.Change{Op: ipvs.Delete, Service: svc, Destination: &d})
}

// single validates and makes one change, as Client's single changes do.
func (k *Kernel) single(ch ipvs.Change) error {
	if err := validate(ch); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.change(ch)
}

// Apply makes the changes of p like Client.Apply: nothing if any change is
// invalid, otherwise every change in order, carrying on after a failed one.
func (k *Kernel) Apply(_ context.Context, p ipvs.Plan) (ipvs.ApplyResult, error) {
	res := ipvs.ApplyResult{Results: make([]ipvs.ChangeResult, len(p.Changes))}
	var invalid []error
	for i, ch := range p.Changes {
		res.Results[i].Change = ch
		if err := validate(ch); err != nil {
			res.Results[i].Err = err
			invalid = append(invalid, err)
		}
	}
	if len(invalid) > 0 {
		for i, r := range res.Results {
			if r.Err == nil {
				res.Results[i].Err = opError(r.Change, errNotSent)
			}
		}
		return res, &ipvs.ApplyError{Failed: len(invalid), Total: len(p.Changes), Errs: invalid}
	}
	if len(p.Changes) == 0 {
		return res, nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.plans = append(k.plans, p)
	var errs []error
	for i, ch := range p.Changes {
		if err := k.change(ch); err != nil {
			res.Results[i].Err = err
			errs = append(errs, err)
		}
	}
	res.Messages, res.Batches = len(p.Changes), 1
	if len(errs) > 0 {
		return res, &ipvs.ApplyError{Failed: len(errs), Total: len(p.Changes), Errs: errs}
	}
	return res, nil
}

// validate checks what Client checks before sending a change.
func validate(ch ipvs.Change) error {
	switch {
	case ch.Op == ipvs.Delete:
		return nil
	case ch.Destination != nil:
		return ch.Destination.Validate(ch.Service)
	}
	return ch.Service.Validate()
}

// change records ch and makes it, answering with the kernel's errno.
func (k *Kernel) change(ch ipvs.Change) error {
	k.changes = append(k.changes, ch)
	if k.fail != nil {
		if err := k.fail(ch); err != nil {
			return opError(ch, err)
		}
	}
	if err := k.make(ch); err != 0 {
		return opError(ch, err)
	}
	return nil
}

func (k *Kernel) make(ch ipvs.Change) unix.Errno {
	key := ch.Service.Key()
	s := k.svcs[key]
	if ch.Destination == nil {
		switch {
		case ch.Op == ipvs.Add && s != nil:
			return unix.EEXIST
		case ch.Op == ipvs.Add:
			k.svcs[key] = &service{svc: ch.Service}
			k.order = append(k.order, key)
		case s == nil:
			return unix.ESRCH
		case ch.Op == ipvs.Edit:
			s.svc = ch.Service
		default:
			for _, d := range s.dests {
				delete(k.conns, connKey{key, addrPort(d)})
			}
			delete(k.svcs, key)
			k.order = slices.DeleteFunc(k.order, func(o ipvs.ServiceKey) bool { return o == key })
		}
		return 0
	}
	if s == nil {
		return unix.ESRCH
	}
	ap := addrPort(*ch.Destination)
	i := slices.IndexFunc(s.dests, func(d ipvs.Destination) bool { return addrPort(d) == ap })
	switch {
	case ch.Op == ipvs.Add && i >= 0:
		return unix.EEXIST
	case ch.Op == ipvs.Add:
		s.dests = slices.Insert(s.dests, 0, *ch.Destination)
	case i < 0:
		return unix.ENOENT
	case ch.Op == ipvs.Edit:
		s.dests[i] = *ch.Destination
	default:
		s.dests = slices.Delete(s.dests, i, i+1)
		delete(k.conns, connKey{key, ap})
	}
	return 0
}

func addrPort(d ipvs.Destination) netip.AddrPort { return netip.AddrPortFrom(d.Address, d.Port) }

// opError names the change as Client's errors do.
func opError(ch ipvs.Change, err error) error {
	if ch.Destination == nil {
		return &ipvs.OpError{Op: ch.Op.String() + " service", Object: ch.Service.String(), Err: err}
	}
	prep := map[ipvs.ChangeOp]string{ipvs.Add: " to ", ipvs.Edit: " in ", ipvs.Delete: " from "}[ch.Op]
	return &ipvs.OpError{Op: ch.Op.String() + " destination", Object: ch.Destination.String() + prep + ch.Service.String(), Err: err}
}

// Flush removes every service and destination.
func (k *Kernel) Flush(context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.svcs, k.order, k.conns = map[ipvs.ServiceKey]*service{}, nil, map[connKey]uint32{}
	return nil
}

// Zero resets the counters, of which the fake keeps none.
func (k *Kernel) Zero(context.Context) error { return nil }

// ZeroService resets the counters of svc, which must exist.
func (k *Kernel) ZeroService(_ context.Context, svc ipvs.Service) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.svcs[svc.Key()]; !ok {
		return &ipvs.OpError{Op: "zero", Object: svc.String(), Err: unix.ESRCH}
	}
	return nil
}

// Changes returns the change requests made since the start or ResetLog,
// single or in plans, failed ones included, in order.
func (k *Kernel) Changes() []ipvs.Change {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.changes)
}

// Plans returns the non-empty plans applied since the start or ResetLog,
// in order.
func (k *Kernel) Plans() []ipvs.Plan {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.plans)
}

// ResetLog forgets the changes and plans seen so far.
func (k *Kernel) ResetLog() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.changes, k.plans = nil, nil
}

// FailWith makes every change for which fn returns an error fail with
// it; nil restores normal operation.
func (k *Kernel) FailWith(fn func(ipvs.Change) error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.fail = fn
}

// SetActiveConns sets the active connection count the kernel reports for
// a destination of a service, until that destination is deleted.
func (k *Kernel) SetActiveConns(svc ipvs.ServiceKey, dest netip.AddrPort, n uint32) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.conns[connKey{svc, dest}] = n
}

// Timeouts returns the connection timeouts.
func (k *Kernel) Timeouts(context.Context) (ipvs.Timeouts, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.timeouts, nil
}

// SetTimeouts sets the connection timeouts; zero fields stay unchanged.
func (k *Kernel) SetTimeouts(_ context.Context, t ipvs.Timeouts) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.settingErr != nil {
		return k.settingErr
	}
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

// SyncDaemons lists the running sync daemons, master first as the kernel
// does.
func (k *Kernel) SyncDaemons(context.Context) ([]ipvs.SyncDaemon, error) {
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

// StartSyncDaemon starts a master or backup sync daemon.
func (k *Kernel) StartSyncDaemon(_ context.Context, d ipvs.SyncDaemon) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.daemons[d.State]; ok {
		return &ipvs.OpError{Op: "start", Object: d.State.String() + " sync daemon", Err: unix.EEXIST}
	}
	k.daemons[d.State] = d
	return nil
}

// StopSyncDaemon stops the master or backup sync daemon.
func (k *Kernel) StopSyncDaemon(_ context.Context, st ipvs.DaemonState) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.daemons[st]; !ok {
		return &ipvs.OpError{Op: "stop", Object: st.String() + " sync daemon", Err: unix.ESRCH}
	}
	delete(k.daemons, st)
	return nil
}

// SloppyTCP reports the net.ipv4.vs.sloppy_tcp setting.
func (k *Kernel) SloppyTCP() (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.sloppyTCP, nil
}

// SetSloppyTCP sets net.ipv4.vs.sloppy_tcp.
func (k *Kernel) SetSloppyTCP(on bool) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.settingErr != nil {
		return k.settingErr
	}
	k.sloppyTCP = on
	return nil
}

// FailSettings makes every change of a global setting (timeouts, sloppy
// TCP) fail with err; nil restores normal operation.
func (k *Kernel) FailSettings(err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.settingErr = err
}
