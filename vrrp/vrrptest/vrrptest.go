// Package vrrptest is the fake VRRP I/O that tests share: an in-memory
// link ([Hub]) whose conns carry adverts between runners, virtual
// addresses and announcers that record what they are asked, a [Host]
// that opens them for a vrrp.Runner, and a [Clock] that moves only when
// the test says, so that master-down intervals and handover timeouts are
// checked without sleeping.
package vrrptest

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"

	"github.com/lbd-project/lbd/internal/clock/fakeclock"
	"github.com/lbd-project/lbd/vrrp"
)

// Hub is an in-memory link: what one conn sends to the multicast group
// reaches every other conn, what it sends to an address reaches the conn
// with that source. Every packet sent is also copied to the taps.
type Hub struct {
	mu      sync.Mutex
	conns   []*Conn
	taps    []chan vrrp.Packet
	watches []*watch
}

// NewHub returns an empty link.
func NewHub() *Hub { return &Hub{} }

// Conn is one vrrp.Conn on a Hub.
type Conn struct {
	h    *Hub
	src  netip.Addr
	in   chan vrrp.Packet
	once sync.Once
	done chan struct{}
}

// Conn attaches a conn with source src.
func (h *Hub) Conn(src netip.Addr) *Conn {
	c := &Conn{h: h, src: src, in: make(chan vrrp.Packet, 256), done: make(chan struct{})}
	h.mu.Lock()
	h.conns = append(h.conns, c)
	h.mu.Unlock()
	return c
}

// Tap returns a channel that receives a copy of every packet sent on the
// link from now on; a full channel drops.
func (h *Hub) Tap(size int) <-chan vrrp.Packet {
	ch := make(chan vrrp.Packet, size)
	h.mu.Lock()
	h.taps = append(h.taps, ch)
	h.mu.Unlock()
	return ch
}

// Inject delivers a packet as if it came from the wire, to every conn
// it is addressed to.
func (h *Hub) Inject(p vrrp.Packet) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.conns {
		if p.Dst.IsMulticast() || p.Dst == c.src {
			c.deliver(p)
		}
	}
}

func (c *Conn) deliver(p vrrp.Packet) {
	select {
	case <-c.done:
	case c.in <- p:
	default: // full: dropped like a socket buffer would
	}
}

// Send implements vrrp.Conn.
func (c *Conn) Send(msg []byte, dst netip.Addr) error {
	select {
	case <-c.done:
		return net.ErrClosed
	default:
	}
	p := vrrp.Packet{Src: c.src, Dst: dst, TTL: vrrp.TTL, Payload: append([]byte(nil), msg...)}
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	for _, o := range c.h.conns {
		if o != c && (dst.IsMulticast() || dst == o.src) {
			o.deliver(p)
		}
	}
	for _, t := range c.h.taps {
		select {
		case t <- p:
		default:
		}
	}
	return nil
}

// Receive implements vrrp.Conn.
func (c *Conn) Receive() (vrrp.Packet, error) {
	select {
	case <-c.done:
		return vrrp.Packet{}, net.ErrClosed
	case p := <-c.in:
		return p, nil
	}
}

// Close implements vrrp.Conn.
func (c *Conn) Close() error {
	c.once.Do(func() { close(c.done) })
	return nil
}

// VIPs is a vrrp.VIPManager that records the installed addresses.
type VIPs struct {
	mu   sync.Mutex
	have map[netip.Addr]vrrp.VIP
}

// NewVIPs returns a manager with no address installed.
func NewVIPs() *VIPs { return &VIPs{have: map[netip.Addr]vrrp.VIP{}} }

// AddVIP implements vrrp.VIPManager.
func (f *VIPs) AddVIP(v vrrp.VIP) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.have[v.Addr()] = v
	return nil
}

// RemoveVIP implements vrrp.VIPManager.
func (f *VIPs) RemoveVIP(v vrrp.VIP) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.have[v.Addr()]
	delete(f.have, v.Addr())
	return ok, nil
}

// HasVIP implements vrrp.VIPManager.
func (f *VIPs) HasVIP(v vrrp.VIP) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.have[v.Addr()]
	return ok, nil
}

// Count is the number of installed addresses.
func (f *VIPs) Count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.have)
}

// Routes is a vrrp.RouteManager that records the installed routes and
// rules.
type Routes struct {
	mu     sync.Mutex
	routes map[vrrp.Route]bool
	rules  map[vrrp.Rule]bool
}

// NewRoutes returns a manager with nothing installed.
func NewRoutes() *Routes {
	return &Routes{routes: map[vrrp.Route]bool{}, rules: map[vrrp.Rule]bool{}}
}

// AddRoute implements vrrp.RouteManager.
func (f *Routes) AddRoute(r vrrp.Route) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[r] = true
	return nil
}

// RemoveRoute implements vrrp.RouteManager.
func (f *Routes) RemoveRoute(r vrrp.Route) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ok := f.routes[r]
	delete(f.routes, r)
	return ok, nil
}

// AddRule implements vrrp.RouteManager.
func (f *Routes) AddRule(r vrrp.Rule) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules[r] = true
	return nil
}

// RemoveRule implements vrrp.RouteManager.
func (f *Routes) RemoveRule(r vrrp.Rule) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ok := f.rules[r]
	delete(f.rules, r)
	return ok, nil
}

// Count is the number of installed routes and rules.
func (f *Routes) Count() (routes, rules int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.routes), len(f.rules)
}

