package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// State is the state of an [Instance] (RFC 5798 section 6.4, plus
// keepalived's Fault).
type State uint8

// Instance states.
const (
	StateInit   State = iota // Initialize: not started, or shut down
	StateBackup              // monitoring the Master
	StateMaster              // owning the virtual addresses
	StateFault               // a tracked object failed; no adverts, no addresses
)

// String returns the keepalived spelling of the state.
func (s State) String() string {
	switch s {
	case StateInit:
		return "INIT"
	case StateBackup:
		return "BACKUP"
	case StateMaster:
		return "MASTER"
	case StateFault:
		return "FAULT"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Cause says why an instance changed state. Every [Transition] carries one.
type Cause uint8

// Causes of transitions.
const (
	CauseStartup           Cause = iota // Startup event (to Backup)
	CauseOwner                          // priority 255: the address owner is Master at once
	CauseMasterDown                     // Master_Down_Timer expired: no advert from a Master
	CausePriorityZero                   // the Master sent priority 0 and the timer (Skew_Time) expired
	CausePreempt                        // we preempted a lower-priority Master
	CauseHigherPriority                 // an advert with a higher priority arrived while Master
	CauseTieBreak                       // an advert with our priority from a higher address arrived while Master
	CauseFault                          // a tracked object or fault source failed
	CauseRecover                        // every fault cleared
	CauseShutdown                       // Shutdown event
	CauseSyncGroup                      // another member of the sync group moved
	CauseMasterUnreachable              // the Master stopped answering a liveness probe and Skew_Time expired
)

var causeNames = [...]string{
	CauseStartup:        "startup",
	CauseOwner:          "address owner",
	CauseMasterDown:     "master down timer expired",
	CausePriorityZero:   "master sent priority 0",
	CausePreempt:        "preempted lower priority master",
	CauseHigherPriority: "higher priority advert",
	CauseTieBreak:       "equal priority advert from higher address",
	CauseFault:          "fault",
	CauseRecover:        "fault cleared",
	CauseShutdown:       "shutdown",
	CauseSyncGroup:      "sync group",

	CauseMasterUnreachable: "master unreachable",
}

// String describes the cause in words.
func (c Cause) String() string {
	if int(c) < len(causeNames) {
		return causeNames[c]
	}
	return fmt.Sprintf("Cause(%d)", uint8(c))
}

// Config configures one VRRP instance (one virtual router on one link).
// The zero values of the boolean knobs are keepalived's defaults and the
// DESIGN defaults: preempt, answer a lower-priority Master with an advert
// and gratuitous ARP, and send one advert before yielding to a higher
// priority.
type Config struct {
	Name     string // instance name, for logs (keepalived vrrp_instance NAME)
	Version  Version
	VRID     uint8 // 1..255
	Priority uint8 // base priority, 1..255; 255 = address owner
	// AdvertInterval: whole seconds (1..255) for VRRPv2, centiseconds
	// (10 ms..40.95 s) for VRRPv3.
	AdvertInterval time.Duration
	// Primary is our primary address on the link: the source of our
	// adverts and the tie-break between equal priorities.
	Primary netip.Addr
	// VIPs are the virtual addresses, of Primary's family.
	VIPs []netip.Addr
	// NoPreempt keeps a lower-priority Master in place (keepalived
	// nopreempt; RFC Preempt_Mode = false).
	NoPreempt bool
	// PreemptDelay delays preemption of a lower-priority Master, counted
	// from its first advert seen (keepalived preempt_delay, 0..1000 s).
	PreemptDelay time.Duration
	// Accept is RFC 5798 Accept_Mode; the state machine only stores it.
	Accept bool
	// LowerPrioNoAdvert: as Master, do not answer a lower-priority advert
	// with an advert of our own (keepalived lower_prio_no_advert).
	LowerPrioNoAdvert bool
	// LowerPrioNoGARP: as Master, do not re-send gratuitous ARP / NA on a
	// lower-priority advert (keepalived garp_lower_prio_repeat 0).
	LowerPrioNoGARP bool
	// HigherPrioNoAdvert: as Master, yield to a higher priority without
	// first sending one advert (keepalived higher_prio_send_advert off).
	HigherPrioNoAdvert bool
	// Tracks are the tracked objects; see [Track].
	Tracks []Track
}

// Validate checks the configuration on its own, without the host.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("vrrp: instance %q: "+format, append([]any{c.Name}, args...)...))
	}
	switch c.Version {
	case Version2:
		if c.AdvertInterval < time.Second || c.AdvertInterval > maxV2Interval*time.Second || c.AdvertInterval%time.Second != 0 {
			add("VRRPv2 advert interval %v is not 1..255 whole seconds", c.AdvertInterval)
		}
	case Version3:
		cs := 10 * time.Millisecond
		if c.AdvertInterval < cs || c.AdvertInterval > maxV3Interval*cs || c.AdvertInterval%cs != 0 {
			add("VRRPv3 advert interval %v is not 10ms..40.95s in centiseconds", c.AdvertInterval)
		}
	default:
		add("version %d is not 2 or 3", c.Version)
	}
	if c.VRID == 0 {
		add("VRID must be 1..255")
	}
	if c.Priority == 0 {
		add("priority must be 1..255")
	}
	if !c.Primary.IsValid() {
		add("no primary address")
	} else if c.Version == Version2 && !c.Primary.Unmap().Is4() {
		add("VRRPv2 is IPv4 only; use version 3 for %v", c.Primary)
	}
	if len(c.VIPs) > MaxAddrs {
		add("%d virtual addresses, at most %d", len(c.VIPs), MaxAddrs)
	}
	for _, ip := range c.VIPs {
		if c.Primary.IsValid() && ip.Unmap().Is4() != c.Primary.Unmap().Is4() {
			add("virtual address %v is not of the family of %v", ip, c.Primary)
		}
	}
	if c.PreemptDelay < 0 || c.PreemptDelay > 1000*time.Second {
		add("preempt delay %v is not 0..1000s", c.PreemptDelay)
	}
	seen := map[string]bool{}
	for _, t := range c.Tracks {
		if err := t.validate(); err != nil {
			add("%v", err)
		}
		if seen[t.Name] {
			add("%v %q tracked twice", t.Kind, t.Name)
		}
		seen[t.Name] = true
		if c.Priority == PriorityOwner && t.Weight != 0 {
			add("address owner (priority 255) cannot use weighted %v %q", t.Kind, t.Name)
		}
	}
	return errors.Join(errs...)
}

