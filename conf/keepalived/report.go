package keepalived

import (
	"fmt"
	"strings"
)

// Severity grades a Finding.
type Severity int

const (
	// NotApplicable: the keyword has no meaning in lbd (SNMP, e-mail,
	// process tuning) or is converted with exactly keepalived's behaviour
	// but reads differently; nothing changes.
	NotApplicable Severity = iota
	// Approximated: converted, but lbd behaves differently in some case.
	Approximated
	// Unsupported: dropped; lbd cannot express it.
	Unsupported
)

func (s Severity) String() string {
	switch s {
	case NotApplicable:
		return "note"
	case Approximated:
		return "approximated"
	}
	return "unsupported"
}

// Finding is one keyword that was not converted one to one.
type Finding struct {
	Pos      Pos
	Keyword  string
	Severity Severity
	// Message says what lbd does instead and what to do.
	Message string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s: %s: %s: %s", f.Pos, f.Severity, f.Keyword, f.Message)
}

// ChangesBehaviour reports whether any finding is approximated or
// unsupported, i.e. whether lbd on the converted file would behave
// differently from keepalived on the original.
func ChangesBehaviour(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity != NotApplicable {
			return true
		}
	}
	return false
}

// Report formats findings one per line, most severe kinds last.
func Report(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// notApplicable are keepalived keywords that have no effect on what lbd
// does with traffic, with the reason.
var notApplicable = map[string]string{
	"lvs_id":                              "renamed router_id in keepalived; lbd uses router_id (set it if you want the name)",
	"notification_email":                  "lbd sends no e-mail; use notify scripts or the Prometheus metrics",
	"notification_email_from":             "lbd sends no e-mail",
	"smtp_server":                         "lbd sends no e-mail",
	"smtp_connect_timeout":                "lbd sends no e-mail",
	"smtp_helo_name":                      "lbd sends no e-mail",
	"smtp_alert":                          "lbd sends no e-mail; state changes are logged and exported as metrics",
	"smtp_alert_vrrp":                     "lbd sends no e-mail",
	"smtp_alert_checker":                  "lbd sends no e-mail",
	"no_email_faults":                     "lbd sends no e-mail",
	"enable_snmp_vrrp":                    "lbd has no SNMP agent; use the Prometheus metrics",
	"enable_snmp_checker":                 "lbd has no SNMP agent; use the Prometheus metrics",
	"enable_snmp_rfc":                     "lbd has no SNMP agent; use the Prometheus metrics",
	"enable_snmp_rfcv2":                   "lbd has no SNMP agent; use the Prometheus metrics",
	"enable_snmp_rfcv3":                   "lbd has no SNMP agent; use the Prometheus metrics",
	"enable_traps":                        "lbd has no SNMP agent",
	"snmp_socket":                         "lbd has no SNMP agent",
	"enable_dbus":                         "lbd has no DBus interface; use ipvsctl and the control socket",
	"dbus_service_name":                   "lbd has no DBus interface",
	"enable_script_security":              "lbd always applies its rules (scripts and their directories writable only by root or the user they run as)",
	"checker_log_all_failures":            "lbd logs every check state change",
	"log_all_failures":                    "lbd logs every check state change",
	"vrrp_no_swap":                        "process tuning; use systemd (MemoryLock) instead",
	"checker_no_swap":                     "process tuning; use systemd instead",
	"bfd_no_swap":                         "process tuning",
	"vrrp_priority":                       "process tuning; use systemd Nice= instead",
	"checker_priority":                    "process tuning; use systemd Nice= instead",
	"bfd_priority":                        "process tuning",
	"vrrp_rt_priority":                    "process tuning; use systemd CPUSchedulingPolicy= instead",
	"checker_rt_priority":                 "process tuning",
	"bfd_rt_priority":                     "process tuning",
	"vrrp_rlimit_rttime":                  "process tuning",
	"checker_rlimit_rttime":               "process tuning",
	"bfd_rlimit_rttime":                   "process tuning",
	"vrrp_cpu_affinity":                   "process tuning; use systemd CPUAffinity= instead",
	"checker_cpu_affinity":                "process tuning",
	"bfd_cpu_affinity":                    "process tuning",
	"vrrp_process_name":                   "lbd is one process",
	"checker_process_name":                "lbd is one process",
	"bfd_process_name":                    "lbd is one process",
	"process_name":                        "lbd is one process",
	"max_auto_priority":                   "process tuning",
	"min_auto_priority_delay":             "process tuning",
	"dynamic_interfaces":                  "lbd waits for missing interfaces",
	"vrrp_netlink_cmd_rcv_bufs":           "netlink buffer tuning is automatic in lbd",
	"vrrp_netlink_cmd_rcv_bufs_force":     "netlink buffer tuning is automatic in lbd",
	"vrrp_netlink_monitor_rcv_bufs":       "netlink buffer tuning is automatic in lbd",
	"vrrp_netlink_monitor_rcv_bufs_force": "netlink buffer tuning is automatic in lbd",
	"lvs_netlink_cmd_rcv_bufs":            "netlink buffer tuning is automatic in lbd",
	"lvs_netlink_cmd_rcv_bufs_force":      "netlink buffer tuning is automatic in lbd",
	"lvs_netlink_monitor_rcv_bufs":        "netlink buffer tuning is automatic in lbd",
	"lvs_netlink_monitor_rcv_bufs_force":  "netlink buffer tuning is automatic in lbd",
	"process_monitor_rcv_bufs":            "netlink buffer tuning is automatic in lbd",
	"process_monitor_rcv_bufs_force":      "netlink buffer tuning is automatic in lbd",
	"vrrp_rx_bufs_policy":                 "socket buffer tuning is automatic in lbd",
	"vrrp_rx_bufs_multiplier":             "socket buffer tuning is automatic in lbd",
	"kernel_rx_buf_size":                  "socket buffer tuning is automatic in lbd",
	"random_seed":                         "lbd needs no seed",
	"config_save_dir":                     "keepalived debugging aid",
	"tmp_config_directory":                "keepalived internal",
	"data_use_instance":                   "keepalived dump files; use ipvsctl and metrics",
	"use_pid_dir":                         "systemd manages lbd's process",
	"instance":                            "systemd manages lbd's process",
	"umask":                               "systemd (UMask=) manages lbd's process",
	"log_unknown_vrids":                   "lbd counts adverts of unknown VRIDs in a metric",
	"vrrp_startup_delay":                  "lbd starts every instance in BACKUP and waits master_down_interval, so no start-up delay is needed",
	"include_check":                       "includes are resolved at conversion time",
	"reload_check_config":                 "lbd always validates a reload first and keeps the old configuration on error",
	"reload_time_file":                    "use systemctl reload lbd when you want it",
	"reload_repeat":                       "use systemctl reload lbd when you want it",
	"reload_file":                         "use systemctl reload lbd when you want it",
	"fifo_write_vrrp_states_on_reload":    "lbd keeps VRRP states on reload",
	"rs_init_notifies":                    "lbd runs notify_up only on state changes",
	"debug":                               "use lbd's log level",
	"vrrp_rlimit_rtime":                   "process tuning",
	"checker_rlimit_rtime":                "process tuning",
	"bfd_rlimit_rtime":                    "process tuning",
	"child_wait_time":                     "lbd is one process",
	"lvs_process_name":                    "lbd is one process",
	"process_names":                       "lbd is one process",
	"enable_snmp_keepalived":              "lbd has no SNMP agent; use the Prometheus metrics",
	"snmp_name":                           "lbd has no SNMP agent",
	"nat_mask":                            "obsolete (Linux 2.2): keepalived 2.2.7 does not know it and ignores it",
	"net_mask":                            "obsolete: keepalived 2.2.7 does not know it and ignores it",
	"vrrp_min_garp":                       "lbd's GARP settings are explicit in the converted file",
}

// knownKeywords are keepalived 2.2 keywords (from keepalived.conf(5)); a
// keyword neither converted nor listed here is reported as unknown, as a
// typo would be.
var knownKeywords = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range strings.Fields(`BFD_CHECK DNS_CHECK FILE_CHECK HTTP_GET MISC_CHECK PING_CHECK SMTP_CHECK
	SSL_GET TCP_CHECK UDP_CHECK SSL accept advert_int advmss alpha auth_pass auth_type authentication bfd_instance
	bind_if bind_port bindto blackhole ca certificate check_unicast_src checker connect_ip connect_port
	connect_timeout default_interface delay delay_before_retry delay_loop dev digest disable_local_igmp
	dont_track_primary down_timer_adverts dynamic enable_sni fall fast_recovery file fork_delay full_command
	fwmark garp_extra_if garp_interval garp_lower_prio_delay garp_lower_prio_repeat garp_master_delay
	garp_master_refresh garp_master_refresh_repeat garp_master_repeat global_defs global_tracking gna_interval
	group ha_suspend helo_name higher_prio_send_advert hoplimit http_protocol hysteresis idle_tx
	inhibit_on_failure init_fail init_file initrwnd interface interface_up_down_delays interval ip_family
	key linkbeat_interfaces linkbeat_use_polling lock lower_prio_no_advert lthreshold lvs_flush
	lvs_flush_on_stop lvs_method lvs_notify_fifo lvs_notify_fifo_script lvs_sched lvs_sync_daemon
	lvs_sync_daemon_interface lvs_timeouts lb_algo lb_kind max_hops max_reply_length mcast_dst_ip
	mcast_src_ip min_reply_length min_rx min_tx misc_dynamic misc_path misc_timeout multiplier
	native_ipv6 nb_get_retry nb_sock_retry neighbor_ip net_namespace net_namespace_ipvs namespace_with_ipsets
	nftables nftables_counters nftables_ifindex nftables_ipvs nftables_ipvs_priority
	nftables_ipvs_start_fwmark nftables_priority no_accept no_checker_emails nopreempt notify
	notify_backup notify_deleted notify_down notify_fault notify_fifo notify_fifo_script notify_master
	notify_master_rx_lower_pri notify_priority_changes notify_stop notify_up old_unicast_checksum omega
	ops passive password path payload persistence_engine persistence_granularity persistence_timeout
	preempt preempt_delay priority promote_secondaries protocol quorum quorum_down quorum_max quorum_up
	real_server regex regex_max_offset regex_min_offset regex_no_match regex_options regex_stack
	require_reply retry rise router_id script shutdown_script shutdown_script_timeout skip_check_adv_addr
	sorry_server sorry_server_inhibit sorry_server_lvs_method startup_script startup_script_timeout state
	static_ipaddress static_routes static_rules status_code strict_mode sync_group_tracking_weight
	terminate_delay timeout tls_compliant track_bfd track_file track_group track_interface track_process
	track_script track_src_ip ttl type unicast_fault_no_peer unicast_peer unicast_src_ip unicast_ttl url
	use_ipvlan use_vmac use_vmac_addr user uthreshold version virtual_ipaddress virtual_ipaddress_excluded
	virtual_router_id virtual_routes virtual_rules virtual_server virtual_server_group virtualhost
	vmac_addr_prefix vmac_prefix vmac_xmit_base vrf vrrp_check_unicast_src vrrp_down_timer_adverts
	vrrp_garp_extra_if vrrp_garp_interval vrrp_garp_lower_prio_delay vrrp_garp_lower_prio_repeat
	vrrp_garp_master_delay vrrp_garp_master_refresh vrrp_garp_master_refresh_repeat vrrp_garp_master_repeat
	vrrp_gna_interval vrrp_higher_prio_send_advert vrrp_instance vrrp_ipsets vrrp_iptables
	vrrp_lower_prio_no_advert vrrp_mcast_group4 vrrp_mcast_group6 vrrp_notify_fifo vrrp_notify_fifo_script
	vrrp_notify_priority_changes vrrp_script vrrp_skip_check_adv_addr vrrp_strict vrrp_sync_group
	vrrp_track_file vrrp_track_process vrrp_version warmup weight lvs_flags lb_flags flag-1 flag-2 flag-3
	sh-port sh-fallback mh-port mh-fallback ops sorry_server_lvs_method weight_reverse
	notify_master_rx_lower_pri vrrp_startup_delay garp_group interfaces lvs_flush_onstop vmac_garp_intvl
	vrrp_vmac_garp_intvl hashed host name param_match process vrrp script_user`) {
		m[k] = true
	}
	for k := range notApplicable {
		m[k] = true
	}
	return m
}()

