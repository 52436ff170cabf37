package lab

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/ipv4"
)

// partitionTable is the nftables table DropVRRPFrom adds in a node's
// namespace; it goes with the namespace.
const partitionTable = "lbdpartition"

// DropVRRPFrom makes n drop VRRP (IP protocol 112) from the IPv4 address
// peer, partitioning two routers from each other while the rest of their
// traffic flows. HealPartition undoes it.
func (n *Node) DropVRRPFrom(peer netip.Addr) {
	n.lab.tb.Helper()
	n.MustRun("nft", "add", "table", "ip", partitionTable)
	n.MustRun("nft", "add", "chain", "ip", partitionTable, "in", "{ type filter hook input priority 0; }")
	n.MustRun("nft", "add", "rule", "ip", partitionTable, "in", "ip", "saddr", peer.String(), "ip", "protocol", "112", "drop")
}

// HealPartition removes what DropVRRPFrom added.
func (n *Node) HealPartition() {
	n.lab.tb.Helper()
	n.MustRun("nft", "delete", "table", "ip", partitionTable)
}

// WaitAdvert returns once n hears a VRRP advert from the IPv4 address src
// on its eth0, and fails the test if none comes within timeout.
func (n *Node) WaitAdvert(src netip.Addr, timeout time.Duration) {
	tb := n.lab.tb
	tb.Helper()
	var pc net.PacketConn
	err := n.Do(func() error {
		var err error
		if pc, err = net.ListenPacket("ip4:112", "0.0.0.0"); err != nil {
			return err
		}
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		// Multicast reaches a raw socket only in a group the host joined.
		return ipv4.NewPacketConn(pc).JoinGroup(ifi, &net.UDPAddr{IP: net.IPv4(224, 0, 0, 18)})
	})
	if pc != nil {
		defer pc.Close()
	}
	if err != nil {
		tb.Fatalf("lab: %s: VRRP listener: %v", n.Name, err)
	}
	pc.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 1500)
	for {
		_, from, err := pc.ReadFrom(buf)
		if err != nil {
			tb.Fatalf("lab: %s: no VRRP advert from %v: %v", n.Name, src, err)
		}
		if ip, ok := from.(*net.IPAddr); ok && ip.IP.Equal(src.AsSlice()) {
			return
		}
	}
}

// SendRawIPv4 sends payloads as IPv4 packets of protocol proto from node n
// out of interface iface to dst with the given TTL, through a raw IP
// socket of its own: the kernel writes the IP header (source: n's address
// on iface), the payload is sent as given, malformed or not. Hostile-input
// tests use it to forge VRRP adverts (TTL other than 255, bad checksums,
// unicast destinations).
func (n *Node) SendRawIPv4(iface string, proto, ttl int, dst netip.Addr, payloads ...[]byte) error {
	return n.Do(func() error {
		c, err := net.ListenPacket(fmt.Sprintf("ip4:%d", proto), "0.0.0.0")
		if err != nil {
			return err
		}
		defer c.Close()
		p := ipv4.NewPacketConn(c)
		ifi, err := net.InterfaceByName(iface)
		if err != nil {
			return err
		}
		if err := p.SetMulticastInterface(ifi); err != nil {
			return err
		}
		if err := p.SetMulticastTTL(ttl); err != nil {
			return err
		}
		if err := p.SetTTL(ttl); err != nil {
			return err
		}
		to := &net.IPAddr{IP: dst.AsSlice()}
		for _, b := range payloads {
			if _, err := p.WriteTo(b, nil, to); err != nil {
				return err
			}
		}
		return nil
	})
}
