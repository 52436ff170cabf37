package keepalived

import (
	"time"
)

// This file converts keepalived's gratuitous ARP pacing: garp_group
// blocks, whose garp_interval / gna_interval apply to an interface, become
// those settings on each instance on that interface.

// garpGroup is the pacing of one interface.
type garpGroup struct {
	garp, gna *time.Duration
}

// garpGroups reads every garp_group (run's first pass) and returns the
// pacing by interface. A group over several interfaces ("interfaces")
// paces them together in keepalived; lbd paces each instance on its own.
func (c *converter) garpGroups(nodes []*Node) map[string]garpGroup {
	out := map[string]garpGroup{}
	for _, g := range nodes {
		if g.Key != "garp_group" {
			continue
		}
		var gg garpGroup
		var ifaces []string
		for _, n := range g.Children {
			switch n.Key {
			case "garp_interval", "gna_interval":
				d, ok := c.secs(n, 0)
				if !ok {
					continue
				}
				if n.Key == "garp_interval" {
					gg.garp = &d
				} else {
					gg.gna = &d
				}
			case "interface":
				if c.args(n, 1, 1) {
					ifaces = append(ifaces, n.Args[0])
				}
			case "interfaces":
				for _, i := range n.Children {
					ifaces = append(ifaces, i.Key)
				}
				if len(n.Children) > 1 {
					c.find(n, Approximated, "keepalived paces gratuitous ARPs across these interfaces together; "+
						"lbd paces each instance on them at this interval on its own")
				}
			default:
				c.other(n, "garp_group")
			}
		}
		for _, i := range ifaces {
			out[i] = gg
		}
	}
	return out
}

// pacedBursts is the difference of a garp_interval, a garp_group's or
// global_defs' vrrp_garp_interval, measured on the wire against
// keepalived 2.2.7 (vrrpnet's TestIntegrationGARPTiming).
const pacedBursts = "keepalived 2.2.7 sends two gratuitous ARPs per burst once garp_interval paces them, " +
	"whatever garp_master_repeat says; lbd sends garp_master_repeat of them (default 5), garp_interval apart"

// findPacedBursts reports, in the file's order (garpGroups runs before
// the findings of the blocks above a garp_group), the difference of a
// garp_group's garp_interval.
func (c *converter) findPacedBursts(g *Node) {
	for _, n := range g.Children {
		if n.Key == "garp_interval" {
			c.find(n, Approximated, pacedBursts)
		}
	}
}

// garpPacing sets the pacing of the instance's interface on m.
func (c *converter) garpPacing(m ymap, iface string) {
	gg, ok := c.garpByIface[iface]
	if !ok {
		return
	}
	if gg.garp != nil {
		m.set("garp_interval", ydur(*gg.garp), "garp_group of interface "+iface)
	}
	if gg.gna != nil {
		m.set("gna_interval", ydur(*gg.gna))
	}
}
