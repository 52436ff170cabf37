package conf

import (
	"strconv"
	"strings"
)

// DefaultVMACName is the macvlan name of an instance with use_vmac and no
// vmac_name: vrrp.VRID, or vrrp6.VRID for IPv6, so that the two families
// of one VRID get two interfaces whatever the order of the file.
func DefaultVMACName(vrid int, ipv6 bool) string {
	if ipv6 {
		return "vrrp6." + strconv.Itoa(vrid)
	}
	return "vrrp." + strconv.Itoa(vrid)
}

// MaxIfnameLen is the longest interface name Linux takes (IFNAMSIZ less
// its terminating NUL).
const MaxIfnameLen = 15

// checkIfname returns why name cannot be a Linux interface name (the
// kernel's dev_valid_name), or "".
func checkIfname(name string) string {
	switch {
	case name == "":
		return "is empty"
	case len(name) > MaxIfnameLen:
		return "is longer than 15 bytes"
	case name == "." || name == "..":
		return "is not an interface name"
	case strings.ContainsAny(name, "/: \t\n\v\f\r"):
		return "has a '/', ':' or white space"
	}
	return ""
}

// checkVMACs checks the use_vmac settings of every instance: a name Linux
// takes, other than any instance's interface, one macvlan per instance,
// and vmac_xmit_base with unicast peers.
func (c *Config) checkVMACs(errs *ErrorList) {
	ifaces := map[string]string{}
	for _, in := range c.VRRPInstances {
		if _, ok := ifaces[in.Interface]; !ok {
			ifaces[in.Interface] = in.Name
		}
	}
	owner := map[string]string{}
	for _, in := range c.VRRPInstances {
		what := "vrrp instance " + in.Name
		if !in.UseVMAC {
			if in.VMACName != "" {
				errs.errorf(in.Pos, "%s: vmac_name %q needs use_vmac: true", what, in.VMACName)
			}
			if in.VMACXmitBase {
				errs.errorf(in.Pos, "%s: vmac_xmit_base needs use_vmac: true", what)
			}
			continue
		}
		name := in.VMACName
		if why := checkIfname(name); why != "" {
			errs.errorf(in.Pos, "%s: vmac_name %q %s", what, name, why)
			continue
		}
		if name == in.Interface {
			errs.errorf(in.Pos, "%s: vmac_name %s is the instance's own interface; the macvlan is a new interface on top of it",
				what, name)
		} else if other, ok := ifaces[name]; ok {
			errs.errorf(in.Pos, "%s: vmac_name %s is the interface of vrrp instance %s; name the macvlan something else",
				what, name, other)
		}
		if other, ok := owner[name]; ok {
			errs.errorf(in.Pos, "%s: vmac_name %s is also the macvlan of vrrp instance %s (one each; set vmac_name)",
				what, name, other)
		} else {
			owner[name] = in.Name
		}
		if len(in.UnicastPeers) > 0 && !in.VMACXmitBase {
			errs.errorf(in.Pos, "%s: use_vmac with unicast_peers needs vmac_xmit_base: true (unicast adverts come "+
				"to %s's own address and MAC, never to the macvlan)", what, in.Interface)
		}
	}
}
