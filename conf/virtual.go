package conf

import "time"

// This file holds the load-balancing part of the schema: virtual servers,
// their real servers and health checks, with keepalived's meanings.

// VirtualServerGroup names a set of addresses and firewall marks that share
// one virtual server definition (keepalived virtual_server_group). Each
// entry becomes its own IPVS service with the same real servers.
type VirtualServerGroup struct {
	Pos  Pos    `yaml:"-"`
	Name string `yaml:"name"`
	// Addresses are "192.0.2.10:80", ranges of the last octet or group
	// "192.0.2.10-20:80", "[2001:db8::10-1f]:443".
	Addresses []AddrRange `yaml:"addresses"`
	// FWMarks are firewall-mark services of the group.
	FWMarks []uint32 `yaml:"fwmarks"`
	// Family of the group's firewall-mark services, IPv4 or IPv6. Default IPv4.
	Family string `yaml:"family" enum:"IPv4,IPv6"`
}

// VirtualServer is one IPVS virtual service, or a group of them, with its
// real servers (keepalived virtual_server). Exactly one of address, fwmark
// and group identifies it.
type VirtualServer struct {
	Pos Pos `yaml:"-"`
	// Name labels the service in logs, status and scripts. Default: the
	// service itself, e.g. "TCP 192.0.2.10:80", "FWM 1" or "group NAME".
	Name string `yaml:"name"`
	// Address is the virtual address and port: "192.0.2.10:80" or
	// "[2001:db8::10]:443". Port 0 (all ports) needs persistence.
	Address *HostPort `yaml:"address"`
	// FWMark makes a firewall-mark service (keepalived "virtual_server fwmark N").
	FWMark uint32 `yaml:"fwmark"`
	// Family of a firewall-mark service, IPv4 or IPv6 (keepalived
	// ip_family). Default IPv4.
	Family string `yaml:"family" enum:"IPv4,IPv6"`
	// Group names a virtual_server_groups entry.
	Group string `yaml:"group"`
	// Protocol of an address service: TCP, UDP or SCTP. Default TCP.
	Protocol string `yaml:"protocol" enum:"TCP,UDP,SCTP"`
	// Scheduler is the IPVS scheduler (keepalived lvs_sched): rr wrr lc wlc
	// lblc lblcr dh sh sed nq fo ovf mh twos. Default wlc.
	Scheduler string `yaml:"scheduler"`
	// SchedulerFlags for sh and mh: sh-port, sh-fallback, mh-port,
	// mh-fallback.
	SchedulerFlags []string `yaml:"scheduler_flags"`
	// Forwarding is the method of the real servers (keepalived lvs_method):
	// NAT, DR or TUN. Default NAT, as keepalived (ipvsadm defaults to DR).
	Forwarding string `yaml:"forwarding" enum:"NAT,DR,TUN"`
	// Tunnel configures TUN forwarding; default ipip.
	Tunnel *Tunnel `yaml:"tunnel"`
	// Persistence sends a client to the same real server for
	// persistence_timeout. Setting persistence_timeout or
	// persistence_granularity turns it on too.
	Persistence bool `yaml:"persistence"`
	// PersistenceTimeout in whole seconds. Default 360s (keepalived's; ipvsadm's is 300s).
	PersistenceTimeout Duration `yaml:"persistence_timeout"`
	// PersistenceGranularity groups clients for persistence: a netmask
	// ("255.255.255.0") or prefix length (24, and always for IPv6).
	// Default: one host.
	PersistenceGranularity *Netmask `yaml:"persistence_granularity"`
	// PersistenceEngine is an IPVS persistence engine: sip.
	PersistenceEngine string `yaml:"persistence_engine" enum:"sip"`
	// OPS schedules each UDP datagram on its own (one-packet scheduling).
	OPS bool `yaml:"ops"`
	// Quorum is the sum of the weights of healthy real servers needed for
	// the service to be up. Below it the sorry server takes over and
	// quorum_down runs. Default 1.
	Quorum *int `yaml:"quorum"`
	// Hysteresis: quorum is gained at quorum+hysteresis and lost below
	// quorum-hysteresis. Default 0.
	Hysteresis int `yaml:"hysteresis"`
	// QuorumUp runs when quorum is gained.
	QuorumUp Command `yaml:"quorum_up"`
	// QuorumDown runs when quorum is lost.
	QuorumDown Command `yaml:"quorum_down"`
	// Alpha starts checked real servers down until their first successful check.
	Alpha bool `yaml:"alpha"`
	// Omega runs notify_down and quorum_down scripts when lbd stops.
	Omega bool `yaml:"omega"`
	// InhibitOnFailure keeps a failed real server with weight 0 instead
	// of removing it, so its connections finish. Real servers can override it.
	InhibitOnFailure bool `yaml:"inhibit_on_failure"`
	// SlowStart ramps a real server's weight in the kernel from 1 to its
	// weight over this time once it comes up (its first successful check
	// after being down, an operator's enable, a run-time add), so it does
	// not get a full share of new connections at once; a failure during
	// the ramp ends it. Default 0: at once.
	SlowStart Duration `yaml:"slow_start"`
	// SorryServer is installed while quorum is lost, replacing the
	// remaining real servers: "192.0.2.99:80" or a mapping.
	SorryServer *SorryServer `yaml:"sorry_server"`
	// SorryServerInhibit keeps the sorry server with weight 0 while
	// quorum holds instead of removing it.
	SorryServerInhibit bool `yaml:"sorry_server_inhibit"`
	// VRRPInstance installs the service only while that VRRP instance is
	// MASTER. Default: always installed, as keepalived does.
	VRRPInstance string `yaml:"vrrp_instance"`
	// Announce bgp puts the address on every balancer (bgp.vip_interface)
	// and announces it to the bgp peers while the virtual server serves
	// (quorum, or its sorry server with announce_sorry), instead of
	// following a VRRP instance. Real servers are then added in one
	// canonical order and a failed one keeps its place with weight 0, so
	// every balancer's mh or sh table is the same.
	Announce string `yaml:"announce" enum:"bgp"`
	// AnnounceSorry keeps announcing while the sorry server stands in
	// for lost quorum. Default: withdraw.
	AnnounceSorry bool `yaml:"announce_sorry"`
	// BGPRoute sets the attributes the address is announced with.
	BGPRoute *BGPRoute `yaml:"bgp_route"`
	// Check is the health check of every real server, unless a real
	// server overrides it. Without one, real servers are always up.
	Check *Check `yaml:"check"`
	// RealServers are the backends: "192.0.2.15:8080" or mappings.
	RealServers []RealServer `yaml:"real_servers"`

	// defaultCheck is EffectiveCheck for real servers without a check.
	defaultCheck *Check
	// origin identifies the Parser item this value was read from; copies
	// reused from one read to the next share it (see Same).
	origin *VirtualServer
}

