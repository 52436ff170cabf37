package vrrpnet

import (
	"errors"
	"slices"
)

// Static keeps the static addresses, routes and rules installed
// (keepalived static_ipaddress, static_routes, static_rules), whatever
// the VRRP states. Its owner calls Apply from one goroutine.
type Static struct {
	vips   *VIPs
	routes *Routes
	have   StaticSet
}

// NewStatic opens the netlink handles in the network namespace of the
// calling thread.
func NewStatic() (*Static, error) {
	v, err := NewVIPs("")
	if err != nil {
		return nil, err
	}
	r, err := NewRoutes()
	if err != nil {
		v.Close()
		return nil, err
	}
	return &Static{vips: v, routes: r}, nil
}

// Close releases the handles; what is installed stays.
func (s *Static) Close() {
	s.vips.Close()
	s.routes.Close()
}

// Apply installs want, addresses first (a route may use one as source),
// then routes, then rules, and removes what the previous Apply installed
// that want no longer has, in the other order. It returns every failure;
// the next Apply tries again.
func (s *Static) Apply(want StaticSet) error {
	var errs []error
	for _, r := range s.have.Rules {
		if !slices.Contains(want.Rules, r) {
			_, err := s.routes.RemoveRule(r)
			errs = append(errs, err)
		}
	}
	for _, r := range s.have.Routes {
		if !slices.Contains(want.Routes, r) {
			_, err := s.routes.RemoveRoute(r)
			errs = append(errs, err)
		}
	}
	for _, v := range s.have.Addrs {
		if !slices.Contains(want.Addrs, v) {
			_, err := s.vips.RemoveVIP(v)
			errs = append(errs, err)
		}
	}
	for _, v := range want.Addrs {
		errs = append(errs, s.vips.AddVIP(v))
	}
	for _, r := range want.Routes {
		errs = append(errs, s.routes.AddRoute(r))
	}
	for _, r := range want.Rules {
		errs = append(errs, s.routes.AddRule(r))
	}
	s.have = want
	return errors.Join(errs...)
}
