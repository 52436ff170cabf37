package ipvs

import (
	"context"
	"fmt"
	"time"

	"github.com/mdlayher/netlink"
)

// This file holds the Client's single changes. Each validates its input,
// then sends one acknowledged request through the same path as Apply.

// NewService adds a virtual service.
func (c *Client) NewService(ctx context.Context, svc Service) error {
	return c.change(ctx, Change{Op: Add, Service: svc})
}

// UpdateService changes the settings of an existing service in place.
func (c *Client) UpdateService(ctx context.Context, svc Service) error {
	return c.change(ctx, Change{Op: Edit, Service: svc})
}

// DeleteService removes a service and its destinations.
func (c *Client) DeleteService(ctx context.Context, svc Service) error {
	return c.change(ctx, Change{Op: Delete, Service: svc})
}

// NewDestination adds a destination to svc.
func (c *Client) NewDestination(ctx context.Context, svc Service, d Destination) error {
	return c.change(ctx, Change{Op: Add, Service: svc, Destination: &d})
}

// UpdateDestination changes a destination of svc in place.
func (c *Client) UpdateDestination(ctx context.Context, svc Service, d Destination) error {
	return c.change(ctx, Change{Op: Edit, Service: svc, Destination: &d})
}

// DeleteDestination removes a destination from svc.
func (c *Client) DeleteDestination(ctx context.Context, svc Service, d Destination) error {
	return c.change(ctx, Change{Op: Delete, Service: svc, Destination: &d})
}

// change validates and sends a single change.
func (c *Client) change(ctx context.Context, ch Change) error {
	if err := ch.validate(); err != nil {
		return err
	}
	return c.set(ctx, ch.opName(), ch.object(), ch.command(), ch.encode)
}

// Flush removes every service and destination.
func (c *Client) Flush(ctx context.Context) error {
	return c.set(ctx, "flush", "", cmdFlush, nil)
}

// Zero resets the counters of every service and destination.
func (c *Client) Zero(ctx context.Context) error {
	return c.set(ctx, "zero", "", cmdZero, nil)
}

// ZeroService resets the counters of svc and its destinations.
func (c *Client) ZeroService(ctx context.Context, svc Service) error {
	return c.set(ctx, "zero", svc.String(), cmdZero,
		func(ae *netlink.AttributeEncoder) { encodeService(ae, svc, false) })
}

// SetTimeouts sets the connection timeouts; zero fields stay unchanged.
// Timeouts are whole seconds.
func (c *Client) SetTimeouts(ctx context.Context, t Timeouts) error {
	for _, d := range []time.Duration{t.TCP, t.TCPFin, t.UDP} {
		if d < 0 || d%time.Second != 0 || d/time.Second > 1<<31-1 {
			return fmt.Errorf("ipvs: set timeouts: %v is not a whole number of seconds", d)
		}
	}
	return c.set(ctx, "set", "timeouts", cmdSetConfig,
		func(ae *netlink.AttributeEncoder) { encodeTimeouts(ae, t) })
}

// StartSyncDaemon starts a master or backup synchronisation daemon.
func (c *Client) StartSyncDaemon(ctx context.Context, d SyncDaemon) error {
	if err := d.validate(); err != nil {
		return err
	}
	return c.set(ctx, "start", d.State.String()+" sync daemon", cmdNewDaemon,
		func(ae *netlink.AttributeEncoder) { encodeDaemon(ae, d, true) })
}

// StopSyncDaemon stops the master or backup synchronisation daemon.
func (c *Client) StopSyncDaemon(ctx context.Context, state DaemonState) error {
	return c.set(ctx, "stop", state.String()+" sync daemon", cmdDelDaemon,
		func(ae *netlink.AttributeEncoder) { encodeDaemon(ae, SyncDaemon{State: state}, false) })
}
