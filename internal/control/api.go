package control

import "time"

// The parameters and results of lbd's methods, shared by the daemon (which
// serves them) and ipvsctl (which calls them). Services and real servers
// travel as structured references, never as strings to parse.

// ServiceRef names a virtual service: Protocol ("TCP", "UDP", "SCTP"),
// Address and Port; or FWMark with Family ("ipv4", default, or "ipv6").
type ServiceRef struct {
	Protocol string `json:"protocol,omitempty"`
	Address  string `json:"address,omitempty"`
	Port     uint16 `json:"port,omitempty"`
	FWMark   uint32 `json:"fwmark,omitempty"`
	Family   string `json:"family,omitempty"`
}

// RealServerRef names a real server of a service.
type RealServerRef struct {
	Address string `json:"address"`
	Port    uint16 `json:"port"`
}

// CodeNotManaged answers a request about a service lbd does not manage;
// ipvsctl then falls back to the kernel, as ipvsadm would.
const CodeNotManaged = "not_managed"

// StatusResult is the answer to "status" (no params).
type StatusResult struct {
	RouterID       string                `json:"router_id"`
	ConfigFile     string                `json:"config_file"`
	Generation     uint64                `json:"generation"` // config generation, +1 per applied reload
	LoadedAt       time.Time             `json:"loaded_at"`
	LastReload     *ReloadOutcome        `json:"last_reload,omitempty"`
	VirtualServers []VirtualServerStatus `json:"virtual_servers"`
	VRRPInstances  []VRRPInstanceStatus  `json:"vrrp_instances"`
	DriftRepairs   uint64                `json:"drift_repairs"` // kernel changes made behind lbd's back and undone
	LastError      string                `json:"last_error,omitempty"`
	// SettingErrors maps each global kernel setting lbd could not apply
	// (lvs_sloppy_tcp, lvs_timeouts, lvs_sync_daemon) to why.
	SettingErrors map[string]string `json:"setting_errors,omitempty"`
	// BGP is present when the configuration has a bgp section.
	BGP *BGPStatus `json:"bgp,omitempty"`
	// Events are the recent events, oldest first (at most a few hundred).
	Events []Event `json:"events"`
}