// Event is an input to [Instance.Handle].
type Event interface{ isEvent() }

// Startup starts the instance (RFC 5798 section 6.4.1).
type Startup struct{}

// Shutdown stops the instance; a Master sends priority 0 first.
type Shutdown struct{}

// TimerFired is delivered when the deadline of the last [SetTimer] passed.
// A TimerFired that arrives early is harmless: the timer is re-armed.
type TimerFired struct{}

// AdvertReceived is an advert that passed the receive checks.
type AdvertReceived struct {
	From     netip.Addr    // source address of the packet
	Priority uint8         // priority in the advert
	Interval time.Duration // (max) advert interval in the advert
}

// TrackChanged reports the new status of a tracked object by name.
type TrackChanged struct {
	Name   string
	Status TrackStatus
}

// Fault puts the instance in Fault for a named source (for example
// "interface down" or "no unicast peer") until [Recover] clears it.
type Fault struct{ Source string }

// Recover clears a fault source set by [Fault].
type Recover struct{ Source string }

// MasterUnreachable says that the Master at From stopped answering a
// liveness probe that is faster than its adverts (lbd's fast takeover:
// ICMP echo, answered by the Master's kernel). A Backup that follows that
// Master treats it as the Master's priority-0 advert: it takes over after
// Skew_Time, so that of several Backups the highest priority goes first,
// unless an advert of the Master arrives before (which restarts the
// normal down timer). Any other state, or another Master, ignores it.
// Now skips Skew_Time: a BFD session to the Master expired, which says
// the Master's host died, not that a ping was lost.
type MasterUnreachable struct {
	From netip.Addr
	Now  bool
}

func (Startup) isEvent()           {}
func (Shutdown) isEvent()          {}
func (TimerFired) isEvent()        {}
func (AdvertReceived) isEvent()    {}
func (TrackChanged) isEvent()      {}
func (Fault) isEvent()             {}
func (Recover) isEvent()           {}
func (MasterUnreachable) isEvent() {}

