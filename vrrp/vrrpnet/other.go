//go:build !linux

package vrrpnet

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"time"

	"github.com/lbd-project/lbd/healthcheck"
	"github.com/lbd-project/lbd/vrrp"
)

var errUnsupported = errors.New("vrrpnet: only supported on Linux")

// ConnConfig configures a Conn (Linux only).
type ConnConfig struct {
	Interface string
	Source    netip.Addr
	Unicast   bool
	Group     netip.Addr
}

// Listen is not supported on this platform.
func Listen(ConnConfig) (vrrp.Conn, error) { return nil, errUnsupported }

// LinkLocal is not supported on this platform.
func LinkLocal(string) (netip.Addr, error) { return netip.Addr{}, errUnsupported }

// VIPs manages virtual addresses (Linux only).
type VIPs struct{ Lease time.Duration }

// NewVIPs is not supported on this platform.
func NewVIPs(string) (*VIPs, error) { return nil, errUnsupported }

// AddVIP is not supported on this platform.
func (*VIPs) AddVIP(vrrp.VIP) error { return errUnsupported }

// RemoveVIP is not supported on this platform.
func (*VIPs) RemoveVIP(vrrp.VIP) (bool, error) { return false, errUnsupported }

// HasVIP is not supported on this platform.
func (*VIPs) HasVIP(vrrp.VIP) (bool, error) { return false, errUnsupported }

// Close releases nothing on this platform.
func (*VIPs) Close() {}

// Routes manages routes and rules (Linux only).
type Routes struct{}

// NewRoutes is not supported on this platform.
func NewRoutes() (*Routes, error) { return nil, errUnsupported }

// AddRoute is not supported on this platform.
func (*Routes) AddRoute(vrrp.Route) error { return errUnsupported }

// RemoveRoute is not supported on this platform.
func (*Routes) RemoveRoute(vrrp.Route) (bool, error) { return false, errUnsupported }

// AddRule is not supported on this platform.
func (*Routes) AddRule(vrrp.Rule) error { return errUnsupported }

// RemoveRule is not supported on this platform.
func (*Routes) RemoveRule(vrrp.Rule) (bool, error) { return false, errUnsupported }

// Close releases nothing on this platform.
func (*Routes) Close() {}

// Static keeps static addresses, routes and rules (Linux only).
type Static struct{}

// NewStatic is not supported on this platform.
func NewStatic() (*Static, error) { return nil, errUnsupported }

// Apply is not supported on this platform.
func (*Static) Apply(StaticSet) error { return errUnsupported }

// Close releases nothing on this platform.
func (*Static) Close() {}

// ReleaseVMAC is not supported on this platform.
func ReleaseVMAC(string) (bool, error) { return false, errUnsupported }

// NewAnnouncer is not supported on this platform.
func NewAnnouncer(string) (vrrp.Announcer, error) { return nil, errUnsupported }

// WatchLink is not supported on this platform.
func WatchLink(context.Context, string, func(bool)) error { return errUnsupported }

// Host is the vrrp.Host of a Linux machine; elsewhere it opens nothing.
type Host struct {
	Pinger *healthcheck.Pinger // see the Linux Host
	Logger *slog.Logger        // see the Linux Host
}

// Open is not supported on this platform.
func (Host) Open(*vrrp.MemberConfig) (vrrp.MemberIO, error) { return vrrp.MemberIO{}, errUnsupported }

// LinkUp is not supported on this platform.
func (Host) LinkUp(string) (bool, error) { return false, errUnsupported }

// WatchLink is not supported on this platform.
func (Host) WatchLink(context.Context, string, func(bool)) error { return errUnsupported }

// OpenPinger is not supported on this platform.
func (Host) OpenPinger() (vrrp.Pinger, error) { return nil, errUnsupported }