// Event is one recent event: a VRRP transition, a real server going up
// or down, a reload.
type Event struct {
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`    // EventVRRP, EventHealth, EventReload
	Subject string    `json:"subject"` // the instance; the virtual and real server; the file
	// Message says what happened and why: "MASTER (was BACKUP):
	// master down timer", "DOWN: connection refused", "failed: ...".
	Message string `json:"message"`
	// Detail holds a reload's changes to the kernel table (ipvsadm
	// syntax with +/~/-), or the lines of its error.
	Detail []string `json:"detail,omitempty"`
}

// The kinds of Event.
const (
	EventVRRP   = "vrrp"
	EventHealth = "health"
	EventReload = "reload"
)

// ReloadOutcome is how the last reload went.
type ReloadOutcome struct {
	At    time.Time `json:"at"`
	OK    bool      `json:"ok"`
	Error string    `json:"error,omitempty"` // file:line:col: ... for a bad file
}

// VirtualServerStatus is one managed service.
type VirtualServerStatus struct {
	Service     ServiceRef `json:"service"`
	Name        string     `json:"name,omitempty"`
	QuorumUp    bool       `json:"quorum_up"`
	SorryActive bool       `json:"sorry_active"`
	Scheduler   string     `json:"scheduler"`  // configured
	Forwarding  string     `json:"forwarding"` // configured default: NAT, DR or TUN
	// TableFingerprint is ipvs.TableFingerprint of the service as the
	// kernel has it (scheduler, flags, destinations in list order with
	// weights): balancers that serve the service at once must agree on it.
	// Empty when the service is not in the kernel.
	TableFingerprint string             `json:"table_fingerprint,omitempty"`
	RealServers      []RealServerStatus `json:"real_servers"`
}

// RealServerStatus is one real server with its health.
type RealServerStatus struct {
	RealServerRef
	Weight       int32     `json:"weight"`        // configured (or runtime) weight
	KernelWeight *int32    `json:"kernel_weight"` // in the kernel now; nil when absent
	Up           bool      `json:"up"`
	Reason       string    `json:"reason,omitempty"` // of the last health transition
	Since        time.Time `json:"since"`
	Draining     bool      `json:"draining,omitempty"`
	Disabled     bool      `json:"disabled,omitempty"` // drained by an operator until "enable"
	Runtime      bool      `json:"runtime,omitempty"`  // added with ipvsctl, not in the file
	ActiveConns  uint32    `json:"active_conns"`
	InactConns   uint32    `json:"inactive_conns"`
	// LastCheck is its health probe's last result; nil before the first
	// or when unchecked.
	LastCheck *CheckResult `json:"last_check,omitempty"`
	// ProbeUsers counts the real servers (this one included) its health
	// probe feeds, when more than one: one probe serves them all.
	ProbeUsers int `json:"probe_users,omitempty"`
}

// CheckResult is one health probe's result.
type CheckResult struct {
	At      time.Time     `json:"at"`
	OK      bool          `json:"ok"`
	Reason  string        `json:"reason,omitempty"`
	Latency time.Duration `json:"latency"`
}

// VRRPInstanceStatus is one VRRP instance.
type VRRPInstanceStatus struct {
	Name           string    `json:"name"`
	Interface      string    `json:"interface"`
	VRID           int       `json:"vrid"`
	State          string    `json:"state"` // INIT, BACKUP, MASTER, FAULT
	Priority       int       `json:"priority"`
	LastTransition time.Time `json:"last_transition"`
	Reason         string    `json:"reason,omitempty"` // of the last transition
	// Master is the address of the Master a BACKUP last heard, empty
	// when it heard none (or is not BACKUP: a MASTER is the master).
	Master string `json:"master,omitempty"`
}

// ReloadResult answers "reload" (no params): the file is read again and
// applied, or refused with an error of code "invalid_params" holding every
// file:line:col problem, the running configuration untouched.
type ReloadResult struct {
	Generation uint64   `json:"generation"`
	Changes    []string `json:"changes"` // the kernel plan applied, ipvsadm syntax with +/~/-
}

// PlanParams asks what a reload from File (default: the running file)
// would change, without changing anything.
type PlanParams struct {
	File string `json:"file,omitempty"`
}

// PlanResult lists the changes, ipvsadm syntax with +/~/-.
type PlanResult struct {
	Changes []string `json:"changes"`
}

// DrainParams sets a real server's weight to 0, then removes it once its
// active connections end or Timeout passes; it stays out until "enable".
type DrainParams struct {
	Service    ServiceRef    `json:"service"`
	RealServer RealServerRef `json:"real_server"`
	Timeout    time.Duration `json:"timeout,omitempty"` // default: lvs_drain_timeout
}

// DrainResult reports the connections still open when the drain began.
type DrainResult struct {
	ActiveConns uint32 `json:"active_conns"`
}

// EnableParams undoes a drain.
type EnableParams struct {
	Service    ServiceRef    `json:"service"`
	RealServer RealServerRef `json:"real_server"`
}

// HandoverParams asks the MASTER instances (Instance, or all when empty)
// to hand over to a backup without loss: the backup takes the addresses
// before this node releases them.
//
// The instances then stay BACKUP (their priority lowered by 253) until
// the next reload or a request with Restore, which gives them their
// priority back (and lets them preempt again).
type HandoverParams struct {
	Instance string `json:"instance,omitempty"`
	Restore  bool   `json:"restore,omitempty"`
}

// BalancerParams drains this balancer out of an active/active set
// (announce: bgp): every route is withdrawn, and the call returns once the
// peers have been sent the withdrawals and bgp.drain_delay has passed,
// while the routers move the clients to the other balancers. It stays
// drained until a request with Enable, after which each address is
// announced again once it has served for the hold-down.
type BalancerParams struct {
	Enable bool `json:"enable,omitempty"`
}

// BalancerResult says what a drain did.
type BalancerResult struct {
	Withdrawn []string `json:"withdrawn"`
	// PeersSentIn is how long until every established peer had been
	// sent the withdrawals; DrainDelay how long lbd then went on serving.
	PeersSentIn time.Duration `json:"peers_sent_in"`
	DrainDelay  time.Duration `json:"drain_delay"`
}

// BGPStatus is the active/active side of status.
type BGPStatus struct {
	Announced []string        `json:"announced"`
	Draining  bool            `json:"draining"`
	Peers     []BGPPeerStatus `json:"peers"`
}

// BGPPeerStatus is one BGP session.
type BGPPeerStatus struct {
	Address    string        `json:"address"`
	ASN        uint32        `json:"asn"`
	State      string        `json:"state"`
	Uptime     time.Duration `json:"uptime,omitempty"`
	Advertised int           `json:"advertised"`
	BFD        string        `json:"bfd,omitempty"` // the BFD session's state, without one empty
	LastError  string        `json:"last_error,omitempty"`
}

// HandoverResult lists the instances that handed over.
type HandoverResult struct {
	Instances []string `json:"instances"`
}

// RuntimeParams is ipvsctl -a/-e/-d on a managed service: a real server
// added, edited or deleted at run time. lbd health-checks it with the
// service's check and keeps it across reloads and restarts until deleted.
type RuntimeParams struct {
	Op             string        `json:"op"` // "add", "edit", "delete"
	Service        ServiceRef    `json:"service"`
	RealServer     RealServerRef `json:"real_server"`
	Forwarding     string        `json:"forwarding,omitempty"` // "NAT", "DR", "TUN"; default the service's
	Weight         *int32        `json:"weight,omitempty"`
	UpperThreshold *uint32       `json:"upper_threshold,omitempty"`
	LowerThreshold *uint32       `json:"lower_threshold,omitempty"`
}
