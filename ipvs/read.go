package ipvs

import (
	"context"
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// This file holds the Client's queries: GET and dump requests whose
// replies are decoded into values.

// Info returns the kernel's IPVS version and connection table size.
func (c *Client) Info(ctx context.Context) (Info, error) {
	var info Info
	err := c.do(ctx, func() (bool, error) {
		msgs, broken, err := c.query(ctx, "get info", "", cmdGetInfo, false, nil)
		if err != nil {
			return broken, err
		}
		if len(msgs) != 1 {
			return false, fmt.Errorf("ipvs: get info: %d replies", len(msgs))
		}
		info, err = decodeInfo(msgs[0].Data)
		return false, err
	})
	return info, err
}

// Services lists the virtual services with their counters, without
// destinations, in the kernel's order.
func (c *Client) Services(ctx context.Context) ([]ServiceEntry, error) {
	var out []ServiceEntry
	err := c.do(ctx, func() (broken bool, err error) {
		out, broken, err = c.services(ctx)
		return broken, err
	})
	return out, err
}

func (c *Client) services(ctx context.Context) ([]ServiceEntry, bool, error) {
	msgs, broken, err := c.query(ctx, "list", "services", cmdGetService, true, nil)
	if err != nil {
		return nil, broken, err
	}
	out := make([]ServiceEntry, 0, len(msgs))
	for _, m := range msgs {
		b, err := nested(m.Data, attrService)
		if err != nil {
			return nil, false, err
		}
		e, err := decodeService(b)
		if err != nil {
			return nil, false, err
		}
		out = append(out, e)
	}
	return out, false, nil
}

// Destinations lists the destinations of svc with their counters, in the
// kernel's list order (Position). A service that does not exist has none.
func (c *Client) Destinations(ctx context.Context, svc Service) ([]DestinationEntry, error) {
	var out []DestinationEntry
	err := c.do(ctx, func() (broken bool, err error) {
		out, broken, err = c.destinations(ctx, svc)
		return broken, err
	})
	return out, err
}

func (c *Client) destinations(ctx context.Context, svc Service) ([]DestinationEntry, bool, error) {
	msgs, broken, err := c.query(ctx, "list destinations of", svc.String(), cmdGetDest, true,
		func(ae *netlink.AttributeEncoder) { encodeService(ae, svc, false) })
	if err != nil {
		return nil, broken, err
	}
	out := make([]DestinationEntry, 0, len(msgs))
	for _, m := range msgs {
		b, err := nested(m.Data, attrDest)
		if err != nil {
			return nil, false, err
		}
		e, err := decodeDestination(b, svc.family())
		if err != nil {
			return nil, false, err
		}
		e.Position = len(out) // the kernel dumps its list from the head
		out = append(out, e)
	}
	return out, false, nil
}

// Dump reads the whole table: every service, then each service's
// destinations, sorted as Table.Sort does; each destination's Position
// keeps its place in the kernel's list.
func (c *Client) Dump(ctx context.Context) (Table, error) {
	var t Table
	err := c.do(ctx, func() (bool, error) {
		svcs, broken, err := c.services(ctx)
		if err != nil {
			return broken, err
		}
		for i := range svcs {
			svcs[i].Destinations, broken, err = c.destinations(ctx, svcs[i].Service)
			if err != nil {
				return broken, err
			}
		}
		t.Services = svcs
		return false, nil
	})
	if err != nil {
		return Table{}, err
	}
	t.Sort()
	return t, nil
}

// Timeouts returns the TCP, TCP FIN and UDP connection timeouts.
func (c *Client) Timeouts(ctx context.Context) (Timeouts, error) {
	var t Timeouts
	err := c.do(ctx, func() (bool, error) {
		msgs, broken, err := c.query(ctx, "get", "timeouts", cmdGetConfig, false, nil)
		if err != nil {
			return broken, err
		}
		if len(msgs) != 1 {
			return false, fmt.Errorf("ipvs: get timeouts: %d replies", len(msgs))
		}
		t, err = decodeTimeouts(msgs[0].Data)
		return false, err
	})
	return t, err
}

// SyncDaemons lists the running connection synchronisation daemons.
func (c *Client) SyncDaemons(ctx context.Context) ([]SyncDaemon, error) {
	var out []SyncDaemon
	err := c.do(ctx, func() (bool, error) {
		msgs, broken, err := c.query(ctx, "list", "sync daemons", cmdGetDaemon, true, nil)
		if err != nil {
			return broken, err
		}
		for _, m := range msgs {
			b, err := nested(m.Data, attrDaemon)
			if err != nil {
				return false, err
			}
			d, err := decodeDaemon(b)
			if err != nil {
				return false, err
			}
			out = append(out, d)
		}
		return false, nil
	})
	return out, err
}

// DumpServices reads only the given services (by key) and their
// destinations: the table Dump would return, restricted to them. Services
// the kernel does not have are left out. An incremental change (one
// service's real servers) costs a few round trips this way, where a full
// Dump of a large table costs one per service.
func (c *Client) DumpServices(ctx context.Context, svcs ...Service) (Table, error) {
	var t Table
	err := c.do(ctx, func() (bool, error) {
		for _, svc := range svcs {
			msgs, broken, err := c.query(ctx, "get service", svc.String(), cmdGetService, false,
				func(ae *netlink.AttributeEncoder) { encodeService(ae, svc, false) })
			if errors.Is(err, unix.ESRCH) {
				continue
			}
			if err != nil {
				return broken, err
			}
			if len(msgs) != 1 {
				return false, fmt.Errorf("ipvs: get service %s: %d replies", svc, len(msgs))
			}
			b, err := nested(msgs[0].Data, attrService)
			if err != nil {
				return false, err
			}
			e, err := decodeService(b)
			if err != nil {
				return false, err
			}
			if e.Destinations, broken, err = c.destinations(ctx, e.Service); err != nil {
				return broken, err
			}
			t.Services = append(t.Services, e)
		}
		return false, nil
	})
	if err != nil {
		return Table{}, err
	}
	t.Sort()
	return t, nil
}
