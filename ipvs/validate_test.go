package ipvs

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestServiceValidate(t *testing.T) {
	addr := netip.MustParseAddr
	tcp := func(f func(*Service)) Service {
		s := Service{Protocol: TCP, Address: addr("192.0.2.10"), Port: 80}
		f(&s)
		return s
	}
	tests := []struct {
		name string
		svc  Service
		want string // substring of the error; "" means valid
	}{
		{"plain", tcp(func(*Service) {}), ""},
		{"fwmark", Service{FWMark: 1, Family: IPv6}, ""},
		{"persistent port 0", tcp(func(s *Service) { s.Port, s.Persistent = 0, true }), ""},
		{"sh flags", tcp(func(s *Service) { s.Scheduler, s.SchedFlags = "sh", SHFallback|SHPort }), ""},
		{"mh flags", tcp(func(s *Service) { s.Scheduler, s.SchedFlags = "mh", MHPort }), ""},
		{"IPv6 /128", Service{Protocol: UDP, Address: addr("2001:db8::1"), Port: 53, Persistent: true, Netmask: 128}, ""},
		{"sip", tcp(func(s *Service) { s.Persistent, s.PEName = true, "sip" }), ""},

		{"no address", Service{Protocol: TCP, Port: 80}, "no service address"},
		{"unspecified address", tcp(func(s *Service) { s.Address = addr("0.0.0.0") }), "unspecified"},
		{"mapped address", tcp(func(s *Service) { s.Address = addr("::ffff:192.0.2.10") }), "use 192.0.2.10"},
		{"zone", tcp(func(s *Service) { s.Address = addr("fe80::1%eth0") }), "has a zone"},
		{"family mismatch", tcp(func(s *Service) { s.Family = IPv6 }), "family IPv6 does not match address 192.0.2.10"},
		{"unknown family", tcp(func(s *Service) { s.Family = 99 }), "unsupported address family"},
		{"protocol", tcp(func(s *Service) { s.Protocol = 1 }), "unsupported protocol"},
		{"port 0", tcp(func(s *Service) { s.Port = 0 }), "port 0 needs persistence"},
		{"fwmark with address", Service{FWMark: 1, Address: addr("192.0.2.1")}, "firewall-mark service has no protocol"},
		{"unknown scheduler", tcp(func(s *Service) { s.Scheduler = "fastest" }), `unknown scheduler "fastest"`},
		{"flags on wlc", tcp(func(s *Service) { s.SchedFlags = SchedFlag1 }), "scheduler wlc has no flag flag-1"},
		{"flag 3 on sh", tcp(func(s *Service) { s.Scheduler, s.SchedFlags = "sh", SchedFlag3 }), "scheduler sh has no flag flag-3"},
		{"IPv4 netmask", tcp(func(s *Service) { s.Persistent, s.Netmask = true, 33 }), "/33 out of range for IPv4"},
		{"IPv6 netmask", Service{Protocol: TCP, Address: addr("2001:db8::1"), Port: 80, Persistent: true, Netmask: 129}, "/129 out of range for IPv6"},
		{"negative netmask", tcp(func(s *Service) { s.Persistent, s.Netmask = true, -1 }), "out of range"},
		{"timeout without persistence", tcp(func(s *Service) { s.Timeout = 60 }), "without persistence"},
		{"unknown pe", tcp(func(s *Service) { s.PEName = "http" }), "unknown persistence engine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.svc.Validate()
			checkValidation(t, err, tt.want, "service "+tt.svc.String())
		})
	}
}

func checkValidation(t *testing.T, err error, want, object string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v, want *ValidationError", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
	if ve.Object != object {
		t.Errorf("object %q, want %q", ve.Object, object)
	}
}

