package ipvs

import (
	"net/netip"
	"slices"
	"testing"
)

func TestDiff(t *testing.T) {
	addr := netip.MustParseAddr
	// kernelWeb is web as a dump reports it: defaults filled in.
	kernelWeb := web
	kernelWeb.Family, kernelWeb.Scheduler, kernelWeb.Netmask = IPv4, "wlc", 32
	bare := Service{Protocol: TCP, Address: addr("192.0.2.10"), Port: 80}
	rs := func(last string, w int32) Destination {
		return Destination{Address: addr("192.0.2." + last), Port: 80, Weight: w}
	}
	v6 := Service{Protocol: TCP, Address: addr("2001:db8::1"), Port: 80, Persistent: true, Netmask: 64}
	gue := Destination{Address: addr("2001:db8::15"), Port: 80, ForwardMethod: Tunnel, Weight: 1, TunnelType: GUE, TunnelPort: 6080}
	v4InV6 := Destination{Address: addr("192.0.2.20"), Port: 80, ForwardMethod: Tunnel, Weight: 1, TunnelType: GRE, TunnelFlags: TunnelCsum}

	type svc struct {
		s     Service
		dests []Destination
	}
	table := func(svcs ...svc) Table {
		var t Table
		for _, s := range svcs {
			t.Add(s.s, s.dests...)
		}
		return t
	}
	tests := []struct {
		name             string
		desired, current Table
		want             string
	}{{
		name:    "empty",
		desired: Table{}, current: Table{},
		want: "",
	}, {
		name:    "no change: defaults equal what the kernel reports",
		desired: table(svc{bare, []Destination{rs("15", 1)}}),
		current: table(svc{kernelWeb, []Destination{{Address: addr("192.0.2.15"), Port: 80, Family: IPv4, Weight: 1}}}),
		want:    "",
	}, {
		name:    "weight change is one edit",
		desired: table(svc{web, []Destination{rs("15", 3), rs("16", 1)}}),
		current: table(svc{kernelWeb, []Destination{rs("16", 1), rs("15", 1)}}),
		want:    "~ -e -t 192.0.2.10:80 -r 192.0.2.15:80 -m -w 3\n",
	}, {
		name:    "added and removed destinations: add first",
		desired: table(svc{web, []Destination{rs("17", 2)}}),
		current: table(svc{web, []Destination{rs("16", 1)}}),
		want: "+ -a -t 192.0.2.10:80 -r 192.0.2.17:80 -m -w 2\n" +
			"- -d -t 192.0.2.10:80 -r 192.0.2.16:80\n",
	}, {
		name: "scheduler change edits the service in place",
		desired: table(svc{Service{Protocol: TCP, Address: addr("192.0.2.10"), Port: 80, Scheduler: "sh", SchedFlags: SHFallback | SHPort},
			[]Destination{rs("15", 1)}}),
		current: table(svc{web, []Destination{rs("15", 1)}}),
		want:    "~ -E -t 192.0.2.10:80 -s sh -b sh-fallback,sh-port\n",
	}, {
		name:    "removed service takes its destinations along",
		desired: Table{},
		current: table(svc{web, []Destination{rs("15", 1), rs("16", 1)}}),
		want:    "- -D -t 192.0.2.10:80\n",
	}, {
		name:    "new service before its destinations",
		desired: table(svc{web, []Destination{rs("16", 1), rs("15", 1)}}),
		current: Table{},
		want: "+ -A -t 192.0.2.10:80 -s wlc\n" +
			"+ -a -t 192.0.2.10:80 -r 192.0.2.15:80 -m -w 1\n" +
			"+ -a -t 192.0.2.10:80 -r 192.0.2.16:80 -m -w 1\n",
	}, {
		name: "fwmark services",
		desired: table(
			svc{Service{FWMark: 1, Scheduler: "rr"}, []Destination{{Address: addr("192.0.2.15"), ForwardMethod: Route, Weight: 1}}},
			svc{Service{Family: IPv6, FWMark: 1, Persistent: true, Timeout: 60}, nil},
		),
		current: table(svc{Service{Family: IPv4, FWMark: 1, Scheduler: "wlc"}, nil}),
		want: "~ -E -f 1 -s rr\n" +
			"+ -A -f 1 -6 -s wlc -p 60\n" +
			"+ -a -f 1 -r 192.0.2.15:0 -g -w 1\n",
	}, {
		name:    "IPv6 with tunnels",
		desired: table(svc{v6, []Destination{gue, v4InV6}}),
		current: Table{},
		want: "+ -A -t [2001:db8::1]:80 -s wlc -p 360 -M 64\n" +
			"+ -a -t [2001:db8::1]:80 -r 192.0.2.20:80 -i -w 1 --tun-type gre --tun-csum\n" +
			"+ -a -t [2001:db8::1]:80 -r [2001:db8::15]:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum\n",
	}, {
		name:    "IPv6 tunnel port change is an edit",
		desired: table(svc{v6, []Destination{gue}}),
		current: table(svc{v6, []Destination{{Address: gue.Address, Port: 80, ForwardMethod: Tunnel, Weight: 1, TunnelType: GUE, TunnelPort: 5555}}}),
		want:    "~ -e -t [2001:db8::1]:80 -r [2001:db8::15]:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum\n",
	}, {
		name: "changed identity is delete and add; order across services",
		desired: table(
			svc{Service{Protocol: UDP, Address: addr("192.0.2.10"), Port: 53, Persistent: true, Netmask: 24, OnePacket: true}, []Destination{rs("15", 1)}},
			svc{web, []Destination{{Address: addr("192.0.2.15"), Port: 80, Weight: 1, UpperThreshold: 100, LowerThreshold: 50}}},
		),
		current: table(
			svc{Service{Protocol: UDP, Address: addr("192.0.2.10"), Port: 54}, []Destination{rs("15", 1)}},
			svc{web, []Destination{rs("15", 1), rs("16", 1)}},
		),
		want: "+ -A -u 192.0.2.10:53 -s wlc -p 360 -M 255.255.255.0 -o\n" +
			"~ -e -t 192.0.2.10:80 -r 192.0.2.15:80 -m -w 1 -x 100 -y 50\n" +
			"+ -a -u 192.0.2.10:53 -r 192.0.2.15:80 -m -w 1\n" +
			"- -d -t 192.0.2.10:80 -r 192.0.2.16:80\n" +
			"- -D -u 192.0.2.10:54\n",
	}, {
		name:    "persistence settings of a non-persistent service are ignored",
		desired: table(svc{web, nil}),
		current: table(svc{Service{Protocol: TCP, Address: addr("192.0.2.10"), Port: 80, Scheduler: "wlc", Timeout: 300, Netmask: 24}, nil}),
		want:    "",
	}, {
		name:    "tunnel settings of a non-tunnel destination are ignored",
		desired: table(svc{web, []Destination{rs("15", 1)}}),
		current: table(svc{web, []Destination{{Address: addr("192.0.2.15"), Port: 80, Weight: 1, TunnelType: GUE, TunnelPort: 1}}}),
		want:    "",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Diff(tt.desired, tt.current)
			if got := p.String(); got != tt.want {
				t.Errorf("plan:\n%s\nwant:\n%s", got, tt.want)
			}
			// Applying the plan to current must give desired.
			if again := Diff(tt.desired, simulate(tt.current, p)); len(again.Changes) != 0 {
				t.Errorf("plan does not converge; left:\n%s", again)
			}
		})
	}
}

