package ipvs

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
)

// This file holds what keeps the lookup tables of the schedulers mh and sh
// the same on every balancer that serves a service: the canonical order
// of a service's destinations, the part of Diff that enforces it, and the
// fingerprint that lets balancers compare their tables.
//
// mh (ip_vs_mh.c, ip_vs_mh_populate) and sh (ip_vs_sh.c,
// ip_vs_sh_reassign) fill their tables by walking the service's list of
// destinations from its head. The kernel puts every destination it adds
// at the head of that list (ip_vs_ctl.c, __ip_vs_update_dest:
// list_add_rcu(&dest->n_list, &svc->destinations)), and dumps the list
// from the head. So the same destinations added in two different orders
// give two different tables, and a flow that routers' ECMP moves from one
// balancer to the other reaches another real server.

// CanonicalOrder sorts ds into the kernel list order lbd gives a service
// that several balancers serve at once: by address, then port, from the
// highest to the lowest. That is the list the kernel builds when the
// destinations are added from the lowest to the highest, so a fresh start
// adds them in ascending order, and a new real server that sorts after
// the others (the usual way a pool grows) is added at the head without
// moving any other.
func CanonicalOrder(ds []DestinationEntry) {
	slices.SortStableFunc(ds, func(a, b DestinationEntry) int { return compareDest(b.Destination, a.Destination) })
}

// listOrder returns the keys of ds in the kernel's list order: by
// Position, then as given (a table built by hand has no positions), each
// key once (its first place).
func listOrder(ds []DestinationEntry) []destKey {
	idx := make([]int, len(ds))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(ds[a].Position, ds[b].Position) })
	out := make([]destKey, 0, len(ds))
	seen := make(map[destKey]bool, len(ds))
	for _, i := range idx {
		if k := ds[i].key(); !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// orderedDests returns the destination adds and edits that leave the
// kernel's list of w's service (h in the kernel now, a zero view when
// absent) in the order of w's destinations, touching the fewest: edits
// of the destinations that stay, then, from the last to the first, the
// adds of the others, an add preceded by a delete for one the kernel has
// out of place. Destinations w lacks are left to Diff's deletes, which do
// not change the order of the others.
//
// Why a re-add keeps the connections: when a destination is deleted, the
// kernel unlinks it from the service and, while connections still
// reference it, keeps it in the per-namespace trash (ip_vs_ctl.c,
// __ip_vs_del_dest) instead of freeing it; ip_vs_add_dest looks there
// first (ip_vs_trash_get_dest) and links the same ip_vs_dest back, with
// its counters, so the established connections, which point to it, carry
// on. In between, the destination is not IP_VS_DEST_F_AVAILABLE: a packet
// of one of its connections that arrives then is dropped (TCP resends
// it), and with the sysctl expire_nodest_conn set the connection is
// expired, by that packet or by the delayed flush the delete queues. That
// gap is the time between two messages of one batch that the kernel
// handles back to back under its IPVS mutex (microseconds), which is why
// the delete and the add are sent together, in one Apply, and never apart.
func orderedDests(w, h serviceView) []Change {
	want := listOrder(w.entries)
	// pos: the place of each wanted destination in the kernel's list, the
	// others left out (their deletes do not move anything).
	pos := make(map[destKey]int, len(want))
	for _, k := range listOrder(h.entries) {
		if _, ok := w.dests[k]; ok {
			pos[k] = len(pos)
		}
	}
	// keep: the longest tail of want the kernel lists in the same order.
	keep, next := len(want), math.MaxInt
	for keep > 0 {
		p, ok := pos[want[keep-1]]
		if !ok || p >= next {
			break
		}
		next = p
		keep--
	}
	var out []Change
	for _, k := range want[keep:] {
		if d := w.dests[k]; d != h.dests[k] {
			out = append(out, Change{Op: Edit, Service: w.svc, Destination: &d})
		}
	}
	for i := keep - 1; i >= 0; i-- {
		k := want[i]
		d := w.dests[k]
		if cur, ok := h.dests[k]; ok {
			out = append(out, Change{Op: Delete, Service: w.svc, Destination: &cur})
		}
		out = append(out, Change{Op: Add, Service: w.svc, Destination: &d})
	}
	return out
}

// TableFingerprint fingerprints what decides the lookup table the
// schedulers mh and sh build for e, a service as Dump reads it: the
// scheduler, its flags, and the destinations in the kernel's list order
// (Position) with their addresses, ports and weights. Those are all the
// table is built from (mh also hashes each destination's address and
// port, and skips or repeats it by weight), so two balancers whose
// fingerprints of a service agree send a new flow of it to the same real
// server, and two that differ may not. Counters, forwarding methods,
// thresholds and persistence are left out: they do not change which real
// server a new flow is given. It is meant for mh and sh; for other
// schedulers it still says whether two tables list the same destinations
// in the same order.
//
// The result is the first 16 hex digits of a SHA-256, stable across
// releases for the same input.
func TableFingerprint(e ServiceEntry) string {
	ds := slices.Clone(e.Destinations)
	slices.SortStableFunc(ds, func(a, b DestinationEntry) int { return cmp.Compare(a.Position, b.Position) })
	h := sha256.New()
	s := e.Service.normalized()
	fmt.Fprintf(h, "scheduler %s\nflags %d\n", s.Scheduler, uint32(s.SchedFlags))
	for _, d := range ds {
		fmt.Fprintf(h, "%s %d %d\n", d.Address, d.Port, d.Weight)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
