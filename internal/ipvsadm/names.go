package ipvsadm

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Resolver turns names into addresses and ports and back, the lookups
// ipvsadm makes through gethostbyname, gethostbyaddr, getservbyname and
// getservbyport.
type Resolver interface {
	// HostToAddr returns the first IPv4 address of name.
	HostToAddr(name string) (netip.Addr, bool)
	// AddrToHost returns the canonical name of a, without a trailing dot.
	AddrToHost(a netip.Addr) (string, bool)
	// ServiceToPort returns the port of a service name for proto ("tcp",
	// "udp" or "sctp").
	ServiceToPort(name, proto string) (uint16, bool)
	// PortToService returns the first service name of port for proto.
	PortToService(port uint16, proto string) (string, bool)
}

// SystemResolver resolves hosts with Go's resolver (which reads
// /etc/hosts and DNS like glibc's "files dns") and services from
// ServicesFile, caching every answer for the life of the value.
type SystemResolver struct {
	// ServicesFile defaults to /etc/services.
	ServicesFile string
	// Timeout bounds each host lookup; default 5 s.
	Timeout time.Duration

	once     sync.Once
	services []servEntry
	mu       sync.Mutex
	hosts    map[netip.Addr]string
	names    map[string]netip.Addr
}

type servEntry struct {
	name    string
	aliases []string
	port    uint16
	proto   string
}

func (r *SystemResolver) ctx() (context.Context, context.CancelFunc) {
	t := r.Timeout
	if t == 0 {
		t = 5 * time.Second
	}
	return context.WithTimeout(context.Background(), t)
}

// HostToAddr implements Resolver.
func (r *SystemResolver) HostToAddr(name string) (netip.Addr, bool) {
	r.mu.Lock()
	if a, ok := r.names[name]; ok {
		r.mu.Unlock()
		return a, a.IsValid()
	}
	r.mu.Unlock()
	ctx, cancel := r.ctx()
	defer cancel()
	var out netip.Addr
	if name != "" {
		if ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", name); err == nil && len(ips) > 0 {
			out = ips[0].Unmap()
		}
	}
	r.mu.Lock()
	if r.names == nil {
		r.names = map[string]netip.Addr{}
	}
	r.names[name] = out
	r.mu.Unlock()
	return out, out.IsValid()
}

// AddrToHost implements Resolver.
func (r *SystemResolver) AddrToHost(a netip.Addr) (string, bool) {
	r.mu.Lock()
	if h, ok := r.hosts[a]; ok {
		r.mu.Unlock()
		return h, h != ""
	}
	r.mu.Unlock()
	ctx, cancel := r.ctx()
	defer cancel()
	var out string
	if names, err := net.DefaultResolver.LookupAddr(ctx, a.String()); err == nil && len(names) > 0 {
		out = strings.TrimSuffix(names[0], ".")
	}
	r.mu.Lock()
	if r.hosts == nil {
		r.hosts = map[netip.Addr]string{}
	}
	r.hosts[a] = out
	r.mu.Unlock()
	return out, out != ""
}

func (r *SystemResolver) load() {
	r.once.Do(func() {
		path := r.ServicesFile
		if path == "" {
			path = "/etc/services"
		}
		f, err := os.Open(path)
		if err != nil {
			return
		}
		defer f.Close()
		r.services = parseServices(f)
	})
}

// parseServices reads an /etc/services file.
func parseServices(rd io.Reader) []servEntry {
	var out []servEntry
	sc := bufio.NewScanner(rd)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		portStr, proto, ok := strings.Cut(f[1], "/")
		if !ok {
			continue
		}
		port, err := strconv.ParseUint(portStr, 10, 16)
		if err != nil {
			continue
		}
		out = append(out, servEntry{name: f[0], aliases: f[2:], port: uint16(port), proto: proto})
	}
	return out
}

// ServiceToPort implements Resolver.
func (r *SystemResolver) ServiceToPort(name, proto string) (uint16, bool) {
	r.load()
	for _, e := range r.services {
		if e.proto != proto {
			continue
		}
		if e.name == name {
			return e.port, true
		}
		for _, al := range e.aliases {
			if al == name {
				return e.port, true
			}
		}
	}
	return 0, false
}

// PortToService implements Resolver.
func (r *SystemResolver) PortToService(port uint16, proto string) (string, bool) {
	r.load()
	for _, e := range r.services {
		if e.proto == proto && e.port == port {
			return e.name, true
		}
	}
	return "", false
}
