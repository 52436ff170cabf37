// Package metrics is lbd's Prometheus metrics: the instruments the daemon
// increments as things happen, the series read at scrape time from the
// snapshots of their owners, and the HTTP server for /metrics.
//
// It knows the daemon only through a [Source]: a function that returns
// the daemon loop's [State] (configuration generation, load time, the
// VRRP instances' stats) and one that returns the load-balancing
// [Engine], if any. The daemon counts reloads with [Metrics.Reload],
// times health checks by wrapping its checker factory with
// [Metrics.CheckerFactory], drops the check series of removed real
// servers with [Metrics.PruneChecks], and serves with [Metrics.Serve].
//
// # Series
//
// Collected at scrape time (within 3 s): per IPVS service
// lbd_ipvs_service_{connections,packets,bytes}_total and
// lbd_ipvs_service_{connections,packets,bytes}_per_second; per real
// server lbd_ipvs_real_server_{connections,packets,bytes}_total, the
// _per_second rates, lbd_ipvs_real_server_{active,inactive}_connections
// and lbd_ipvs_real_server_weight (kernel); lbd_real_server_up,
// lbd_real_server_weight, lbd_real_server_disabled,
// lbd_real_server_runtime, lbd_real_server_probe_users (how many real
// servers its shared health probe feeds), lbd_virtual_server_quorum_up,
// lbd_virtual_server_sorry_active; lbd_vrrp_state{state},
// lbd_vrrp_priority, lbd_vrrp_adverts_sent_total,
// lbd_vrrp_adverts_received_total, lbd_vrrp_packets_dropped_total{reason},
// lbd_vrrp_transitions_total, lbd_vrrp_garp_bursts_total,
// lbd_vrrp_last_transition_timestamp_seconds; lbd_drift_repairs_total,
// lbd_icmp_spoofed_replies_total,
// lbd_ipvs_apply_failing, lbd_config_generation,
// lbd_config_loaded_timestamp_seconds, lbd_scrape_errors{part}. Counted
// as they happen: lbd_reloads_total{result=ok|invalid|rejected|apply_failed},
// lbd_healthcheck_duration_seconds (histogram) and
// lbd_healthcheck_results_total{result}. Plus the Go runtime's and the
// process's standard collectors.
//
// # Server
//
// Whoever reaches metrics_address can connect (on the default loopback
// address, any local user), so the server bounds what a client holds: a
// request must arrive within 5 s, an answer is cut off after 10 s, an idle
// kept-alive connection is closed after 5 s, headers are capped at 4 KiB,
// at most 16 connections are open at once (the next ones wait in the
// kernel's accept queue), and at most 2 scrapes collect at once (a third
// gets 503 at once; Prometheus tries again at its next interval). The
// server's errors are logged at most once every 10 s, with the count of
// those dropped in between.
package metrics
