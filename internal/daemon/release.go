package daemon

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/vrrp"
	"github.com/lbd-project/lbd/vrrp/vrrpnet"
)

// Release is `lbd release`: it removes the virtual routes and rules of
// cfg's VRRP instances, the macvlans of use_vmac that lbd created (with
// the addresses on them), then their other virtual addresses (excluded
// ones too) from their interfaces. systemd runs it
// after lbd has exited (ExecStopPost): a daemon that stopped without
// handing over (killed, crashed, stopped by the watchdog) leaves its
// addresses behind, and with sub-second adverts their lease (see
// vrrp.VIPLease) would still outlast the backup's takeover, and routes and
// rules have no lease at all. Release calls removed for each address
// ("192.0.2.100/32 from eth0"), route ("route ...") or rule ("rule ...")
// it removed and failed for each error, as they happen; one already gone
// is not an error, and after an error it goes on with the others.
//
// It also removes the addresses of announce: bgp virtual servers from
// bgp.vip_interface (reported as instance "bgp"): once lbd has exited its
// BGP sessions are closed and the routers send nothing more, and an
// address left local would answer for a table nobody health-checks.
func Release(cfg *conf.Config, removed func(instance, what string), failed func(error)) {
	releaseBGP(cfg, removed, failed)
	us, err := units(cfg)
	if err != nil {
		failed(err)
		return
	}
	for _, u := range us {
		for _, m := range u.Members {
			releaseRoutes(m, removed, failed)
			if m.VMAC != nil {
				// Its addresses go with it.
				if ok, err := vrrpnet.ReleaseVMAC(m.VMAC.Name); err != nil {
					failed(fmt.Errorf("instance %s: %w", m.Name(), err))
				} else if ok {
					removed(m.Name(), "macvlan "+m.VMAC.Name)
				}
			}
			vips, err := vrrpnet.NewVIPs(m.Interface)
			if err != nil {
				failed(fmt.Errorf("instance %s: %w", m.Name(), err))
				continue
			}
			for _, v := range slices.Concat(m.VIPs, m.Excluded) {
				ok, err := vips.RemoveVIP(v)
				switch {
				case err != nil:
					failed(fmt.Errorf("instance %s: %w", m.Name(), err))
				case ok:
					removed(m.Name(), v.Prefix.String()+" from "+cmp.Or(v.Dev, m.Interface))
				}
			}
			vips.Close()
		}
	}
}

// releaseRoutes removes a member's rules, then its routes.
func releaseRoutes(m vrrp.MemberConfig, removed func(instance, what string), failed func(error)) {
	if len(m.Routes)+len(m.Rules) == 0 {
		return
	}
	rm, err := vrrpnet.NewRoutes()
	if err != nil {
		failed(fmt.Errorf("instance %s: %w", m.Name(), err))
		return
	}
	defer rm.Close()
	report := func(what string, ok bool, err error) {
		switch {
		case err != nil:
			failed(fmt.Errorf("instance %s: %w", m.Name(), err))
		case ok:
			removed(m.Name(), what)
		}
	}
	for _, r := range m.Rules {
		ok, err := rm.RemoveRule(r)
		report("rule "+r.String(), ok, err)
	}
	for _, r := range m.Routes {
		ok, err := rm.RemoveRoute(r)
		report("route "+r.String(), ok, err)
	}
}

func releaseBGP(cfg *conf.Config, removed func(instance, what string), failed func(error)) {
	for _, addr := range slices.SortedFunc(maps.Keys(bgpVIPs(cfg)), netip.Addr.Compare) {
		dev := cfg.BGP.VIPInterface
		vips, err := vrrpnet.NewVIPs(dev)
		if err != nil {
			failed(fmt.Errorf("bgp: %w", err))
			return
		}
		v := vrrp.VIP{Prefix: netip.PrefixFrom(addr, addr.BitLen()), Dev: dev}
		ok, err := vips.RemoveVIP(v)
		vips.Close()
		switch {
		case err != nil:
			failed(fmt.Errorf("bgp: %w", err))
		case ok:
			removed("bgp", v.Prefix.String()+" from "+dev)
		}
	}
}
