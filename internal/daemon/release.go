package daemon

import (
	"cmp"
	"flag"
	"fmt"
	"io"
	"slices"

	"github.com/lbd-project/lbd/vrrp/vrrpnet"
)

// releaseFlags is the parser of `lbd release`; runRelease and the
// manual's test share it.
func releaseFlags(stderr io.Writer) (*flag.FlagSet, *string) {
	return fileFlags("lbd release", stderr)
}

// runRelease is `lbd release -f FILE`: it removes the virtual addresses of
// FILE's VRRP instances (excluded ones too) from their interfaces, and
// prints each one it removed. systemd runs it after lbd has exited
// (ExecStopPost): a daemon that stopped without handing over (killed,
// crashed, stopped by the watchdog) leaves its addresses behind, and
// with sub-second adverts their lease (see vrrp.VIPLease) would still outlast
// the backup's takeover. An address already gone is not an error; exit 1
// for a bad file or an address that could not be removed.
func runRelease(args []string, stdout, stderr io.Writer) int {
	fs, file := releaseFlags(stderr)
	if code := parseOrHelp(fs, args, stdout, stderr); code >= 0 {
		return code
	}
	cfg := loadOrReport(*file, stderr)
	if cfg == nil {
		return ExitConfig
	}
	us, err := units(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "lbd release: %v\n", err)
		return ExitConfig
	}
	code := ExitOK
	for _, u := range us {
		for _, m := range u.Members {
			vips, err := vrrpnet.NewVIPs(m.Interface)
			if err != nil {
				fmt.Fprintf(stderr, "lbd release: instance %s: %v\n", m.Name(), err)
				code = ExitConfig
				continue
			}
			for _, v := range slices.Concat(m.VIPs, m.Excluded) {
				removed, err := vips.RemoveVIP(v)
				switch {
				case err != nil:
					fmt.Fprintf(stderr, "lbd release: instance %s: %v\n", m.Name(), err)
					code = ExitConfig
				case removed:
					fmt.Fprintf(stdout, "lbd release: instance %s: removed %s from %s\n", m.Name(), v.Prefix, cmp.Or(v.Dev, m.Interface))
				}
			}
			vips.Close()
		}
	}
	return code
}