// Same reports whether vs and o were read by one Parser from the same,
// unchanged item of the file (same text at the same line), which makes
// them equal, down to the real servers they share. It is false for
// anything else, including equal values read separately; the engine uses
// it to skip work for the untouched part of a reload.
func (vs *VirtualServer) Same(o *VirtualServer) bool {
	return vs.origin != nil && vs.origin == o.origin
}

// Tunnel is the encapsulation of TUN forwarding.
type Tunnel struct {
	Pos Pos `yaml:"-"`
	// Type is ipip, gue (kernel 5.2+) or gre (5.3+). Default ipip.
	Type string `yaml:"type" enum:"ipip,gue,gre"`
	// Port is the GUE destination port; required for gue.
	Port uint16 `yaml:"port"`
	// Checksum for gue and gre: nocsum, csum or remcsum (gue only). Default nocsum.
	Checksum string `yaml:"checksum" enum:"nocsum,csum,remcsum"`
}

// SorryServer is the fallback real server of a virtual server.
type SorryServer struct {
	Pos Pos `yaml:"-"`
	// Address with optional port; default port: the service's.
	Address HostPort `yaml:"address"`
	// Forwarding overrides the service's method (keepalived sorry_server_lvs_method).
	Forwarding string `yaml:"forwarding" enum:"NAT,DR,TUN"`
	// Tunnel configures TUN forwarding.
	Tunnel *Tunnel `yaml:"tunnel"`
	// Weight while installed. Default 1.
	Weight *int `yaml:"weight"`
}

// UnmarshalText implements the one-string shorthand "192.0.2.99:80".
func (s *SorryServer) UnmarshalText(b []byte) error { return s.Address.UnmarshalText(b) }

// RealServer is one backend of a virtual server (keepalived real_server).
type RealServer struct {
	Pos Pos `yaml:"-"`
	// Address with optional port, "192.0.2.15:8080" or "[2001:db8::15]";
	// the port defaults to the service's. DR and TUN cannot change it.
	Address HostPort `yaml:"address"`
	// Weight is the scheduling weight, 0..2147483647. Default 1.
	Weight *int `yaml:"weight"`
	// UThreshold: no new connections above this many (0: no limit).
	UThreshold uint32 `yaml:"uthreshold"`
	// LThreshold: new connections resume below this many.
	LThreshold uint32 `yaml:"lthreshold"`
	// Forwarding overrides the service's method: NAT, DR or TUN.
	Forwarding string `yaml:"forwarding" enum:"NAT,DR,TUN"`
	// Tunnel overrides the service's tunnel settings.
	Tunnel *Tunnel `yaml:"tunnel"`
	// InhibitOnFailure overrides the service's setting.
	InhibitOnFailure *bool `yaml:"inhibit_on_failure"`
	// SlowStart overrides the virtual server's slow_start.
	SlowStart *Duration `yaml:"slow_start"`
	// NotifyUp runs when the real server comes up.
	NotifyUp Command `yaml:"notify_up"`
	// NotifyDown runs when it goes down.
	NotifyDown Command `yaml:"notify_down"`
	// Check overrides fields of the service's check (a different type
	// replaces it); type NONE turns checking off for this server.
	Check *Check `yaml:"check"`
	// Checks are several checks that must all pass for the real server to
	// be up (keepalived's several checkers in one real_server), each
	// overriding the service's check as check does. Not with check.
	Checks []Check `yaml:"checks"`
}