func TestDestinationValidate(t *testing.T) {
	addr := netip.MustParseAddr
	v6svc := Service{Protocol: TCP, Address: addr("2001:db8::1"), Port: 80}
	d := func(f func(*Destination)) Destination {
		x := Destination{Address: addr("192.0.2.15"), Port: 80, Weight: 1}
		f(&x)
		return x
	}
	tun := func(tt TunnelType, port uint16, flags TunnelFlags) Destination {
		return d(func(x *Destination) {
			x.ForwardMethod, x.TunnelType, x.TunnelPort, x.TunnelFlags = Tunnel, tt, port, flags
		})
	}
	tests := []struct {
		name string
		svc  Service
		dest Destination
		want string
	}{
		{"masq", web, d(func(*Destination) {}), ""},
		{"weight 0", web, d(func(x *Destination) { x.Weight = 0 }), ""},
		{"thresholds", web, d(func(x *Destination) { x.UpperThreshold, x.LowerThreshold = 10, 5 }), ""},
		{"ipip", web, tun(IPIP, 0, 0), ""},
		{"gue nocsum", web, tun(GUE, 6080, 0), ""},
		{"gue remcsum", web, tun(GUE, 6080, TunnelRemCsum), ""},
		{"gre csum", web, tun(GRE, 0, TunnelCsum), ""},
		{"IPv4 tunnel in IPv6 service", v6svc, tun(IPIP, 0, 0), ""},
		{"route keeps the service port", web, d(func(x *Destination) { x.ForwardMethod = Route }), ""},
		{"masq maps ports", web, d(func(x *Destination) { x.Port = 8080 }), ""},
		{"fwmark tunnel to any port", Service{FWMark: 1}, d(func(x *Destination) { x.ForwardMethod, x.Port = Tunnel, 8080 }), ""},

		{"route to another port", web, d(func(x *Destination) { x.ForwardMethod, x.Port = Route, 8080 }),
			"Route destination port 8080 must equal the service port 80"},
		{"tunnel without port", web, d(func(x *Destination) { x.ForwardMethod, x.Port = Tunnel, 0 }),
			"Tunnel destination port 0 must equal the service port 80"},
		{"negative weight", web, d(func(x *Destination) { x.Weight = -1 }), "negative weight -1"},
		{"thresholds reversed", web, d(func(x *Destination) { x.UpperThreshold, x.LowerThreshold = 5, 10 }), "lower threshold 10 above upper threshold 5"},
		{"no address", web, d(func(x *Destination) { x.Address = netip.Addr{} }), "no destination address"},
		{"family mismatch", web, d(func(x *Destination) { x.Family = IPv6 }), "family IPv6 does not match"},
		{"IPv4 dest in IPv6 service", v6svc, d(func(*Destination) {}), "IPv4 destination in an IPv6 service needs tunnel forwarding"},
		{"unknown method", web, d(func(x *Destination) { x.ForwardMethod = 4 }), "unknown forwarding method"},
		{"tunnel type on masq", web, d(func(x *Destination) { x.TunnelType = GUE }), "tunnel options on a Masq destination"},
		{"tunnel port on route", web, d(func(x *Destination) { x.ForwardMethod, x.TunnelPort = Route, 1 }), "tunnel options on a Route destination"},
		{"tunnel flags on masq", web, d(func(x *Destination) { x.TunnelFlags = TunnelCsum }), "tunnel options"},
		{"gue without port", web, tun(GUE, 0, 0), "gue tunnel needs a port"},
		{"ipip with port", web, tun(IPIP, 6080, 0), "tunnel port is only for gue"},
		{"ipip with csum", web, tun(IPIP, 0, TunnelCsum), "ipip tunnel takes no checksum flags"},
		{"gre remcsum", web, tun(GRE, 0, TunnelRemCsum), "remcsum is only for gue"},
		{"csum and remcsum", web, tun(GUE, 1, TunnelCsum|TunnelRemCsum), "exclude each other"},
		{"unknown flags", web, tun(GUE, 1, 8), "unknown tunnel flags"},
		{"unknown type", web, tun(7, 0, 0), "unknown tunnel type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.dest.Validate(tt.svc)
			checkValidation(t, err, tt.want, "destination "+tt.dest.String()+" of "+tt.svc.String())
		})
	}
}

func TestTableValidate(t *testing.T) {
	var tbl Table
	tbl.Add(web, rs1, rs1)
	tbl.Add(web)
	err := tbl.Validate()
	for _, want := range []string{"duplicate destination 192.0.2.15:80", "duplicate service TCP 192.0.2.10:80"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not contain %q", err, want)
		}
	}
}