// Announcer is a vrrp.Announcer that counts announcement rounds and
// tells the watches of the other announcers on its Hub.
type Announcer struct {
	hub    *Hub
	mu     sync.Mutex
	rounds int
	muted  bool
}

// watch is one Announcer.Watch on a Hub.
type watch struct {
	owner *Announcer
	addrs []netip.Addr
	heard func()
}

// Announce implements vrrp.Announcer.
func (a *Announcer) Announce(addrs []netip.Addr) error {
	a.mu.Lock()
	a.rounds++
	muted := a.muted
	a.mu.Unlock()
	if !muted {
		a.hub.announced(a, addrs)
	}
	return nil
}

// Mute keeps a's announcements (still counted) from reaching the other
// hosts, as when they are lost or sent on another link.
func (a *Announcer) Mute(on bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.muted = on
}

// Watch implements vrrp.Announcer: heard hears the announcements of the
// other announcers on the Hub that name one of addrs.
func (a *Announcer) Watch(addrs []netip.Addr, heard func()) (func(), error) {
	w := &watch{owner: a, addrs: slices.Clone(addrs), heard: heard}
	a.hub.mu.Lock()
	a.hub.watches = append(a.hub.watches, w)
	a.hub.mu.Unlock()
	return func() {
		a.hub.mu.Lock()
		defer a.hub.mu.Unlock()
		a.hub.watches = slices.DeleteFunc(a.hub.watches, func(x *watch) bool { return x == w })
	}, nil
}

// announced calls the watches of addrs that from does not own. heard
// runs under the lock, so that none is called after its stop returns.
func (h *Hub) announced(from *Announcer, addrs []netip.Addr) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, w := range h.watches {
		if w.owner != from && slices.ContainsFunc(addrs, func(a netip.Addr) bool { return slices.Contains(w.addrs, a) }) {
			w.heard()
		}
	}
}

// Rounds is the number of announcement rounds so far.
func (a *Announcer) Rounds() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rounds
}

// Host is a vrrp.Host on a Hub. Every member it opens sends from Primary
// (unless its config sets one), installs into VIPs and announces through
// Announcer, and routes into Routes; links are up unless SetLink says otherwise, and the Master
// answers pings unless SetReachable says otherwise.
type Host struct {
	Hub       *Hub
	Primary   netip.Addr
	VIPs      *VIPs
	Routes    *Routes
	Announcer *Announcer

	mu          sync.Mutex
	down        map[string]bool
	watchers    map[string][]func(bool)
	unreachable map[netip.Addr]bool
}

// NewHost returns a host on hub whose members send from primary.
func NewHost(hub *Hub, primary netip.Addr) *Host {
	return &Host{Hub: hub, Primary: primary, VIPs: NewVIPs(), Routes: NewRoutes(), Announcer: &Announcer{hub: hub},
		down: map[string]bool{}, watchers: map[string][]func(bool){}, unreachable: map[netip.Addr]bool{}}
}

// Open implements vrrp.Host; each call attaches a fresh conn, so that a
// restarted runner reads again.
func (h *Host) Open(m *vrrp.MemberConfig) (vrrp.MemberIO, error) {
	src := m.Config.Primary
	if !src.IsValid() {
		src = h.Primary
	}
	anns := map[string]vrrp.Announcer{}
	for _, v := range append(append([]vrrp.VIP(nil), m.VIPs...), m.Excluded...) {
		anns[v.Dev] = h.Announcer
	}
	return vrrp.MemberIO{Primary: src, Conn: h.Hub.Conn(src), VIPs: h.VIPs, Routes: h.Routes, Announcers: anns}, nil
}

// LinkUp implements vrrp.Host.
func (h *Host) LinkUp(ifname string) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.down[ifname], nil
}

// WatchLink implements vrrp.Host: fn hears SetLink until ctx ends.
func (h *Host) WatchLink(ctx context.Context, ifname string, fn func(bool)) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.watchers[ifname] = append(h.watchers[ifname], func(up bool) {
		if ctx.Err() == nil {
			fn(up)
		}
	})
	return nil
}

// SetLink changes an interface's state and tells its watchers.
func (h *Host) SetLink(ifname string, up bool) {
	h.mu.Lock()
	h.down[ifname] = !up
	ws := slices.Clone(h.watchers[ifname])
	h.mu.Unlock()
	for _, fn := range ws {
		go fn(up)
	}
}

// SetReachable makes pings to addr succeed or fail.
func (h *Host) SetReachable(addr netip.Addr, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.unreachable[addr.WithZone("")] = !ok
}

// OpenPinger implements vrrp.Host.
func (h *Host) OpenPinger() (vrrp.Pinger, error) { return pinger{h}, nil }

type pinger struct{ h *Host }

// errUnreachable is a ping without an answer.
var errUnreachable = errors.New("vrrptest: no echo reply")

func (p pinger) Ping(ctx context.Context, a netip.Addr) error {
	p.h.mu.Lock()
	bad := p.h.unreachable[a.WithZone("")]
	p.h.mu.Unlock()
	if bad {
		<-ctx.Done() // no reply: the request times out
		return errUnreachable
	}
	return nil
}

func (pinger) Close() error { return nil }

// Clock is a vrrp.Clock that moves only with Advance.
type Clock = fakeclock.Clock

// NewClock returns a clock set to a fixed date.
func NewClock() *Clock { return fakeclock.New() }
