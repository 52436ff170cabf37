package conf

import (
	"fmt"
	"time"
)

// Config is a whole lbd configuration file.
type Config struct {
	// Global holds daemon-wide settings (keepalived global_defs).
	Global Global `yaml:"global"`
	// VRRPScripts are checks that instances track (keepalived vrrp_script).
	VRRPScripts []VRRPScript `yaml:"vrrp_scripts"`
	// VRRPInstances are the virtual routers (keepalived vrrp_instance).
	VRRPInstances []VRRPInstance `yaml:"vrrp_instances"`
	// VRRPSyncGroups tie instances together (keepalived vrrp_sync_group).
	VRRPSyncGroups []SyncGroup `yaml:"vrrp_sync_groups"`
	// VirtualServerGroups are named sets of addresses and marks for
	// virtual_servers that use group.
	VirtualServerGroups []VirtualServerGroup `yaml:"virtual_server_groups"`
	// VirtualServers are the IPVS services lbd manages; it never touches
	// services that are not listed here.
	VirtualServers []VirtualServer `yaml:"virtual_servers"`
	// BGP announces the addresses of virtual servers with announce: bgp
	// to routers (active/active behind ECMP).
	BGP *BGP `yaml:"bgp"`
	// StaticIPAddresses are installed at start, whatever the VRRP states
	// (keepalived static_ipaddress); each needs its interface. A reload
	// adds the new ones and removes those no longer listed; unlike
	// keepalived, lbd leaves them in place when it stops, so a restart
	// never takes them away. The same holds for static routes and rules.
	StaticIPAddresses []VIP `yaml:"static_ipaddresses"`
	// StaticRoutes are installed at start, after the static addresses
	// (keepalived static_routes).
	StaticRoutes []Route `yaml:"static_routes"`
	// StaticRules are installed at start, after the static routes
	// (keepalived static_rules).
	StaticRules []Rule `yaml:"static_rules"`
}

// Summary counts what c holds, on one line, for `lbd -t` and the
// daemon's log.
func (c *Config) Summary() string {
	s := fmt.Sprintf("%d vrrp instances, %d sync groups, %d vrrp scripts",
		len(c.VRRPInstances), len(c.VRRPSyncGroups), len(c.VRRPScripts))
	if n := len(c.VirtualServers); n > 0 {
		s += fmt.Sprintf(", %d virtual servers", n)
	}
	if c.BGP != nil {
		s += fmt.Sprintf(", %d bgp peers", len(c.BGP.Peers))
	}
	if c.Global.NetNamespace != "" {
		s += ", network namespace " + c.Global.NetNamespace
	}
	return s
}

// Global holds settings that apply to the whole daemon, and defaults for
// every VRRP instance.
type Global struct {
	Pos Pos `yaml:"-"`
	// RouterID names this balancer in logs and notifications
	// (keepalived router_id). Default: the host name.
	RouterID string `yaml:"router_id"`
	// NotifyTimeout bounds every notify script; a script still running
	// then is killed with its process group. Default 10s.
	NotifyTimeout Duration `yaml:"notify_timeout"`
	// ScriptUser runs every script that does not name its own user
	// (notify scripts, vrrp_scripts, MISC checks, quorum and real server
	// notify) as this user (keepalived script_user). The script security
	// rules apply for that user. Default: lbd's own user (root).
	ScriptUser string `yaml:"script_user"`
	// VRRP holds defaults for every instance that does not set its own.
	VRRP VRRPDefaults `yaml:"vrrp"`
	// LVSTimeouts sets the kernel's IPVS connection timeouts.
	LVSTimeouts *LVSTimeouts `yaml:"lvs_timeouts"`
	// LVSSyncDaemon runs the connection sync daemon, following a VRRP instance.
	LVSSyncDaemon *LVSSyncDaemon `yaml:"lvs_sync_daemon"`
	// LVSSloppyTCP sets the kernel's net.ipv4.vs.sloppy_tcp: IPVS then
	// schedules a TCP connection from any packet but a reset, not only its
	// SYN, so a balancer that takes over forwards connections it never
	// saw. With DR or TUN, a consistent-hash scheduler (mh or sh, with
	// its -fallback flag), inhibit_on_failure and the same real servers
	// on every balancer, it sends them where the old master did. Default:
	// the kernel's setting is left as it is (off at boot).
	LVSSloppyTCP *bool `yaml:"lvs_sloppy_tcp"`
	// LVSDrainTimeout bounds how long a real server removed by a reload
	// is kept with weight 0 while its connections finish. Default 5m.
	LVSDrainTimeout Duration `yaml:"lvs_drain_timeout"`
	// LVSReconcileInterval is how often the kernel table is compared with
	// the desired one and drift repaired. Default 10s.
	LVSReconcileInterval Duration `yaml:"lvs_reconcile_interval"`
	// ControlSocket is the Unix socket ipvsctl's daemon subcommands
	// (status, reload, plan, drain, enable, handover, run-time real
	// servers) talk to; mode 0600, root only. Default /run/lbd/control.sock.
	ControlSocket string `yaml:"control_socket"`
	// StateDir holds the state lbd keeps across restarts: runtime.json
	// with the real servers added with ipvsctl and the drained ones.
	// Default /var/lib/lbd.
	StateDir string `yaml:"state_dir"`
	// MetricsAddress is where Prometheus metrics are served, at /metrics,
	// and the read-only status page, at / and /status.json: host:port.
	// Default 127.0.0.1:9274 (loopback only); "" turns both off.
	MetricsAddress *string `yaml:"metrics_address"`
	// NetNamespace runs lbd inside the named network namespace
	// (keepalived net_namespace): /var/run/netns/NAME, as `ip netns add
	// NAME` makes it. lbd enters it at start, before it opens a socket, so
	// its interfaces, addresses, routes, IPVS table, VRRP, health checks,
	// BGP and the metrics listener (metrics_address) are the namespace's;
	// the control socket and state_dir are files and stay where they are.
	// lbd release, lbd plan and lbd doctor enter it too; lbd -t only
	// checks that it exists. A reload cannot move lbd: a change takes
	// effect at the next restart. Default: the namespace lbd is started
	// in.
	NetNamespace string `yaml:"net_namespace"`
}

