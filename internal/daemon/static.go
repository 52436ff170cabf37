package daemon

import (
	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/vrrp/vrrpnet"
)

// staticNet keeps the static addresses, routes and rules installed
// (vrrpnet.Static).
type staticNet interface {
	Apply(vrrpnet.StaticSet) error
	Close()
}

func openStatic() (staticNet, error) { return vrrpnet.NewStatic() }

// staticSet is the static part of cfg.
func staticSet(cfg *conf.Config) vrrpnet.StaticSet {
	var s vrrpnet.StaticSet
	for _, a := range cfg.StaticIPAddresses {
		s.Addrs = append(s.Addrs, vip(a, ""))
	}
	for _, r := range cfg.StaticRoutes {
		s.Routes = append(s.Routes, route(r))
	}
	for _, r := range cfg.StaticRules {
		s.Rules = append(s.Rules, rule(r))
	}
	return s
}

// applyStatic installs cfg's static addresses, routes and rules before the
// VRRP units start (a virtual route may go through a static address) and
// removes those an earlier configuration had. Like keepalived, lbd goes
// on when one fails: it is logged, and the next reload tries again.
func (d *daemon) applyStatic(cfg *conf.Config) {
	want := staticSet(cfg)
	if d.static == nil {
		if len(want.Addrs)+len(want.Routes)+len(want.Rules) == 0 {
			return
		}
		s, err := d.openStatic()
		if err != nil {
			d.log.Error("lbd: cannot install static addresses, routes and rules", "err", err)
			return
		}
		d.static = s
	}
	if err := d.static.Apply(want); err != nil {
		d.log.Error("lbd: installing static addresses, routes and rules failed; the next reload tries again", "err", err)
	}
}

// closeStatic releases the netlink handles and leaves what is installed,
// so that a restart does not take it away.
func (d *daemon) closeStatic() {
	if d.static != nil {
		d.static.Close()
	}
}
