package keepalived

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/vrrp"
)

// This file converts use_vmac [[name] NAME] [MAC] [netlink_notify_msg]
// [group GROUP] and vmac_xmit_base into use_vmac, vmac_name and
// vmac_xmit_base, naming each macvlan as keepalived 2.2.7 does: a valid
// NAME not already given to an earlier instance, else the first of
// PREFIX.VRID, PREFIX1.VRID, PREFIX2.VRID... that no instance names (for
// IPv6 PREFIX.VRID, PREFIX6.VRID, PREFIX1.VRID..., skipping 6), PREFIX
// being global_defs' vmac_prefix or "vrrp" (vrrp.c create_vmac_name).

// vmacNames holds the macvlan names of a file's instances.
type vmacNames struct {
	prefix   string
	explicit map[*Node]string // the instance's use_vmac NAME that keepalived keeps
	taken    map[string]bool
}

// collectVMACNames reads global_defs' vmac_prefix and the names that
// use_vmac gives, in the order keepalived's parser meets them.
func collectVMACNames(nodes []*Node) vmacNames {
	v := vmacNames{prefix: "vrrp", explicit: map[*Node]string{}, taken: map[string]bool{}}
	for _, n := range nodes {
		switch n.Key {
		case "global_defs":
			for _, k := range n.Children {
				if k.Key == "vmac_prefix" && len(k.Args) == 1 {
					v.prefix = k.Args[0]
				}
			}
		case "vrrp_instance":
			for _, k := range n.Children {
				if k.Key != "use_vmac" {
					continue
				}
				if name := vmacArgs(k).name; name != "" && validIfname(name) && !v.taken[name] {
					v.explicit[n] = name
					v.taken[name] = true
				}
			}
		}
	}
	return v
}

// name returns the macvlan name of instance in: its own, or the next
// default keepalived gives.
func (v *vmacNames) name(in *Node, vrid int64, ipv6 bool) string {
	if name, ok := v.explicit[in]; ok {
		return name
	}
	format := func(num string) string {
		s := "." + strconv.FormatInt(vrid, 10)
		p := v.prefix + num
		if len(p)+len(s) > conf.MaxIfnameLen {
			p = p[:max(conf.MaxIfnameLen-len(s), 0)]
		}
		return p + s
	}
	name, num := format(""), 0
	for v.taken[name] {
		switch {
		case !ipv6:
			num++
		case num == 0:
			num = 6
		case num == 6:
			num = 1
		default:
			if num++; num == 6 {
				num++
			}
		}
		name = format(strconv.Itoa(num))
	}
	v.taken[name] = true
	return name
}

// vmacOpts are the arguments of a use_vmac line.
type vmacOpts struct {
	name, mac, group string
	notify           bool
	names            int // names given; keepalived keeps the first
}

func vmacArgs(n *Node) vmacOpts {
	var o vmacOpts
	for i := 0; i < len(n.Args); i++ {
		a := n.Args[i]
		switch {
		case strings.Contains(a, ":"): // interface names cannot have one
			o.mac = a
		case a == "netlink_notify_msg":
			o.notify = true
		case a == "group" && i+1 < len(n.Args):
			i++
			o.group = n.Args[i]
		default:
			if a == "name" && i+1 < len(n.Args) {
				i++
				a = n.Args[i]
			}
			if o.names++; o.names == 1 {
				o.name = a
			}
		}
	}
	return o
}

// validIfname is keepalived's (and the kernel's) dev_name_valid.
func validIfname(s string) bool {
	return s != "" && len(s) <= conf.MaxIfnameLen && s != "." && s != ".." && !strings.ContainsAny(s, "/: \t\n\v\f\r")
}

// vmac converts the use_vmac and vmac_xmit_base lines of instance in
// (nodes, in file order) into m, once the instance's VRID and family are
// known; unicast says it has unicast peers.
func (c *converter) vmac(m ymap, in *Node, nodes []*Node, ipv6, unicast bool) {
	var use, xmit *Node
	for _, n := range nodes {
		if n.Key == "use_vmac" {
			use = n
		} else {
			xmit = n
		}
	}
	if use == nil {
		if xmit != nil {
			c.find(xmit, NotApplicable, "keepalived 2.2.7 ignores vmac_xmit_base without use_vmac (\"vmac_xmit_base is "+
				"only valid with a vmac\"); so does the converted file")
		}
		return
	}
	vrid := int64(0)
	if y := m.get("virtual_router_id"); y != nil {
		vrid, _ = strconv.ParseInt(y.Value, 10, 64)
	}
	o := vmacArgs(use)
	m.set("use_vmac", ybool(true), use.Comments...)
	name := c.vmacs.name(in, vrid, ipv6)
	switch {
	case o.names > 1:
		c.find(use, NotApplicable, "keepalived 2.2.7 keeps the first interface name (\"VMAC interface name already "+
			"specified\"); so does the converted file")
	case o.name != "" && o.name != name && !validIfname(o.name):
		c.find(use, NotApplicable, fmt.Sprintf("keepalived 2.2.7 ignores the interface name %q (\"too long or invalid "+
			"characters\") and names the macvlan %s; so does the converted file", o.name, name))
	case o.name != "" && o.name != name:
		c.find(use, NotApplicable, fmt.Sprintf("an earlier vrrp_instance already names its macvlan %s: keepalived 2.2.7 "+
			"ignores the name here and uses %s; so does the converted file", o.name, name))
	}
	if name != conf.DefaultVMACName(int(vrid), ipv6) {
		m.set("vmac_name", ystr(name))
	}
	if o.mac != "" {
		c.find(use, Approximated, "lbd gives the macvlan the virtual router MAC of RFC 5798 ("+
			vrrp.VirtualMAC(uint8(vrid), ipv6).String()+"), not "+o.mac)
	}
	if o.group != "" {
		c.find(use, Approximated, "lbd puts the macvlan in its parent interface's link group, not in group "+o.group)
	}
	if o.notify {
		c.find(use, NotApplicable, "netlink_notify_msg works around keepalived's own view of the parent interface; "+
			"lbd needs no such message")
	}
	switch {
	case xmit != nil:
		m.set("vmac_xmit_base", ybool(true), xmit.Comments...)
	case unicast:
		m.set("vmac_xmit_base", ybool(true))
		c.find(use, Approximated, "with unicast peers keepalived sends and receives adverts on the macvlan, where the "+
			"peers' unicast adverts (to the parent's own address and MAC) never arrive; keepalived.conf(5) says "+
			"vmac_xmit_base must be set then: lbd requires it, and the converted file sets it")
	}
}