// VRRPDefaults are the instance settings that can be defaulted globally.
type VRRPDefaults struct {
	// Version is the VRRP version, 2 (RFC 3768) or 3 (RFC 5798).
	// Default 3: it allows sub-second adverts and IPv6. keepalived
	// defaults to 2; set 2 to join a keepalived group that uses it.
	Version int `yaml:"version"`
	// AdvertInterval between adverts. Default 1s, as keepalived.
	AdvertInterval Duration `yaml:"advert_interval"`
	// GARPMasterDelay: a second burst of gratuitous ARP / NA this long
	// after becoming master (keepalived garp_master_delay). Default 5s;
	// 0 turns the second burst off.
	GARPMasterDelay *Duration `yaml:"garp_master_delay"`
	// GARPMasterRepeat: gratuitous ARPs per burst. Default 5.
	GARPMasterRepeat int `yaml:"garp_master_repeat"`
	// GARPMasterRefresh: repeat gratuitous ARP / NA this often while
	// master, so switches and clients that lost the entry relearn it.
	// Default 60s (keepalived: off); 0 turns it off.
	GARPMasterRefresh *Duration `yaml:"garp_master_refresh"`
	// GARPMasterRefreshRepeat: gratuitous ARPs per refresh (keepalived
	// garp_master_refresh_repeat). Default 1.
	GARPMasterRefreshRepeat int `yaml:"garp_master_refresh_repeat"`
	// GARPLowerPrioDelay: a second burst this long after answering a
	// lower-priority master's advert with gratuitous ARP / NA (keepalived
	// garp_lower_prio_delay). Default: garp_master_delay; 0 turns it off.
	GARPLowerPrioDelay *Duration `yaml:"garp_lower_prio_delay"`
	// GARPLowerPrioRepeat: gratuitous ARPs per burst answering a
	// lower-priority master (keepalived garp_lower_prio_repeat).
	// Default: garp_master_repeat.
	GARPLowerPrioRepeat int `yaml:"garp_lower_prio_repeat"`
	// GARPInterval: the gap after each gratuitous ARP before the next
	// announcement of the instance, for switches that cannot take a burst
	// (keepalived garp_interval), 0..1s. Default 0: back to back.
	GARPInterval Duration `yaml:"garp_interval"`
	// GNAInterval: the same after each unsolicited neighbour
	// advertisement (keepalived gna_interval), 0..1s. Default 0.
	GNAInterval Duration `yaml:"gna_interval"`
	// FastTakeoverInterval: a Backup also pings its Master (ICMP echo,
	// answered by the Master's kernel) this often, and takes over after
	// fast_takeover_misses unanswered pings plus the skew time, instead
	// of waiting for three missed adverts. It catches a Master whose host
	// or link died in well under a second at 1s adverts; a Master whose
	// lbd alone died (its kernel still answers) is still detected by the
	// advert timer. It arms only once the Master has answered, so a
	// Master that drops pings just turns it off. lbd extension; default
	// 200ms; 0 turns it off.
	FastTakeoverInterval *Duration `yaml:"fast_takeover_interval"`
	// FastTakeoverMisses: unanswered pings in a row that make the Master
	// unreachable, 1..20. Default 3.
	FastTakeoverMisses int `yaml:"fast_takeover_misses"`
	// FastTakeover is how a Backup watches its Master's host: icmp (the
	// pings above), bfd (a BFD session with each unicast peer, run by lbd
	// on both sides, so the peers must be lbd and listed in
	// unicast_peers; a Backup takes over at once when the session to its
	// Master expires, also when the Master's lbd alone died) or off.
	// lbd extension; default icmp, which works with keepalived peers.
	FastTakeover string `yaml:"fast_takeover"`
	// FastTakeoverBFDInterval: the BFD sessions' transmit and receive
	// interval, 10ms..10s. Default 100ms.
	FastTakeoverBFDInterval Duration `yaml:"fast_takeover_bfd_interval"`
	// FastTakeoverBFDMultiplier: intervals without a BFD packet that
	// declare the Master dead, 2..50. Default 3 (300 ms at 100ms).
	FastTakeoverBFDMultiplier int `yaml:"fast_takeover_bfd_multiplier"`
	// MCastGroup4 is the multicast group IPv4 instances send their
	// adverts to and listen on (keepalived vrrp_mcast_group4), for every
	// instance without unicast_peers. Default 224.0.0.18, the VRRP group;
	// every router of an instance must use the same.
	MCastGroup4 *Addr `yaml:"mcast_group4"`
	// MCastGroup6 is the same for IPv6 instances (keepalived
	// vrrp_mcast_group6): a link-local group, ff02::/16 (ffX2::).
	// Default ff02::12.
	MCastGroup6 *Addr `yaml:"mcast_group6"`
}