// Action is an output of [Instance.Handle], to be carried out in order.
type Action interface{ isAction() }

// SendAdvert asks for one advert with the given priority.
type SendAdvert struct{ Priority uint8 }

// AddVIPs asks for the virtual addresses to be added to the link.
type AddVIPs struct{ Addrs []netip.Addr }

// RemoveVIPs asks for the virtual addresses to be removed (also at startup,
// to clear addresses left by a crash).
type RemoveVIPs struct{ Addrs []netip.Addr }

// SendGARP asks for gratuitous ARP (IPv4) or unsolicited neighbour
// advertisements (IPv6) for the addresses.
type SendGARP struct{ Addrs []netip.Addr }

// SetTimer (re)arms the instance's only timer: deliver [TimerFired] at At,
// which is After from the time passed to Handle.
type SetTimer struct {
	At    time.Time
	After time.Duration
}

// StopTimer cancels the timer.
type StopTimer struct{}

// Transition records a change of state, with why. Peer and PeerPriority
// name the router whose advert caused it, when one did.
type Transition struct {
	From, To     State
	Cause        Cause
	Peer         netip.Addr
	PeerPriority uint8
}

// PriorityChanged records a change of the effective priority.
type PriorityChanged struct{ From, To uint8 }

// LowerPriorityMaster records that, as Master, we heard a lower-priority
// router advertise: a sign of a split brain that just healed (keepalived's
// notify_master_rx_lower_pri).
type LowerPriorityMaster struct {
	Peer     netip.Addr
	Priority uint8
}

func (SendAdvert) isAction()          {}
func (AddVIPs) isAction()             {}
func (RemoveVIPs) isAction()          {}
func (SendGARP) isAction()            {}
func (SetTimer) isAction()            {}
func (StopTimer) isAction()           {}
func (Transition) isAction()          {}
func (PriorityChanged) isAction()     {}
func (LowerPriorityMaster) isAction() {}

// String describes the transition for a log line.
func (t Transition) String() string {
	s := fmt.Sprintf("%v -> %v: %v", t.From, t.To, t.Cause)
	if t.Peer.IsValid() {
		s += fmt.Sprintf(" (%v priority %d)", t.Peer, t.PeerPriority)
	}
	return s
}

// Instance is the state machine of one VRRP instance. It is not safe for
// concurrent use: one goroutine owns it and feeds it events with the
// current time.
type Instance struct {
	cfg    Config
	tracks []Track // cfg.Tracks, weights zeroed in a sync group

	state        State
	prio         uint8         // effective priority
	masterAdvInt time.Duration // Master_Adver_Interval
	deadline     time.Time     // zero: no timer
	preemptAt    time.Time     // zero: preempt delay not running
	nextCause    Cause         // why we become Master if the down timer fires
	master       netip.Addr    // last Master heard (or us)
	masterPrio   uint8
	wantMaster   bool // down timer fired but the sync group held us

	status map[string]TrackStatus
	faults map[string]bool // named fault sources
	group  *SyncGroup
}

// NewInstance validates cfg and returns an instance in StateInit.
func NewInstance(cfg Config) (*Instance, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.VIPs = slices.Clone(cfg.VIPs)
	cfg.Tracks = slices.Clone(cfg.Tracks)
	i := &Instance{
		cfg:          cfg,
		tracks:       slices.Clone(cfg.Tracks),
		masterAdvInt: cfg.AdvertInterval,
		status:       map[string]TrackStatus{},
		faults:       map[string]bool{},
	}
	for _, t := range cfg.Tracks {
		i.status[t.Name] = t.initial()
	}
	i.prio, _ = i.evaluate()
	return i, nil
}

// Name returns the configured instance name.
func (i *Instance) Name() string { return i.cfg.Name }

// Config returns a copy of the configuration.
func (i *Instance) Config() Config {
	c := i.cfg
	c.VIPs = slices.Clone(c.VIPs)
	c.Tracks = slices.Clone(c.Tracks)
	return c
}

// State returns the current state.
func (i *Instance) State() State { return i.state }

// Priority returns the effective priority (base plus tracking weights).
func (i *Instance) Priority() uint8 { return i.prio }

