package ipvs

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// TestDiffOrdered checks that Diff leaves the list of an Ordered service
// in the kernel in the canonical order whatever the kernel's history, by
// touching only the destinations out of place, and that a re-add keeps
// the destination's weight.
func TestDiffOrdered(t *testing.T) {
	mh := Service{Protocol: TCP, Address: netip.MustParseAddr("192.0.2.10"), Port: 80, Scheduler: "mh", SchedFlags: MHPort}
	rs := func(last string, w int32) Destination {
		return Destination{Address: netip.MustParseAddr("192.0.2." + last), Port: 80, ForwardMethod: Route, Weight: w}
	}
	// desired is the engine's table for an announce: bgp service.
	desired := func(ds ...Destination) Table {
		var t Table
		t.Add(mh, ds...)
		CanonicalOrder(t.Services[0].Destinations)
		t.Services[0].Ordered = true
		return t
	}
	// kernel is the kernel's table with ds in list order (head first).
	kernel := func(ds ...Destination) Table {
		var t Table
		t.Add(mh, ds...)
		return t
	}
	tests := []struct {
		name             string
		desired, current Table
		want             string
	}{{
		name:    "fresh start adds from the lowest, so the list is highest first",
		desired: desired(rs("16", 1), rs("15", 1), rs("17", 1)),
		current: Table{},
		want: "+ -A -t 192.0.2.10:80 -s mh -b mh-port\n" +
			"+ -a -t 192.0.2.10:80 -r 192.0.2.15:80 -g -w 1\n" +
			"+ -a -t 192.0.2.10:80 -r 192.0.2.16:80 -g -w 1\n" +
			"+ -a -t 192.0.2.10:80 -r 192.0.2.17:80 -g -w 1\n",
	}, {
		name:    "canonical list: nothing to do",
		desired: desired(rs("15", 1), rs("16", 1), rs("17", 1)),
		current: kernel(rs("17", 1), rs("16", 1), rs("15", 1)),
		want:    "",
	}, {
		name:    "a real server that sorts last is one add",
		desired: desired(rs("15", 1), rs("16", 1), rs("17", 1), rs("18", 1)),
		current: kernel(rs("17", 1), rs("16", 1), rs("15", 1)),
		want:    "+ -a -t 192.0.2.10:80 -r 192.0.2.18:80 -g -w 1\n",
	}, {
		name:    "a real server that sorts in the middle: the ones after it are re-added",
		desired: desired(rs("15", 1), rs("16", 1), rs("17", 1), rs("18", 1)),
		current: kernel(rs("18", 1), rs("16", 1), rs("15", 1)),
		want: "+ -a -t 192.0.2.10:80 -r 192.0.2.17:80 -g -w 1\n" +
			"- -d -t 192.0.2.10:80 -r 192.0.2.18:80\n" +
			"+ -a -t 192.0.2.10:80 -r 192.0.2.18:80 -g -w 1\n",
	}, {
		name:    "a list built in the other order: all but the last re-added, with their weights",
		desired: desired(rs("15", 0), rs("16", 2), rs("17", 3)),
		current: kernel(rs("15", 0), rs("16", 2), rs("17", 3)),
		want: "- -d -t 192.0.2.10:80 -r 192.0.2.16:80\n" +
			"+ -a -t 192.0.2.10:80 -r 192.0.2.16:80 -g -w 2\n" +
			"- -d -t 192.0.2.10:80 -r 192.0.2.17:80\n" +
			"+ -a -t 192.0.2.10:80 -r 192.0.2.17:80 -g -w 3\n",
	}, {
		name:    "weight edits in place, removals last; the removed one does not count as out of place",
		desired: desired(rs("15", 1), rs("16", 0), rs("17", 1)),
		current: kernel(rs("17", 1), rs("14", 1), rs("16", 1), rs("15", 1)),
		want: "~ -e -t 192.0.2.10:80 -r 192.0.2.16:80 -g -w 0\n" +
			"- -d -t 192.0.2.10:80 -r 192.0.2.14:80\n",
	}, {
		name:    "sorry server swapped in among real servers kept at weight 0",
		desired: desired(rs("15", 0), rs("16", 0), rs("99", 1)),
		current: kernel(rs("16", 1), rs("15", 1)),
		want: "~ -e -t 192.0.2.10:80 -r 192.0.2.16:80 -g -w 0\n" +
			"~ -e -t 192.0.2.10:80 -r 192.0.2.15:80 -g -w 0\n" +
			"+ -a -t 192.0.2.10:80 -r 192.0.2.99:80 -g -w 1\n",
	}, {
		name:    "a sorry server that sorts first moves every other",
		desired: desired(rs("5", 1), rs("15", 0), rs("16", 0)),
		current: kernel(rs("16", 1), rs("15", 1)),
		want: "+ -a -t 192.0.2.10:80 -r 192.0.2.5:80 -g -w 1\n" +
			"- -d -t 192.0.2.10:80 -r 192.0.2.15:80\n" +
			"+ -a -t 192.0.2.10:80 -r 192.0.2.15:80 -g -w 0\n" +
			"- -d -t 192.0.2.10:80 -r 192.0.2.16:80\n" +
			"+ -a -t 192.0.2.10:80 -r 192.0.2.16:80 -g -w 0\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Diff(tt.desired, tt.current)
			if got := p.String(); got != tt.want {
				t.Errorf("plan:\n%s\nwant:\n%s", got, tt.want)
			}
			after := simulate(tt.current, p)
			if again := Diff(tt.desired, after); len(again.Changes) != 0 {
				t.Errorf("plan does not converge; left:\n%s", again)
			}
			if got, want := listString(after.Services[0].Destinations), listString(tt.desired.Services[0].Destinations); got != want {
				t.Errorf("list after the plan: %s, want %s", got, want)
			}
			if TableFingerprint(after.Services[0]) != TableFingerprint(tt.desired.Services[0]) {
				t.Error("fingerprint after the plan differs from the desired table's")
			}
		})
	}
}