// VRRPScript is a check whose result tracks into instance priorities
// (keepalived vrrp_script).
type VRRPScript struct {
	Pos  Pos    `yaml:"-"`
	Name string `yaml:"name"`
	// Script is run without a shell; exit 0 is success.
	Script Command `yaml:"script"`
	// Interval between runs. Default 1s.
	Interval Duration `yaml:"interval"`
	// Timeout kills a run that takes longer; it counts as a failure.
	// Default: the interval.
	Timeout Duration `yaml:"timeout"`
	// Rise and Fall: consecutive results needed to change state.
	// Default 1 each.
	Rise int `yaml:"rise"`
	Fall int `yaml:"fall"`
	// Weight is added to the priority of tracking instances while the
	// script succeeds (positive) or fails (negative); 0 puts the instance
	// in FAULT while the script fails. -253..253, default 0.
	Weight int `yaml:"weight"`
	// InitFail starts the script as failed until its first success.
	InitFail bool `yaml:"init_fail"`
	// User runs the script as this user. Default: the daemon's user.
	User string `yaml:"user"`
}

// VRRPInstance is one virtual router (keepalived vrrp_instance).
type VRRPInstance struct {
	Pos  Pos    `yaml:"-"`
	Name string `yaml:"name"`
	// Interface the instance speaks VRRP on.
	Interface string `yaml:"interface"`
	// UseVMAC runs the instance on a macvlan interface on top of
	// interface, whose MAC address is the virtual router MAC of RFC 5798
	// (00:00:5e:00:01:VRID for IPv4, 00:00:5e:00:02:VRID for IPv6), as
	// keepalived use_vmac: the MAC moves with the addresses, for
	// switches and hosts that ignore gratuitous ARP. lbd creates the
	// macvlan at start (or adopts one with that MAC on that parent),
	// puts on it the virtual addresses of the instance's family that are
	// on interface, sends adverts and gratuitous ARP / NA from it, and
	// deletes it at stop if it created it. For IPv4 it sets arp_ignore
	// and arp_filter on interface, net.ipv4.conf.all.rp_filter to 0
	// (keeping each interface's own filtering), as keepalived does, and
	// net.ipv4.igmp_link_local_mcast_reports to 0; see
	// docs/operations.md.
	UseVMAC bool `yaml:"use_vmac"`
	// VMACName names the macvlan (keepalived use_vmac NAME), at most 15
	// bytes. Default vrrp.VRID, or vrrp6.VRID for IPv6 (keepalived
	// numbers its defaults in the order of the file; the import writes
	// the name it would use).
	VMACName string `yaml:"vmac_name"`
	// VMACXmitBase sends and receives adverts on interface, with its own
	// MAC, rather than on the macvlan (keepalived vmac_xmit_base); the
	// addresses and their gratuitous ARP / NA stay on the macvlan.
	// Required with unicast_peers: unicast adverts come to interface's
	// own address and MAC.
	VMACXmitBase bool `yaml:"vmac_xmit_base"`
	// VirtualRouterID is the VRID, 1..255, unique per interface and
	// address family.
	VirtualRouterID int `yaml:"virtual_router_id"`
	// Priority 1..255; 255 means this node owns the addresses. Default 100.
	Priority int `yaml:"priority"`
	// Version, AdvertInterval and the GARP settings override Global.VRRP.
	Version                 int       `yaml:"version"`
	AdvertInterval          Duration  `yaml:"advert_interval"`
	GARPMasterDelay         *Duration `yaml:"garp_master_delay"`
	GARPMasterRepeat        int       `yaml:"garp_master_repeat"`
	GARPMasterRefresh       *Duration `yaml:"garp_master_refresh"`
	GARPMasterRefreshRepeat int       `yaml:"garp_master_refresh_repeat"`
	GARPLowerPrioDelay      *Duration `yaml:"garp_lower_prio_delay"`
	GARPLowerPrioRepeat     int       `yaml:"garp_lower_prio_repeat"`
	GARPInterval            *Duration `yaml:"garp_interval"`
	GNAInterval             *Duration `yaml:"gna_interval"`
	// FastTakeoverInterval overrides Global.VRRP's: how often a Backup
	// pings its Master to take over early when its host or link dies;
	// 0 turns it off. lbd extension.
	FastTakeoverInterval *Duration `yaml:"fast_takeover_interval"`
	// FastTakeoverMisses overrides Global.VRRP's: unanswered pings in a
	// row that make the Master unreachable.
	FastTakeoverMisses int `yaml:"fast_takeover_misses"`
	// FastTakeover overrides Global.VRRP's: icmp, bfd (needs lbd peers
	// in unicast_peers) or off. lbd extension.
	FastTakeover string `yaml:"fast_takeover"`
	// FastTakeoverBFDInterval and FastTakeoverBFDMultiplier override
	// Global.VRRP's BFD timers.
	FastTakeoverBFDInterval   Duration `yaml:"fast_takeover_bfd_interval"`
	FastTakeoverBFDMultiplier int      `yaml:"fast_takeover_bfd_multiplier"`
	// NoPreempt keeps a lower-priority master in place.
	NoPreempt bool `yaml:"nopreempt"`
	// PreemptDelay waits this long (0..1000s) before preempting a
	// lower-priority master after start-up.
	PreemptDelay Duration `yaml:"preempt_delay"`
	// Accept makes the master accept packets to the virtual addresses it
	// does not own (RFC 5798 Accept_Mode). Default true: keepalived's
	// non-strict behaviour, under which VIPs answer pings and services.
	Accept *bool `yaml:"accept"`
	// Authentication is VRRPv2 simple-text authentication (deprecated by
	// RFC 3768, kept for keepalived groups that use it).
	Authentication *Authentication `yaml:"authentication"`
	// UnicastSrcIP and UnicastPeers replace multicast with unicast adverts
	// to each peer, for networks without multicast.
	UnicastSrcIP *Addr  `yaml:"unicast_src_ip"`
	UnicastPeers []Addr `yaml:"unicast_peers"`
	// MCastSrcIP is the source address of multicast adverts (keepalived
	// mcast_src_ip), an address of the interface. Default: the
	// interface's first address of the family (IPv6: its link-local
	// one). It and unicast_src_ip both set the source: set one.
	MCastSrcIP *Addr `yaml:"mcast_src_ip"`
	// VirtualIPAddresses are added on becoming master and removed on
	// leaving it; all of one family.
	VirtualIPAddresses []VIP `yaml:"virtual_ipaddresses"`
	// VirtualIPAddressesExcluded are handled like virtual addresses but
	// not carried in adverts (any family, any number).
	VirtualIPAddressesExcluded []VIP `yaml:"virtual_ipaddresses_excluded"`
	// VirtualRoutes are installed on becoming master, after the
	// addresses (a route may use one as its src), and removed on leaving
	// it, before them (keepalived virtual_routes).
	VirtualRoutes []Route `yaml:"virtual_routes"`
	// VirtualRules are installed on becoming master, after the routes,
	// and removed on leaving it (keepalived virtual_rules).
	VirtualRules    []Rule           `yaml:"virtual_rules"`
	TrackInterfaces []TrackInterface `yaml:"track_interfaces"`
	TrackScripts    []TrackRef       `yaml:"track_scripts"`
	TrackFiles      []TrackFile      `yaml:"track_files"`
	// Notify scripts, run without a shell and bounded by notify_timeout.
	// notify gets keepalived's arguments: INSTANCE name state priority.
	NotifyMaster Command `yaml:"notify_master"`
	NotifyBackup Command `yaml:"notify_backup"`
	NotifyFault  Command `yaml:"notify_fault"`
	NotifyStop   Command `yaml:"notify_stop"`
	Notify       Command `yaml:"notify"`
}