// Deadline returns when the timer fires; zero when no timer runs.
func (i *Instance) Deadline() time.Time { return i.deadline }

// MasterAdverInterval returns Master_Adver_Interval: the configured
// interval, or as a VRRPv3 Backup the one the Master advertises.
func (i *Instance) MasterAdverInterval() time.Duration { return i.masterAdvInt }

// Master returns the last Master heard and its priority (our own address
// while we are Master); the address is invalid before any advert.
func (i *Instance) Master() (netip.Addr, uint8) { return i.master, i.masterPrio }

// Faulted reports whether a tracked object or fault source holds the
// instance in Fault.
func (i *Instance) Faulted() bool {
	_, fault := i.evaluate()
	return fault || len(i.faults) > 0
}

// Handle applies one event at time now and returns the actions to carry
// out, in order. Inside a [SyncGroup], use [SyncGroup.Handle] instead so
// that the other members follow.
func (i *Instance) Handle(now time.Time, ev Event) []Action {
	switch ev := ev.(type) {
	case Startup:
		if i.state != StateInit {
			return nil
		}
		if i.Faulted() {
			return i.enterFault(now, CauseFault)
		}
		return i.start(now, CauseStartup)
	case Shutdown:
		return i.shutdown()
	case TimerFired:
		return i.timer(now)
	case AdvertReceived:
		switch i.state {
		case StateBackup:
			return i.backupRx(now, ev)
		case StateMaster:
			return i.masterRx(now, ev)
		}
		return nil // Initialize and Fault ignore adverts
	case TrackChanged:
		if _, ok := i.status[ev.Name]; !ok {
			return nil
		}
		i.status[ev.Name] = ev.Status
		return i.reevaluate(now, CauseFault)
	case Fault:
		i.faults[ev.Source] = true
		return i.reevaluate(now, CauseFault)
	case Recover:
		delete(i.faults, ev.Source)
		return i.reevaluate(now, CauseFault)
	case MasterUnreachable:
		if i.state != StateBackup || !i.master.IsValid() || i.master != ev.From || i.masterPrio == PriorityStop {
			return nil
		}
		at := now
		if !ev.Now {
			at = now.Add(i.skew())
		}
		if at.Before(i.deadline) {
			i.deadline = at
			i.nextCause = CauseMasterUnreachable
		}
		return []Action{i.setTimer(now)}
	}
	return nil
}

// evaluate returns the effective priority and whether a tracked object
// puts the instance in Fault.
func (i *Instance) evaluate() (uint8, bool) {
	delta, fault := 0, false
	for _, t := range i.tracks {
		d, f := t.Contribution(i.status[t.Name])
		delta += d
		fault = fault || f
	}
	return EffectivePriority(i.cfg.Priority, delta), fault
}

// reevaluate applies a change of tracking or fault sources.
func (i *Instance) reevaluate(now time.Time, cause Cause) []Action {
	var acts []Action
	prio, _ := i.evaluate()
	if prio != i.prio {
		old := i.prio
		oldDown := i.downInterval()
		i.prio = prio
		acts = append(acts, PriorityChanged{From: old, To: prio})
		if i.state == StateBackup {
			// Shift the running down timer by the change of skew, as
			// keepalived does, so a better Backup takes over sooner.
			i.deadline = i.deadline.Add(i.downInterval() - oldDown)
			acts = append(acts, i.setTimer(now))
		}
	}
	switch faulted := i.Faulted(); {
	case faulted && (i.state == StateBackup || i.state == StateMaster):
		acts = append(acts, i.enterFault(now, cause)...)
	case !faulted && i.state == StateFault:
		acts = append(acts, i.start(now, CauseRecover)...)
	}
	return acts
}

// downInterval returns Master_Down_Interval for our effective priority.
func (i *Instance) downInterval() time.Duration {
	return MasterDownInterval(i.cfg.Version, i.prio, i.masterAdvInt)
}

func (i *Instance) skew() time.Duration {
	return SkewTime(i.cfg.Version, i.prio, i.masterAdvInt)
}

func (i *Instance) setTimer(now time.Time) SetTimer {
	return SetTimer{At: i.deadline, After: i.deadline.Sub(now)}
}