// hints say what to do about known keywords lbd cannot express.
var hints = map[string]string{
	"use_ipvlan":                   "lbd has no ipvlan interfaces",
	"notify_fifo":                  "use notify scripts, or the control socket's event stream",
	"vrrp_notify_fifo":             "use notify scripts, or the control socket's event stream",
	"lvs_notify_fifo":              "use real server notify_up / notify_down scripts",
	"track_process":                "track the process with a vrrp_script (e.g. /bin/pidof NAME)",
	"vrrp_track_process":           "track the process with a vrrp_script (e.g. /bin/pidof NAME)",
	"track_bfd":                    "lbd has no BFD; track the peer with a vrrp_script",
	"bfd_instance":                 "lbd has no BFD",
	"BFD_CHECK":                    "lbd has no BFD; lbd does not run this check",
	"regex":                        "lbd's HTTP check compares status codes and digests only; check the body in a MISC_CHECK script",
	"lvs_flush":                    "lbd never flushes services it does not manage; flush once with ipvsctl -C before starting lbd",
	"vmac_garp_intvl":              "lbd sends no periodic gratuitous ARP on other interfaces",
	"vrrp_vmac_garp_intvl":         "lbd sends no periodic gratuitous ARP on other interfaces",
	"lvs_flush_onstop":             "lbd keeps the table on stop (a restart drops nothing); run ipvsctl -C after stopping if you need it",
	"lvs_flush_on_stop":            "lbd keeps the table on stop (a restart drops nothing); run ipvsctl -C after stopping if you need it",
	"ha_suspend":                   "lbd runs checks whatever the VRRP state; use vrrp_instance on the virtual server to install it only on the master",
	"vrrp_strict":                  "lbd sets accept: false on each instance; the other strict checks are not enforced",
	"strict_mode":                  "lbd sets accept: false on the instance; the other strict checks are not enforced",
	"vrrp_higher_prio_send_advert": "lbd's master always answers a lower-priority advert with its own",
	"higher_prio_send_advert":      "lbd's master always answers a lower-priority advert with its own",
	"fast_recovery":                "lbd checks at delay_loop; set a shorter delay_loop, or rise/fall",
	"quorum_max":                   "lbd has quorum and hysteresis only",
	"notify_deleted":               "lbd runs notify_down when a real server is removed by a reload",
}