// TestDiffUnorderedKeepsOrder checks that a service not marked Ordered
// is never reordered, however its list is ordered.
func TestDiffUnorderedKeepsOrder(t *testing.T) {
	var desired, current Table
	desired.Add(web, rs1, Destination{Address: netip.MustParseAddr("192.0.2.9"), Port: 80, Weight: 1})
	current.Add(web, Destination{Address: netip.MustParseAddr("192.0.2.9"), Port: 80, Weight: 1}, rs1)
	if p := Diff(desired, current); len(p.Changes) != 0 {
		t.Errorf("plan for an unordered service in another order:\n%s", p)
	}
}

func listString(ds []DestinationEntry) string {
	var b []string
	for _, d := range ds {
		b = append(b, d.Destination.String())
	}
	return strings.Join(b, " ")
}

// TestTableFingerprint checks what the fingerprint depends on: the
// scheduler, its flags and the list with addresses, ports and weights, in
// the kernel's order (Position), not the order of the slice; and that it
// stays the same across releases.
func TestTableFingerprint(t *testing.T) {
	a, b := netip.MustParseAddr("192.0.2.15"), netip.MustParseAddr("192.0.2.16")
	base := ServiceEntry{
		Service: Service{Protocol: TCP, Address: netip.MustParseAddr("192.0.2.10"), Port: 80, Scheduler: "mh", SchedFlags: MHPort},
		Destinations: []DestinationEntry{
			{Destination: Destination{Address: a, Port: 80, Weight: 1}, Position: 1},
			{Destination: Destination{Address: b, Port: 80, Weight: 2}, Position: 0},
		},
	}
	fp := TableFingerprint(base)
	if len(fp) != 16 || strings.Trim(fp, "0123456789abcdef") != "" {
		t.Fatalf("fingerprint %q is not 16 hex digits", fp)
	}
	const golden = "5692a3fa48bd3ae0"
	if fp != golden {
		t.Errorf("fingerprint %s, want %s: it must not change between releases", fp, golden)
	}
	change := func(name string, same bool, fn func(e *ServiceEntry)) {
		e := base
		e.Destinations = slices.Clone(base.Destinations)
		fn(&e)
		if got := TableFingerprint(e); (got == fp) != same {
			t.Errorf("%s: fingerprint %s, base %s, want same=%v", name, got, fp, same)
		}
	}
	change("slice order (as a dump sorts)", true, func(e *ServiceEntry) { slices.Reverse(e.Destinations) })
	change("counters, forwarding, thresholds, persistence", true, func(e *ServiceEntry) {
		e.Stats.Conns, e.Destinations[0].ActiveConns, e.Destinations[0].Stats.InPkts = 7, 3, 9
		e.Destinations[0].ForwardMethod, e.Destinations[1].UpperThreshold = Tunnel, 10
		e.Persistent = true
	})
	change("list order", false, func(e *ServiceEntry) { e.Destinations[0].Position, e.Destinations[1].Position = 0, 1 })
	change("weight", false, func(e *ServiceEntry) { e.Destinations[0].Weight = 0 })
	change("port", false, func(e *ServiceEntry) { e.Destinations[0].Port = 81 })
	change("scheduler", false, func(e *ServiceEntry) { e.Scheduler = "sh" })
	change("scheduler flags", false, func(e *ServiceEntry) { e.SchedFlags = MHFallback })
	change("one more destination", false, func(e *ServiceEntry) {
		e.Destinations = append(e.Destinations, DestinationEntry{Destination: Destination{Address: b, Port: 81, Weight: 1}, Position: 2})
	})
}
