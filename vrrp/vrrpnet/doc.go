// Package vrrpnet is the Linux I/O of package vrrp: the raw IP sockets that
// carry VRRP adverts (IP protocol 112, RFC 3768 / RFC 5798), the virtual
// addresses installed over rtnetlink, and the gratuitous ARP (RFC 5227
// announcement) and unsolicited neighbour advertisement (RFC 4861 section
// 7.2.6) frames sent over AF_PACKET.
//
// [Listen] returns a [Conn] (a vrrp.Conn), [NewVIPs] a vrrp.VIPManager and
// [NewAnnouncer] a vrrp.Announcer. Each opens its sockets in the network
// namespace of the calling thread, so a caller that runs in a namespace
// (a test lab node, `ip netns exec`) opens them inside it. The frame
// builders ([GARPFrame], [UnsolicitedNAFrame]) are pure and portable.
package vrrpnet
