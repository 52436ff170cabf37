package vrrpnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/lbd-project/lbd/vrrp"
	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Announcer sends gratuitous ARP and unsolicited neighbour advertisements
// as raw Ethernet frames on one interface. It implements vrrp.Announcer.
// Its packet sockets carry a filter that accepts nothing, so they never
// queue received frames, except while Watch reads them.
type Announcer struct {
	ifi *net.Interface
	// Router sets the Router flag of neighbour advertisements (set it
	// when the host forwards IPv6, as keepalived does).
	Router bool
	arp    *packet.Conn
	nd     *packet.Conn
	ll     netip.Addr // source of neighbour advertisements

	watchMu  sync.Mutex
	watching bool // one Watch at a time reads the sockets
}

var _ vrrp.Announcer = (*Announcer)(nil)

// dropAll is a BPF program that accepts no packet; acceptAll takes every
// one whole.
var dropAll, acceptAll = assemble(bpf.RetConstant{Val: 0}), assemble(bpf.RetConstant{Val: 1 << 16})

func assemble(prog ...bpf.Instruction) []bpf.RawInstruction {
	raw, err := bpf.Assemble(prog)
	if err != nil {
		panic(err)
	}
	return raw
}

// neighbourAdverts is a BPF program for an ETH_P_IPV6 packet socket that
// accepts ICMPv6 neighbour advertisements without extension headers (as
// announcements are sent) and nothing else, so that the traffic of the
// interface never reaches the watch.
var neighbourAdverts = func() []bpf.RawInstruction {
	const (
		nextHeader = 14 + 6  // in the IPv6 header, after Ethernet's
		icmpType   = 14 + 40 // the first byte after the IPv6 header
	)
	return assemble(
		bpf.LoadAbsolute{Off: nextHeader, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.IPPROTO_ICMPV6, SkipFalse: 3},
		bpf.LoadAbsolute{Off: icmpType, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 136, SkipFalse: 1}, // neighbour advertisement
		bpf.RetConstant{Val: 1 << 16},
		bpf.RetConstant{Val: 0},
	)
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

// Watch implements vrrp.Announcer. It reads the Announcer's own sockets,
// opened in the network namespace where NewAnnouncer ran (the runner that
// watches may run on a thread of another): while it watches, their
// filters let in ARP (when addrs has IPv4 addresses) and neighbour
// advertisements (when it has IPv6 ones); after, nothing again.
func (a *Announcer) Watch(addrs []netip.Addr, heard func()) (stop func(), err error) {
	a.watchMu.Lock()
	if a.watching {
		a.watchMu.Unlock()
		return nil, fmt.Errorf("vrrpnet: already watching announcements on %s", a.ifi.Name)
	}
	a.watching = true
	a.watchMu.Unlock()
	addrs = slices.Clone(addrs)
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	var conns []*packet.Conn
	watch := func(c *packet.Conn, filter []bpf.RawInstruction) error {
		conns = append(conns, c)
		if err := c.SetReadDeadline(time.Time{}); err != nil {
			return err
		}
		return c.SetBPF(filter)
	}
	if slices.ContainsFunc(addrs, netip.Addr.Is4) {
		err = watch(a.arp, acceptAll)
	}
	if err == nil && slices.ContainsFunc(addrs, netip.Addr.Is6) {
		err = watch(a.nd, neighbourAdverts)
	}
	var wg sync.WaitGroup
	stop = func() {
		for _, c := range conns {
			c.SetBPF(dropAll)
			c.SetReadDeadline(time.Unix(1, 0)) // wakes the reader
		}
		wg.Wait()
		for _, c := range conns {
			c.SetReadDeadline(time.Time{})
			drain(c) // what came in before the filter closed must not reach the next watch
		}
		a.watchMu.Lock()
		a.watching = false
		a.watchMu.Unlock()
	}
	if err != nil {
		stop()
		return nil, fmt.Errorf("vrrpnet: watching announcements on %s: %w", a.ifi.Name, err)
	}
	for _, c := range conns {
		wg.Go(func() {
			buf := make([]byte, 1514) // frames longer are cut; the headers are all we read
			for {
				n, _, err := c.ReadFrom(buf)
				if err != nil {
					return // stopped (or the link went: the handover then waits its longest)
				}
				if AnnouncedBy(buf[:n], a.ifi.HardwareAddr, addrs) {
					heard()
				}
			}
		})
	}
	return stop, nil
}

// drain discards the frames c has queued, without waiting for more.
func drain(c *packet.Conn) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	buf := make([]byte, 64)
	rc.Read(func(fd uintptr) bool {
		for {
			if _, _, err := unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT); err != nil {
				return true
			}
		}
	})
}
