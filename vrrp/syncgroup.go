package vrrp

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// SyncGroup moves a set of instances together, as keepalived's
// vrrp_sync_group does: when one member goes Fault all go Fault (and they
// leave Fault together once no member has a fault of its own); when one
// becomes Master the others become Master; when a Master becomes Backup
// the others do too. A Backup whose down timer expires becomes Master only
// when every other member wants to as well, so the group prefers Backup
// to thrashing.
//
// Unless trackingWeight is set (keepalived sync_group_tracking_weight), the
// weights of the members' tracked objects are forced to 0: any failure is
// a Fault, so the members cannot get different priorities.
//
// A SyncGroup is not safe for concurrent use; deliver every event of its
// members through [SyncGroup.Handle].
type SyncGroup struct {
	name    string
	members []*Instance
}

// MemberAction is an [Action] for one member of a [SyncGroup].
type MemberAction struct {
	Instance string // member name
	Action   Action
}

// NewSyncGroup groups the instances, which must have distinct names and
// belong to no other group.
func NewSyncGroup(name string, trackingWeight bool, members ...*Instance) (*SyncGroup, error) {
	if len(members) == 0 {
		return nil, fmt.Errorf("vrrp: sync group %q: no members", name)
	}
	g := &SyncGroup{name: name}
	var errs []error
	for _, m := range members {
		switch {
		case m.group != nil:
			errs = append(errs, fmt.Errorf("vrrp: sync group %q: instance %q is already in sync group %q", name, m.Name(), m.group.name))
		case g.member(m.Name()) != nil:
			errs = append(errs, fmt.Errorf("vrrp: sync group %q: instance name %q used twice", name, m.Name()))
		default:
			g.members = append(g.members, m)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, m := range g.members {
		m.group = g
		if !trackingWeight {
			for k := range m.tracks {
				m.tracks[k].Weight = 0
			}
			m.prio, _ = m.evaluate()
		}
	}
	return g, nil
}

// Name returns the group name.
func (g *SyncGroup) Name() string { return g.name }

// Members returns the member instances.
func (g *SyncGroup) Members() []*Instance { return slices.Clone(g.members) }

// State summarises the group: Fault if any member is, else Master if any
// member is, else Backup if any member is, else Init.
func (g *SyncGroup) State() State {
	has := map[State]bool{}
	for _, m := range g.members {
		has[m.state] = true
	}
	for _, s := range []State{StateFault, StateMaster, StateBackup} {
		if has[s] {
			return s
		}
	}
	return StateInit
}

func (g *SyncGroup) member(name string) *Instance {
	for _, m := range g.members {
		if m.Name() == name {
			return m
		}
	}
	return nil
}

// faultSource is the fault source the group sets on its members.
func (g *SyncGroup) faultSource() string { return "sync_group " + g.name }

// Handle delivers ev to the named member and makes the others follow. It
// returns nil for an unknown member.
func (g *SyncGroup) Handle(now time.Time, member string, ev Event) []MemberAction {
	m := g.member(member)
	if m == nil {
		return nil
	}
	before := m.state
	acts := m.Handle(now, ev)
	out := tag(nil, m, acts)

	// As Master, a split brain just healed: refresh the ARP caches for the
	// whole group, not only for the instance that heard the advert.
	if m.state == StateMaster && slices.ContainsFunc(acts, func(a Action) bool { _, ok := a.(LowerPriorityMaster); return ok }) {
		for _, o := range g.members {
			if o != m && o.state == StateMaster && !o.cfg.LowerPrioNoGARP {
				out = tag(out, o, []Action{SendGARP{Addrs: slices.Clone(o.cfg.VIPs)}})
			}
		}
	}

	out = append(out, g.syncFaults(now)...)

	switch after := m.state; {
	case before != StateMaster && after == StateMaster:
		for _, o := range g.members {
			if o != m {
				out = tag(out, o, o.forceMaster(now))
			}
		}
	case before == StateMaster && after == StateBackup:
		for _, o := range g.members {
			if o != m {
				out = tag(out, o, o.forceBackup(now))
			}
		}
	}
	return out
}

// syncFaults holds every member in Fault while any member has a fault of
// its own, and releases them all together.
func (g *SyncGroup) syncFaults(now time.Time) []MemberAction {
	src := g.faultSource()
	held := slices.ContainsFunc(g.members, func(m *Instance) bool { return m.ownFault(src) })
	var out []MemberAction
	for _, m := range g.members {
		if held == m.faults[src] {
			continue
		}
		if held {
			m.faults[src] = true
		} else {
			delete(m.faults, src)
		}
		out = tag(out, m, m.reevaluate(now, CauseSyncGroup))
	}
	return out
}

// canGoMaster reports whether member i may leave Backup for Master: the
// group already has a Master, or every other member wants to be Master.
func (g *SyncGroup) canGoMaster(i *Instance) bool {
	if slices.ContainsFunc(g.members, func(m *Instance) bool { return m.state == StateMaster }) {
		return true
	}
	for _, m := range g.members {
		if m != i && !m.wantMaster {
			return false
		}
	}
	return true
}

func tag(out []MemberAction, m *Instance, acts []Action) []MemberAction {
	for _, a := range acts {
		out = append(out, MemberAction{Instance: m.Name(), Action: a})
	}
	return out
}
