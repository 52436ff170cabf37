package ipvs

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// ChangeOp is what a Change does.
type ChangeOp uint8

// Change operations.
const (
	Add ChangeOp = iota + 1
	Edit
	Delete
)

// String returns "add", "edit" or "delete".
func (o ChangeOp) String() string {
	switch o {
	case Add:
		return "add"
	case Edit:
		return "edit"
	case Delete:
		return "delete"
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// sign is the prefix of a change in Plan.String.
func (o ChangeOp) sign() string {
	switch o {
	case Add:
		return "+"
	case Edit:
		return "~"
	}
	return "-"
}

// Change is one kernel request of a Plan: a service, or one destination of
// a service, to add, edit or delete.
type Change struct {
	Op      ChangeOp
	Service Service
	// Destination is nil for a change to the service itself.
	Destination *Destination
}

// String renders the change as an ipvsadm -S style rule prefixed with
// "+", "~" or "-", e.g. "~ -e -t 192.0.2.10:80 -r 192.0.2.15:80 -m -w 3".
func (c Change) String() string {
	var b strings.Builder
	b.WriteString(c.Op.sign())
	if c.Destination == nil {
		b.WriteString([...]string{Add: " -A ", Edit: " -E ", Delete: " -D "}[c.Op])
		b.WriteString(serviceRuleID(c.Service))
		if c.Op != Delete {
			writeServiceOptions(&b, c.Service)
		}
		return b.String()
	}
	d := *c.Destination
	b.WriteString([...]string{Add: " -a ", Edit: " -e ", Delete: " -d "}[c.Op])
	b.WriteString(serviceRuleID(c.Service))
	b.WriteString(" -r ")
	b.WriteString(d.String())
	if c.Op != Delete {
		writeDestinationOptions(&b, d)
	}
	return b.String()
}

// opName and object name the change in errors.
func (c Change) opName() string {
	if c.Destination == nil {
		return c.Op.String() + " service"
	}
	return c.Op.String() + " destination"
}

func (c Change) object() string {
	if c.Destination == nil {
		return c.Service.String()
	}
	prep := map[ChangeOp]string{Add: " to ", Edit: " in ", Delete: " from "}[c.Op]
	return c.Destination.String() + prep + c.Service.String()
}

// serviceRuleID is ipvsadm's service selector: -t, -u, --sctp-service or -f.
func serviceRuleID(s Service) string {
	if s.FWMark != 0 {
		if s.family() == IPv6 {
			return fmt.Sprintf("-f %d -6", s.FWMark)
		}
		return fmt.Sprintf("-f %d", s.FWMark)
	}
	ap := netip.AddrPortFrom(s.Address, s.Port).String()
	switch s.Protocol {
	case TCP:
		return "-t " + ap
	case UDP:
		return "-u " + ap
	case SCTP:
		return "--sctp-service " + ap
	}
	return fmt.Sprintf("--protocol %d %s", s.Protocol, ap)
}

func writeServiceOptions(b *strings.Builder, s Service) {
	s = s.normalized()
	fmt.Fprintf(b, " -s %s", s.Scheduler)
	if s.SchedFlags != 0 {
		fmt.Fprintf(b, " -b %s", FormatSchedFlags(s.Scheduler, s.SchedFlags))
	}
	if s.Persistent {
		fmt.Fprintf(b, " -p %d", s.Timeout)
		if s.Netmask != s.Family.bits() {
			if s.Family == IPv4 {
				m := netmaskBytes(IPv4, s.Netmask)
				fmt.Fprintf(b, " -M %s", netip.AddrFrom4([4]byte(m)))
			} else {
				fmt.Fprintf(b, " -M %d", s.Netmask)
			}
		}
	}
	if s.OnePacket {
		b.WriteString(" -o")
	}
	if s.PEName != "" {
		fmt.Fprintf(b, " --pe %s", s.PEName)
	}
}

func writeDestinationOptions(b *strings.Builder, d Destination) {
	d = d.normalized()
	// ipvsadm writes local-node destinations as direct routing too.
	b.WriteString([...]string{Masq: " -m", Local: " -g", Tunnel: " -i", Route: " -g"}[d.ForwardMethod&3])
	fmt.Fprintf(b, " -w %d", d.Weight)
	if d.UpperThreshold != 0 {
		fmt.Fprintf(b, " -x %d", d.UpperThreshold)
	}
	if d.LowerThreshold != 0 {
		fmt.Fprintf(b, " -y %d", d.LowerThreshold)
	}
	if d.ForwardMethod == Tunnel && d.TunnelType != IPIP {
		fmt.Fprintf(b, " --tun-type %s", d.TunnelType)
		if d.TunnelType == GUE {
			fmt.Fprintf(b, " --tun-port %d", d.TunnelPort)
		}
		fmt.Fprintf(b, " --tun-%s", d.TunnelFlags)
	}
}

// Plan is an ordered list of changes that turns one table into another.
type Plan struct {
	Changes []Change
}

// Lines renders each change as a line of its own, in order; never nil, so
// that an empty plan is an empty list in JSON.
func (p Plan) Lines() []string {
	out := make([]string, 0, len(p.Changes))
	for _, c := range p.Changes {
		out = append(out, c.String())
	}
	return out
}

// String renders one change per line, in order.
func (p Plan) String() string {
	var b strings.Builder
	for _, c := range p.Changes {
		b.WriteString(c.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Diff computes the changes that make current (usually a Dump) equal to
// desired. It is pure: it neither reads nor modifies its arguments' slices.
//
// Objects that are equal in every configurable field produce no change, so
// a plan between equal tables is empty. Services and destinations that
// still exist are edited in place (SET_SERVICE, SET_DEST), which keeps
// their connections and counters; only a changed identity means a delete
// and an add. The order makes before it breaks: service adds and edits,
// destination adds and edits, then destination deletes and service
// deletes. So a destination is never added before its service, and a
// service whose real servers are replaced (say by its sorry server) is
// never left without one, even for the microseconds between two requests.
// Within each group the order follows the service key and destination
// address.
//
// A desired service marked Ordered also gets the order of its list in the
// kernel fixed, since the schedulers mh and sh build their lookup tables
// from it (see CanonicalOrder). The kernel puts an added destination at
// the head of the list, so the destinations the kernel has in the wanted
// order at the tail of the list stay, and the others are added from the
// last to the first; one that is in the kernel but out of place is
// re-added: deleted and added back with its weight, both in the same
// group, one right after the other. This is the least the plan can touch:
// whatever is added lands in front of what stays. See orderedDests for
// why a re-add keeps the destination's connections.
//
// Diff assumes desired passed Table.Validate; of duplicate entries the
// last wins.
func Diff(desired, current Table) Plan {
	want, wantKeys := index(desired)
	have, haveKeys := index(current)

	var delDests, delSvcs, setSvcs, setDests []Change
	for _, k := range haveKeys {
		h := have[k]
		w, ok := want[k]
		if !ok {
			// The kernel removes the service's destinations with it.
			delSvcs = append(delSvcs, Change{Op: Delete, Service: h.svc})
			continue
		}
		for _, dk := range h.destKeys {
			if _, ok := w.dests[dk]; !ok {
				d := h.dests[dk]
				delDests = append(delDests, Change{Op: Delete, Service: w.svc, Destination: &d})
			}
		}
	}
	for _, k := range wantKeys {
		w := want[k]
		h, ok := have[k]
		switch {
		case !ok:
			setSvcs = append(setSvcs, Change{Op: Add, Service: w.svc})
		case w.svc != h.svc:
			setSvcs = append(setSvcs, Change{Op: Edit, Service: w.svc})
		}
		if w.ordered {
			setDests = append(setDests, orderedDests(w, h)...)
			continue
		}
		for _, dk := range w.destKeys {
			d := w.dests[dk]
			cur, exists := h.dests[dk] // h is nil-safe: a zero view has no dests
			switch {
			case !exists:
				setDests = append(setDests, Change{Op: Add, Service: w.svc, Destination: &d})
			case d != cur:
				setDests = append(setDests, Change{Op: Edit, Service: w.svc, Destination: &d})
			}
		}
	}
	changes := slices.Concat(setSvcs, setDests, delDests, delSvcs)
	return Plan{Changes: changes}
}

// serviceView is a service of a table, normalized, with its destinations
// by key.
type serviceView struct {
	svc      Service
	dests    map[destKey]Destination
	destKeys []destKey // sorted
	// entries are the table's destinations as given; ordered is
	// ServiceEntry.Ordered.
	entries []DestinationEntry
	ordered bool
}

// index normalizes a table into views by key, and returns the keys sorted.
func index(t Table) (map[ServiceKey]serviceView, []ServiceKey) {
	views := make(map[ServiceKey]serviceView, len(t.Services))
	for _, e := range t.Services {
		v := serviceView{svc: e.Service.normalized(), dests: make(map[destKey]Destination, len(e.Destinations)), ordered: e.Ordered}
		for _, d := range e.Destinations {
			v.dests[d.key()] = d.Destination.normalized()
		}
		v.entries = e.Destinations
		for k := range v.dests {
			v.destKeys = append(v.destKeys, k)
		}
		slices.SortFunc(v.destKeys, func(a, b destKey) int {
			return compareDest(Destination{Address: a.addr, Port: a.port}, Destination{Address: b.addr, Port: b.port})
		})
		views[v.svc.Key()] = v
	}
	keys := make([]ServiceKey, 0, len(views))
	for k := range views {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, ServiceKey.Compare)
	return views, keys
}
