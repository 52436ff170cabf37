package ipvs

import (
	"errors"
	"slices"
)

// ServiceEntry is a service as the kernel reports it: the configuration,
// its runtime counters, and (in a Table) its destinations.
type ServiceEntry struct {
	Service
	Stats Stats
	// Destinations are filled by Dump and by Table.Add; Services leaves
	// them empty.
	Destinations []DestinationEntry
	// Ordered, in a desired table, makes Diff leave the kernel's list of
	// the service's destinations in the order of Destinations (see Diff
	// and CanonicalOrder). Dump leaves it false.
	Ordered bool
}

// DestinationEntry is a destination with its runtime counters.
type DestinationEntry struct {
	Destination
	ActiveConns  uint32
	InactConns   uint32
	PersistConns uint32
	Stats        Stats
	// Position is the destination's place in its service's list in the
	// kernel, 0 for the head, as Dump and Destinations read it: the list
	// the schedulers mh and sh walk to build their lookup tables. Dump
	// sorts destinations by address, so Position is what keeps the
	// kernel's order. In a table built by hand (Table.Add) it is 0 and the
	// slice order is the list order.
	Position int
}

// Table is a whole IPVS table: services with their destinations. Plan
// compares only the Service and Destination parts, so a desired table is
// built from configuration alone and a dumped one carries counters too.
type Table struct {
	Services []ServiceEntry
}

// Add appends a service with its destinations.
func (t *Table) Add(svc Service, dests ...Destination) {
	e := ServiceEntry{Service: svc}
	for _, d := range dests {
		e.Destinations = append(e.Destinations, DestinationEntry{Destination: d})
	}
	t.Services = append(t.Services, e)
}

// Sort orders services by key and each service's destinations by address
// and port, so equal tables print and compare the same.
func (t *Table) Sort() {
	slices.SortFunc(t.Services, func(a, b ServiceEntry) int { return a.Key().Compare(b.Key()) })
	for _, s := range t.Services {
		slices.SortFunc(s.Destinations, func(a, b DestinationEntry) int {
			return compareDest(a.Destination, b.Destination)
		})
	}
}

// Validate checks every service and destination, and that no service or
// destination appears twice. It returns all problems joined.
func (t Table) Validate() error {
	var errs []error
	seen := make(map[ServiceKey]bool, len(t.Services))
	for _, s := range t.Services {
		if err := s.Service.Validate(); err != nil {
			errs = append(errs, err)
		}
		if k := s.Key(); seen[k] {
			errs = append(errs, &ValidationError{Object: "table", Problems: []string{"duplicate service " + k.String()}})
		} else {
			seen[k] = true
		}
		dests := make(map[destKey]bool, len(s.Destinations))
		for _, d := range s.Destinations {
			if err := d.Destination.Validate(s.Service); err != nil {
				errs = append(errs, err)
			}
			if dests[d.key()] {
				errs = append(errs, &ValidationError{Object: "service " + s.String(), Problems: []string{"duplicate destination " + d.String()}})
			}
			dests[d.key()] = true
		}
	}
	return errors.Join(errs...)
}
