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

// Release is `lbd release`: it removes the virtual addresses of cfg's VRRP
// instances (excluded ones too) from their interfaces. systemd runs it
// after lbd has exited (ExecStopPost): a daemon that stopped without
// handing over (killed, crashed, stopped by the watchdog) leaves its
// addresses behind, and with sub-second adverts their lease (see
// vrrp.VIPLease) would still outlast the backup's takeover. Release calls
// removed for each address it removed and failed for each error, as they
// happen; an address already gone is not an error, and after an error it
// goes on with the other addresses.
//
// It also removes the addresses of announce: bgp virtual servers from
// bgp.vip_interface (reported as instance "bgp"): once lbd has exited its
// BGP sessions are closed and the routers send nothing more, and an
// address left local would answer for a table nobody health-checks.
func Release(cfg *conf.Config, removed func(instance string, vip netip.Prefix, dev string), failed func(error)) {
	releaseBGP(cfg, removed, failed)
	us, err := units(cfg)
	if err != nil {
		failed(err)
		return
	}
	for _, u := range us {
		for _, m := range u.Members {
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
					removed(m.Name(), v.Prefix, cmp.Or(v.Dev, m.Interface))
				}
			}
			vips.Close()
		}
	}
}

func releaseBGP(cfg *conf.Config, removed func(instance string, vip netip.Prefix, dev string), failed func(error)) {
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
			removed("bgp", v.Prefix, dev)
		}
	}
}