// Authentication is VRRPv2 authentication.
type Authentication struct {
	Pos Pos `yaml:"-"`
	// Type is PASS (simple text); AH is not supported.
	Type string `yaml:"type"`
	// Password, up to 8 characters.
	Password string `yaml:"password"`
}

// VIP is a virtual address: "192.0.2.100", "192.0.2.100/24", or a mapping
// with an address and optional interface and label.
type VIP struct {
	Pos Pos `yaml:"-"`
	// Address with optional prefix length (default /32 or /128).
	Address Prefix `yaml:"address"`
	// Interface to add it on. Default: the instance's interface.
	Interface string `yaml:"interface"`
	// Label for IPv4 addresses (e.g. "eth0:vip"), as `ip addr ... label`.
	Label string `yaml:"label"`
}

// UnmarshalText implements the one-string shorthand.
func (v *VIP) UnmarshalText(b []byte) error { return v.Address.UnmarshalText(b) }

// TrackInterface lowers the priority (or faults the instance, weight 0)
// while an interface is down.
type TrackInterface struct {
	Pos    Pos    `yaml:"-"`
	Name   string `yaml:"name"`
	Weight int    `yaml:"weight"`
}

// TrackRef tracks a vrrp_script, optionally overriding its weight.
type TrackRef struct {
	Pos    Pos    `yaml:"-"`
	Name   string `yaml:"name"`
	Weight *int   `yaml:"weight"`
}