// UnmarshalText implements the one-string shorthand "192.0.2.15:8080".
func (r *RealServer) UnmarshalText(b []byte) error { return r.Address.UnmarshalText(b) }

// Check is a health check with keepalived's options. Fields left out take
// keepalived's defaults for the type (see EffectiveCheck).
type Check struct {
	Pos Pos `yaml:"-"`
	// Type: TCP (TCP_CHECK), HTTP_GET, SSL_GET, MISC (MISC_CHECK), PING
	// (PING_CHECK), FILE (FILE_CHECK), UDP (UDP_CHECK), DNS (DNS_CHECK),
	// SMTP (SMTP_CHECK), or NONE.
	Type string `yaml:"type" enum:"TCP,HTTP_GET,SSL_GET,MISC,PING,FILE,UDP,DNS,SMTP,NONE"`
	// ConnectIP checks this address instead of the real server's.
	ConnectIP *Addr `yaml:"connect_ip"`
	// ConnectPort checks this port instead of the real server's.
	ConnectPort uint16 `yaml:"connect_port"`
	// BindTo is the source address of checks.
	BindTo *Addr `yaml:"bindto"`
	// BindPort is the source port of checks.
	BindPort uint16 `yaml:"bind_port"`
	// FWMark marks the check's packets (SO_MARK).
	FWMark uint32 `yaml:"fwmark"`
	// ConnectTimeout bounds one check. Default 5s.
	ConnectTimeout Duration `yaml:"connect_timeout"`
	// Retry: failed checks retried before the server is marked down.
	// Default 1 (MISC: 0, DNS: 3).
	Retry *int `yaml:"retry"`
	// DelayBeforeRetry between retries. Default 1s (HTTP_GET, SSL_GET: 3s;
	// DNS: delay_loop).
	DelayBeforeRetry Duration `yaml:"delay_before_retry"`
	// DelayLoop is the interval between checks. Default 60s, as keepalived.
	DelayLoop Duration `yaml:"delay_loop"`
	// Warmup delays the first check by a random time up to this.
	// Default: delay_loop; 0 checks at once.
	Warmup *Duration `yaml:"warmup"`
	// Rise: consecutive successes to come up. Default 1.
	Rise int `yaml:"rise"`
	// Fall: consecutive failures to go down. Default 1.
	Fall int `yaml:"fall"`
	// HTTPProtocol of HTTP_GET/SSL_GET: 1.0, 1.0C or 1.1. Default 1.0.
	HTTPProtocol string `yaml:"http_protocol" enum:"1.0,1.0C,1.0c,1.1"`
	// VirtualHost is the Host header (and SNI name with enable_sni).
	VirtualHost string `yaml:"virtualhost"`
	// EnableSNI sends virtualhost as TLS server name (SSL_GET).
	EnableSNI bool `yaml:"enable_sni"`
	// Verify checks the server's certificate (SSL_GET): it must chain to
	// ca_file, or to the system's roots, and carry server_name. Default
	// false: keepalived never verifies.
	Verify bool `yaml:"verify"`
	// CAFile is a PEM file of the CA certificates verify trusts instead of
	// the system's (SSL_GET).
	CAFile string `yaml:"ca_file"`
	// ServerName is the name verify checks in the certificate, also sent
	// as TLS server name (SSL_GET). Default: the virtualhost, else the
	// address checked.
	ServerName string `yaml:"server_name"`
	// URLs are fetched in turn; all must pass (HTTP_GET, SSL_GET).
	URLs []URLCheck `yaml:"urls"`
	// MiscPath is the MISC program, run without a shell; exit 0 is up.
	MiscPath Command `yaml:"misc_path"`
	// MiscTimeout bounds the MISC program. Default: connect_timeout.
	MiscTimeout Duration `yaml:"misc_timeout"`
	// MiscDynamic: exit codes 2..255 mean up with weight code-2.
	MiscDynamic bool `yaml:"misc_dynamic"`
	// User runs the MISC program as this user.
	User string `yaml:"user"`
	// TrackFile is the FILE check's file; its number times weight decides.
	TrackFile string `yaml:"track_file"`
	// Weight multiplies the FILE value; 0: up only when the value is 0.
	Weight int `yaml:"weight"`
	// Reverse negates the FILE weight.
	Reverse bool `yaml:"reverse"`
	// Dynamic sets the real server's weight from the FILE value.
	Dynamic bool `yaml:"dynamic"`
	// InitFile writes the FILE check's file when lbd starts.
	InitFile *InitFile `yaml:"init_file"`
	// Payload is the UDP check's datagram, in hex ("01 02 0a"); default empty.
	Payload string `yaml:"payload"`
	// RequireReply: the UDP check passes only on a reply (else: unless an
	// ICMP error comes back).
	RequireReply bool `yaml:"require_reply"`
	// Reply is what the UDP reply must start with, in hex; x is any nibble.
	// Setting it implies require_reply (keepalived: require_reply HEX).
	Reply string `yaml:"reply"`
	// MinReplyLength is the shortest required UDP reply. Default 0.
	MinReplyLength int `yaml:"min_reply_length"`
	// MaxReplyLength is the longest required UDP reply. Default 255.
	MaxReplyLength int `yaml:"max_reply_length"`
	// QueryType is the DNS check's query type (keepalived's type): A, NS,
	// CNAME, SOA, MX, TXT or AAAA. Default SOA.
	QueryType string `yaml:"query_type" enum:"A,NS,CNAME,SOA,MX,TXT,AAAA"`
	// QueryName is the DNS check's query name (keepalived's name). Default ".".
	QueryName string `yaml:"query_name"`
	// HeloName is what the SMTP check sends after HELO (keepalived's
	// helo_name): a host name or address literal. Default
	// smtpchecker.keepalived.org, as keepalived.
	HeloName string `yaml:"helo_name"`
}

