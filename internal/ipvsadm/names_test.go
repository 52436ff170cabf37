package ipvsadm

import "net/netip"

// fakeNames resolves from fixed tables.
type fakeNames struct{}

func (fakeNames) HostToAddr(name string) (netip.Addr, bool) {
	if name == "vip1" {
		return netip.MustParseAddr("10.0.0.1"), true
	}
	return netip.Addr{}, false
}

func (fakeNames) AddrToHost(a netip.Addr) (string, bool) {
	switch a.String() {
	case "10.0.0.1":
		return "vip1.example.org", true
	case "10.0.1.2":
		return "a-very-long-real-server-name.example.org", true
	}
	return "", false
}

func (fakeNames) ServiceToPort(name, proto string) (uint16, bool) {
	if name == "http" && proto == "tcp" {
		return 80, true
	}
	return 0, false
}

func (fakeNames) PortToService(port uint16, proto string) (string, bool) {
	if port == 80 && proto == "tcp" {
		return "http", true
	}
	return "", false
}