// TrackFile tracks a number read from a file, multiplied by weight
// (keepalived track_file).
type TrackFile struct {
	Pos    Pos    `yaml:"-"`
	Path   string `yaml:"path"`
	Weight int    `yaml:"weight"`
	// Reverse subtracts the number times weight instead (keepalived
	// "weight N reverse"); with weight 0, a zero number is the fault.
	Reverse bool `yaml:"reverse"`
	// InitFile writes the file when lbd starts, before it is first read.
	InitFile *InitFile `yaml:"init_file"`
}

// InitFile creates a track file (keepalived init_file): when lbd starts
// or a reload adds it, a file that does not exist is created with Value,
// mode 0644; with Overwrite, an existing regular file is rewritten too.
type InitFile struct {
	Pos Pos `yaml:"-"`
	// Value is the number written. Default 0.
	Value int `yaml:"value"`
	// Overwrite rewrites the file even when it exists.
	Overwrite bool `yaml:"overwrite"`
}

// SyncGroup makes instances change state together (keepalived
// vrrp_sync_group).
type SyncGroup struct {
	Pos   Pos      `yaml:"-"`
	Name  string   `yaml:"name"`
	Group []string `yaml:"group"`
	// TrackingWeight keeps the members' tracking weights, which keepalived
	// otherwise forces to 0 in a sync group.
	TrackingWeight bool `yaml:"sync_group_tracking_weight"`
	// NotifyMaster, NotifyBackup, NotifyFault and NotifyStop run when the
	// group as a whole enters that state, after its members' own scripts
	// (keepalived vrrp_sync_group notify_master ...).
	NotifyMaster Command `yaml:"notify_master"`
	NotifyBackup Command `yaml:"notify_backup"`
	NotifyFault  Command `yaml:"notify_fault"`
	NotifyStop   Command `yaml:"notify_stop"`
	// Notify runs on every state change of the group with keepalived's
	// arguments: GROUP name state.
	Notify Command `yaml:"notify"`
}

// Documented defaults.
const (
	DefaultVRRPVersion      = 3
	DefaultAdvertInterval   = time.Second
	DefaultPriority         = 100
	DefaultGARPMasterDelay  = 5 * time.Second
	DefaultGARPMasterRepeat = 5
	DefaultGARPRefresh      = 60 * time.Second
	DefaultGARPRefreshRep   = 1
	DefaultFastTakeover     = 200 * time.Millisecond
	DefaultFastTakeoverMiss = 3
	DefaultFastTakeoverMode = "icmp"
	DefaultNotifyTimeout    = 10 * time.Second
	DefaultScriptInterval   = time.Second
	DefaultControlSocket    = "/run/lbd/control.sock"
	DefaultStateDir         = "/var/lib/lbd"
	DefaultMetricsAddress   = "127.0.0.1:9274"
)