// URLCheck is one URL of an HTTP_GET or SSL_GET check.
type URLCheck struct {
	Pos Pos `yaml:"-"`
	// Path requested, starting with "/".
	Path string `yaml:"path"`
	// StatusCode lists accepted codes and ranges: [200-299, 503]. Default 200-299.
	StatusCode []StatusRange `yaml:"status_code"`
	// Digest is the MD5 of the body as genhash prints it (32 hex digits).
	Digest string `yaml:"digest"`
	// VirtualHost overrides the check's for this URL.
	VirtualHost string `yaml:"virtualhost"`
}

// LVSTimeouts are the kernel's IPVS connection timeouts (ipvsadm --set);
// zero leaves a value unchanged.
type LVSTimeouts struct {
	Pos Pos `yaml:"-"`
	// TCP established.
	TCP Duration `yaml:"tcp"`
	// TCPFin after FIN.
	TCPFin Duration `yaml:"tcpfin"`
	// UDP.
	UDP Duration `yaml:"udp"`
}

// LVSSyncDaemon runs the IPVS connection synchronisation daemon, master
// while the bound VRRP instance is MASTER and backup otherwise
// (keepalived lvs_sync_daemon).
type LVSSyncDaemon struct {
	Pos Pos `yaml:"-"`
	// Interface the daemon sends and receives on.
	Interface string `yaml:"interface"`
	// VRRPInstance whose role the daemon follows.
	VRRPInstance string `yaml:"vrrp_instance"`
	// SyncID tells several clusters on one link apart, 0..255. Default 0.
	SyncID uint32 `yaml:"sync_id"`
	// MaxLen is the largest sync message payload. Default: the kernel's.
	MaxLen uint16 `yaml:"maxlen"`
	// Port is the UDP port. Default 8848.
	Port uint16 `yaml:"port"`
	// TTL of multicast sync messages. Default 1.
	TTL uint8 `yaml:"ttl"`
	// Group is the multicast group. Default 224.0.0.81.
	Group *Addr `yaml:"group"`
}

// Documented defaults of the load-balancing schema.
const (
	DefaultScheduler          = "wlc"
	DefaultPersistenceTimeout = 360 * time.Second
	DefaultQuorum             = 1
	DefaultWeight             = 1
	DefaultDelayLoop          = 60 * time.Second
	DefaultConnectTimeout     = 5 * time.Second
	DefaultDelayBeforeRetry   = time.Second
	DefaultHTTPRetryDelay     = 3 * time.Second
	DefaultDNSRetry           = 3
	DefaultDrainTimeout       = 5 * time.Minute
	DefaultReconcileInterval  = 10 * time.Second
)

// SlowStartOf is rs's slow start: its own, else the virtual server's.
func (vs *VirtualServer) SlowStartOf(rs *RealServer) time.Duration {
	if rs.SlowStart != nil {
		return rs.SlowStart.D()
	}
	return vs.SlowStart.D()
}