// start leaves Initialize or Fault: the owner becomes Master, everyone
// else Backup (RFC 5798 section 6.4.1).
func (i *Instance) start(now time.Time, cause Cause) []Action {
	i.masterAdvInt = i.cfg.AdvertInterval
	if i.prio == PriorityOwner {
		return i.becomeMaster(now, CauseOwner, netip.Addr{}, 0)
	}
	return i.becomeBackup(now, cause, netip.Addr{}, 0, false)
}

func (i *Instance) becomeMaster(now time.Time, cause Cause, peer netip.Addr, peerPrio uint8) []Action {
	from := i.state
	i.state = StateMaster
	i.wantMaster = false
	i.preemptAt = time.Time{}
	i.masterAdvInt = i.cfg.AdvertInterval
	i.master, i.masterPrio = i.cfg.Primary, i.prio
	i.deadline = now.Add(i.cfg.AdvertInterval)
	// The advert goes first so that an old Master drops the addresses
	// before our gratuitous ARP (keepalived vrrp_state_master_tx).
	return []Action{
		SendAdvert{Priority: i.prio},
		AddVIPs{Addrs: slices.Clone(i.cfg.VIPs)},
		SendGARP{Addrs: slices.Clone(i.cfg.VIPs)},
		i.setTimer(now),
		Transition{From: from, To: StateMaster, Cause: cause, Peer: peer, PeerPriority: peerPrio},
	}
}

func (i *Instance) becomeBackup(now time.Time, cause Cause, peer netip.Addr, peerPrio uint8, advertFirst bool) []Action {
	from := i.state
	var acts []Action
	if from == StateMaster && advertFirst {
		acts = append(acts, SendAdvert{Priority: i.prio})
	}
	if from == StateMaster || from == StateInit {
		acts = append(acts, RemoveVIPs{Addrs: slices.Clone(i.cfg.VIPs)})
	}
	i.state = StateBackup
	i.wantMaster = false
	i.preemptAt = time.Time{}
	i.nextCause = CauseMasterDown
	if peer.IsValid() {
		i.master, i.masterPrio = peer, peerPrio
	} else {
		i.master, i.masterPrio = netip.Addr{}, 0
	}
	i.deadline = now.Add(i.downInterval())
	return append(acts, i.setTimer(now),
		Transition{From: from, To: StateBackup, Cause: cause, Peer: peer, PeerPriority: peerPrio})
}

func (i *Instance) enterFault(now time.Time, cause Cause) []Action {
	from := i.state
	var acts []Action
	if from == StateMaster {
		acts = append(acts, SendAdvert{Priority: PriorityStop})
	}
	if from == StateMaster || from == StateInit {
		acts = append(acts, RemoveVIPs{Addrs: slices.Clone(i.cfg.VIPs)})
	}
	i.state = StateFault
	i.wantMaster = false
	i.preemptAt = time.Time{}
	i.masterAdvInt = i.cfg.AdvertInterval
	i.deadline = time.Time{}
	return append(acts, StopTimer{}, Transition{From: from, To: StateFault, Cause: cause})
}

// shutdown implements RFC 5798 section 6.4.3 "Shutdown": a Master sends
// priority 0 so the Backup takes over after Skew_Time.
func (i *Instance) shutdown() []Action {
	from := i.state
	if from == StateInit {
		return nil
	}
	var acts []Action
	if from == StateMaster {
		acts = append(acts, SendAdvert{Priority: PriorityStop}, RemoveVIPs{Addrs: slices.Clone(i.cfg.VIPs)})
	}
	i.state = StateInit
	i.wantMaster = false
	i.preemptAt = time.Time{}
	i.deadline = time.Time{}
	i.master, i.masterPrio = netip.Addr{}, 0
	return append(acts, StopTimer{}, Transition{From: from, To: StateInit, Cause: CauseShutdown})
}

func (i *Instance) timer(now time.Time) []Action {
	if i.deadline.IsZero() {
		return nil
	}
	if now.Before(i.deadline) {
		return []Action{i.setTimer(now)}
	}
	switch i.state {
	case StateMaster:
		i.deadline = now.Add(i.cfg.AdvertInterval)
		return []Action{SendAdvert{Priority: i.prio}, i.setTimer(now)}
	case StateBackup:
		if i.group != nil && !i.group.canGoMaster(i) {
			// Prefer Backup until every member wants Master, so a
			// group does not thrash (keepalived vrrp_sync_can_goto_master).
			i.wantMaster = true
			i.deadline = now.Add(i.downInterval())
			return []Action{i.setTimer(now)}
		}
		return i.becomeMaster(now, i.nextCause, i.master, i.masterPrio)
	}
	return nil
}