// simulate applies a plan to a table the way the kernel would; the
// destinations of the result are in list order.
func simulate(t Table, p Plan) Table {
	m := map[ServiceKey]*ServiceEntry{}
	var order []ServiceKey
	for _, s := range t.Services {
		s.Destinations = slices.Clone(s.Destinations)
		m[s.Key()] = &s
		order = append(order, s.Key())
	}
	for _, c := range p.Changes {
		k := c.Service.Key()
		if c.Destination == nil {
			switch c.Op {
			case Add:
				m[k] = &ServiceEntry{Service: c.Service}
				order = append(order, k)
			case Edit:
				m[k].Service = c.Service
			case Delete:
				delete(m, k)
			}
			continue
		}
		s := m[k]
		i := slices.IndexFunc(s.Destinations, func(d DestinationEntry) bool { return d.key() == c.Destination.key() })
		switch c.Op {
		case Add: // at the head of the list, as the kernel does
			s.Destinations = slices.Insert(s.Destinations, 0, DestinationEntry{Destination: *c.Destination})
		case Edit:
			s.Destinations[i].Destination = *c.Destination
		case Delete:
			s.Destinations = slices.Delete(s.Destinations, i, i+1)
		}
	}
	var out Table
	for _, k := range order {
		if s, ok := m[k]; ok {
			out.Services = append(out.Services, *s)
			delete(m, k)
		}
	}
	return out
}

func TestDiffIsPure(t *testing.T) {
	var desired, current Table
	desired.Add(web, rs1, Destination{Address: netip.MustParseAddr("192.0.2.1"), Port: 80})
	desired.Add(Service{FWMark: 1})
	current.Add(Service{FWMark: 2})
	current.Add(web)
	before := slices.Clone(desired.Services[0].Destinations)
	Diff(desired, current)
	if !slices.Equal(desired.Services[0].Destinations, before) || current.Services[0].FWMark != 2 {
		t.Error("Diff reordered its inputs")
	}
}
