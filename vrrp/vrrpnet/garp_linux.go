package vrrpnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/lbd-project/lbd/vrrp"
	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Announcer sends gratuitous ARP and unsolicited neighbour advertisements
// as raw Ethernet frames on one interface. It implements vrrp.Announcer.
// Its packet sockets carry a filter that accepts nothing, so they never
// queue received frames.
type Announcer struct {
	ifi *net.Interface
	// Router sets the Router flag of neighbour advertisements (set it
	// when the host forwards IPv6, as keepalived does).
	Router bool
	arp    *packet.Conn
	nd     *packet.Conn
	ll     netip.Addr // source of neighbour advertisements
}

var _ vrrp.Announcer = (*Announcer)(nil)

// dropAll is a BPF program that accepts no packet.
var dropAll = func() []bpf.RawInstruction {
	raw, err := bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: 0}})
	if err != nil {
		panic(err)
	}
	return raw
}()

// NewAnnouncer opens the packet sockets on ifname in the network namespace
// of the calling thread.
func NewAnnouncer(ifname string) (*Announcer, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("vrrpnet: announcer: interface %q: %w", ifname, err)
	}
	if len(ifi.HardwareAddr) != 6 {
		return nil, fmt.Errorf("vrrpnet: announcer: %s has no Ethernet address", ifname)
	}
	cfg := &packet.Config{Filter: dropAll}
	arp, err := packet.Listen(ifi, packet.Raw, unix.ETH_P_ARP, cfg)
	if err != nil {
		return nil, fmt.Errorf("vrrpnet: announcer on %s: %w", ifname, err)
	}
	nd, err := packet.Listen(ifi, packet.Raw, unix.ETH_P_IPV6, cfg)
	if err != nil {
		arp.Close()
		return nil, fmt.Errorf("vrrpnet: announcer on %s: %w", ifname, err)
	}
	// Looked up now: later calls may run on a thread of another
	// namespace. Without one, only IPv4 can be announced.
	ll, _ := LinkLocal(ifname)
	return &Announcer{ifi: ifi, arp: arp, nd: nd, ll: ll}, nil
}

// Close closes the sockets.
func (a *Announcer) Close() error { return errors.Join(a.arp.Close(), a.nd.Close()) }

// Announce sends one frame per address: gratuitous ARP for IPv4, an
// unsolicited neighbour advertisement for IPv6, from the link-local
// address the interface had when the Announcer was made. It tries every address and returns the errors joined.
func (a *Announcer) Announce(addrs []netip.Addr) error {
	var errs []error
	for _, ip := range addrs {
		ip = ip.Unmap()
		var (
			frame []byte
			err   error
			conn  = a.arp
			dst   = BroadcastMAC
		)
		if ip.Is4() {
			frame, err = GARPFrame(a.ifi.HardwareAddr, ip)
		} else {
			conn, dst = a.nd, AllNodesMAC
			frame, err = UnsolicitedNAFrame(a.ifi.HardwareAddr, a.ll, ip, a.Router)
		}
		if err == nil {
			_, err = conn.WriteTo(frame, &packet.Addr{HardwareAddr: dst})
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("vrrpnet: announce %v on %s: %w", ip, a.ifi.Name, err))
		}
	}
	return errors.Join(errs...)
}
