package ipvs

import (
	"net/netip"
	"slices"
	"testing"
)

func TestServiceKeyString(t *testing.T) {
	addr := netip.MustParseAddr
	tests := []struct {
		svc  Service
		want string
	}{
		{Service{Protocol: TCP, Address: addr("192.0.2.10"), Port: 80}, "TCP 192.0.2.10:80"},
		{Service{Protocol: UDP, Address: addr("2001:db8::1"), Port: 53}, "UDP [2001:db8::1]:53"},
		{Service{Protocol: SCTP, Address: addr("192.0.2.1"), Port: 9}, "SCTP 192.0.2.1:9"},
		{Service{FWMark: 1}, "FWM 1"},
		{Service{FWMark: 1, Family: IPv6}, "FWM 1 IPv6"},
	}
	for _, tt := range tests {
		if got := tt.svc.Key().String(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.svc, got, tt.want)
		}
	}
}

func TestKeyIgnoresDefaults(t *testing.T) {
	a := Service{Protocol: TCP, Address: netip.MustParseAddr("192.0.2.10"), Port: 80}
	b := a
	b.Family, b.Scheduler = IPv4, "rr"
	if a.Key() != b.Key() {
		t.Errorf("keys differ: %+v vs %+v", a.Key(), b.Key())
	}
	if (Service{FWMark: 1}).Key() == (Service{FWMark: 1, Family: IPv6}).Key() {
		t.Error("IPv4 and IPv6 mark services share a key")
	}
}

func TestServiceKeyCompare(t *testing.T) {
	addr := netip.MustParseAddr
	keys := []ServiceKey{
		{Family: IPv6, FWMark: 1},
		{Family: IPv4, FWMark: 2},
		{Family: IPv4, FWMark: 1},
		{Family: IPv6, Protocol: TCP, Address: addr("2001:db8::1"), Port: 80},
		{Family: IPv4, Protocol: UDP, Address: addr("192.0.2.1"), Port: 53},
		{Family: IPv4, Protocol: TCP, Address: addr("192.0.2.2"), Port: 80},
		{Family: IPv4, Protocol: TCP, Address: addr("192.0.2.1"), Port: 443},
		{Family: IPv4, Protocol: TCP, Address: addr("192.0.2.1"), Port: 80},
	}
	slices.SortFunc(keys, ServiceKey.Compare)
	var got []string
	for _, k := range keys {
		got = append(got, k.String())
	}
	want := []string{
		"TCP 192.0.2.1:80", "TCP 192.0.2.1:443", "TCP 192.0.2.2:80", "UDP 192.0.2.1:53",
		"TCP [2001:db8::1]:80", "FWM 1", "FWM 2", "FWM 1 IPv6",
	}
	if !slices.Equal(got, want) {
		t.Errorf("order %q, want %q", got, want)
	}
}

func TestStrings(t *testing.T) {
	tests := []struct{ got, want string }{
		{TCP.String(), "TCP"}, {UDP.String(), "UDP"}, {SCTP.String(), "SCTP"}, {Protocol(1).String(), "protocol(1)"},
		{Masq.String(), "Masq"}, {Local.String(), "Local"}, {Tunnel.String(), "Tunnel"}, {Route.String(), "Route"},
		{IPIP.String(), "ipip"}, {GUE.String(), "gue"}, {GRE.String(), "gre"},
		{TunnelFlags(0).String(), "nocsum"}, {TunnelCsum.String(), "csum"}, {TunnelRemCsum.String(), "remcsum"},
		{IPv4.String(), "IPv4"}, {IPv6.String(), "IPv6"},
		{Master.String(), "master"}, {Backup.String(), "backup"},
		{Version{1, 2, 1}.String(), "1.2.1"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%q, want %q", tt.got, tt.want)
		}
	}
}

func TestSchedFlagNames(t *testing.T) {
	tests := []struct {
		sched string
		flags SchedFlags
		names string
	}{
		{"sh", SHFallback | SHPort, "sh-fallback,sh-port"},
		{"sh", SHPort, "sh-port"},
		{"mh", MHFallback, "mh-fallback"},
		{"mh", MHFallback | MHPort, "mh-fallback,mh-port"},
		{"wlc", SchedFlag1 | SchedFlag3, "flag-1,flag-3"},
		{"rr", 0, ""},
	}
	for _, tt := range tests {
		if got := FormatSchedFlags(tt.sched, tt.flags); got != tt.names {
			t.Errorf("Format(%s, %d) = %q, want %q", tt.sched, tt.flags, got, tt.names)
		}
		if tt.sched != "wlc" {
			got, err := ParseSchedFlags(tt.sched, tt.names)
			if err != nil || got != tt.flags {
				t.Errorf("Parse(%s, %q) = %d, %v; want %d", tt.sched, tt.names, got, err, tt.flags)
			}
		}
	}
	if _, err := ParseSchedFlags("sh", "mh-port"); err == nil {
		t.Error("mh-port accepted for sh")
	}
}