// backupRx is RFC 5798 section 6.4.2 with keepalived's preempt_delay.
func (i *Instance) backupRx(now time.Time, ev AdvertReceived) []Action {
	if ev.Priority == PriorityStop {
		i.deadline = now.Add(i.skew())
		i.nextCause = CausePriorityZero
		i.master, i.masterPrio = ev.From, ev.Priority
		return []Action{i.setTimer(now)}
	}
	delaying := i.cfg.PreemptDelay > 0 && (i.preemptAt.IsZero() || now.Before(i.preemptAt))
	if !i.cfg.NoPreempt && ev.Priority < i.prio && !delaying {
		// A lower-priority Master: ignore its advert, let the down
		// timer run out, and preempt.
		i.nextCause = CausePreempt
		i.master, i.masterPrio = ev.From, ev.Priority
		return nil
	}
	if i.cfg.Version == Version3 && ev.Interval > 0 {
		i.masterAdvInt = ev.Interval
	}
	if i.cfg.PreemptDelay > 0 {
		if ev.Priority >= i.prio {
			i.preemptAt = time.Time{}
		} else if i.preemptAt.IsZero() {
			i.preemptAt = now.Add(i.cfg.PreemptDelay)
		}
	}
	i.wantMaster = false
	i.nextCause = CauseMasterDown
	i.master, i.masterPrio = ev.From, ev.Priority
	i.deadline = now.Add(i.downInterval())
	return []Action{i.setTimer(now)}
}

// masterRx is RFC 5798 section 6.4.3 with keepalived's answers to a
// lower-priority Master.
func (i *Instance) masterRx(now time.Time, ev AdvertReceived) []Action {
	if ev.Priority == PriorityStop {
		// Another Master is leaving: assert ourselves at once.
		i.deadline = now.Add(i.cfg.AdvertInterval)
		return []Action{SendAdvert{Priority: i.prio}, i.setTimer(now)}
	}
	from, self := ev.From.Unmap(), i.cfg.Primary.Unmap()
	cmp := from.Compare(self)
	switch {
	case ev.Priority > i.prio || (ev.Priority == i.prio && cmp > 0):
		cause := CauseHigherPriority
		if ev.Priority == i.prio {
			cause = CauseTieBreak
		}
		if i.cfg.Version == Version3 && ev.Interval > 0 {
			i.masterAdvInt = ev.Interval
		} else {
			i.masterAdvInt = i.cfg.AdvertInterval
		}
		// The new Backup times the Master by the Master's interval.
		return i.becomeBackup(now, cause, ev.From, ev.Priority, !i.cfg.HigherPrioNoAdvert)
	case ev.Priority == i.prio && cmp == 0:
		return nil // our own advert looped back
	}
	acts := []Action{LowerPriorityMaster{Peer: ev.From, Priority: ev.Priority}}
	if !i.cfg.LowerPrioNoAdvert {
		acts = append(acts, SendAdvert{Priority: i.prio})
	}
	if !i.cfg.LowerPrioNoGARP {
		acts = append(acts, SendGARP{Addrs: slices.Clone(i.cfg.VIPs)})
	}
	return acts
}

// forceMaster makes a Backup Master because its sync group did.
func (i *Instance) forceMaster(now time.Time) []Action {
	if i.state != StateBackup {
		return nil
	}
	return i.becomeMaster(now, CauseSyncGroup, netip.Addr{}, 0)
}

// forceBackup makes a Master Backup because its sync group did.
func (i *Instance) forceBackup(now time.Time) []Action {
	if i.state != StateMaster {
		return nil
	}
	return i.becomeBackup(now, CauseSyncGroup, netip.Addr{}, 0, false)
}

// ownFault reports a fault not caused by the sync group.
func (i *Instance) ownFault(groupSource string) bool {
	if _, f := i.evaluate(); f {
		return true
	}
	for s := range i.faults {
		if s != groupSource {
			return true
		}
	}
	return false
}
