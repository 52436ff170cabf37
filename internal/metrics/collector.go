package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lbd-project/lbd/ipvs"
	"github.com/lbd-project/lbd/vrrp"
)

// collector reads state at scrape time.
type collector struct{ m *Metrics }

var (
	labelsSvc = []string{"service", "virtual_server"}
	labelsRS  = []string{"service", "virtual_server", "real_server"}
	labelsDir = func(base []string) []string { return append(append([]string(nil), base...), "direction") }

	descSvcConns   = prometheus.NewDesc("lbd_ipvs_service_connections_total", "Connections scheduled by the IPVS service (kernel counter).", labelsSvc, nil)
	descSvcPackets = prometheus.NewDesc("lbd_ipvs_service_packets_total", "Packets of the IPVS service by direction (in, out).", labelsDir(labelsSvc), nil)
	descSvcBytes   = prometheus.NewDesc("lbd_ipvs_service_bytes_total", "Bytes of the IPVS service by direction (in, out).", labelsDir(labelsSvc), nil)
	descSvcCPS     = prometheus.NewDesc("lbd_ipvs_service_connections_per_second", "Connection rate of the IPVS service (kernel estimate).", labelsSvc, nil)
	descSvcPPS     = prometheus.NewDesc("lbd_ipvs_service_packets_per_second", "Packet rate of the IPVS service by direction (kernel estimate).", labelsDir(labelsSvc), nil)
	descSvcBPS     = prometheus.NewDesc("lbd_ipvs_service_bytes_per_second", "Byte rate of the IPVS service by direction (kernel estimate).", labelsDir(labelsSvc), nil)
	descSvcTable   = prometheus.NewDesc("lbd_ipvs_service_table_info", "Always 1; fingerprint is the hash of what decides the service's mh/sh lookup table in the kernel (scheduler, flags, destinations in list order with weights): balancers serving the service at once must agree on it.", append([]string{"fingerprint"}, labelsSvc...), nil)

	descRSConns    = prometheus.NewDesc("lbd_ipvs_real_server_connections_total", "Connections scheduled to the real server (kernel counter).", labelsRS, nil)
	descRSPackets  = prometheus.NewDesc("lbd_ipvs_real_server_packets_total", "Packets of the real server by direction.", labelsDir(labelsRS), nil)
	descRSBytes    = prometheus.NewDesc("lbd_ipvs_real_server_bytes_total", "Bytes of the real server by direction.", labelsDir(labelsRS), nil)
	descRSCPS      = prometheus.NewDesc("lbd_ipvs_real_server_connections_per_second", "Connection rate of the real server (kernel estimate).", labelsRS, nil)
	descRSPPS      = prometheus.NewDesc("lbd_ipvs_real_server_packets_per_second", "Packet rate of the real server by direction.", labelsDir(labelsRS), nil)
	descRSBPS      = prometheus.NewDesc("lbd_ipvs_real_server_bytes_per_second", "Byte rate of the real server by direction.", labelsDir(labelsRS), nil)
	descRSActive   = prometheus.NewDesc("lbd_ipvs_real_server_active_connections", "Active connections of the real server.", labelsRS, nil)
	descRSInactive = prometheus.NewDesc("lbd_ipvs_real_server_inactive_connections", "Inactive connections of the real server.", labelsRS, nil)
	descRSKWeight  = prometheus.NewDesc("lbd_ipvs_real_server_weight", "Weight of the real server in the kernel.", labelsRS, nil)

	labelsLBRS   = []string{"virtual_server", "real_server"}
	descUp       = prometheus.NewDesc("lbd_real_server_up", "Whether the real server passes its health check (1) or not (0).", labelsLBRS, nil)
	descWeight   = prometheus.NewDesc("lbd_real_server_weight", "Weight the real server has while up (configured, run-time or dynamic).", labelsLBRS, nil)
	descDisabled = prometheus.NewDesc("lbd_real_server_disabled", "Whether an operator drained the real server (1) until enable.", labelsLBRS, nil)
	descRuntime  = prometheus.NewDesc("lbd_real_server_runtime", "Whether the real server was added at run time (1) rather than in the file.", labelsLBRS, nil)
	descProbe    = prometheus.NewDesc("lbd_real_server_probe_users", "How many real servers (of as many virtual servers) the real server's health probe feeds, itself included: 1 unshared; with several checks, its most shared probe's. Absent when unchecked.", labelsLBRS, nil)
	descQuorum   = prometheus.NewDesc("lbd_virtual_server_quorum_up", "Whether the virtual server has quorum.", []string{"virtual_server"}, nil)
	descSorry    = prometheus.NewDesc("lbd_virtual_server_sorry_active", "Whether the sorry server replaces the real servers.", []string{"virtual_server"}, nil)
	descSpoofed  = prometheus.NewDesc("lbd_icmp_spoofed_replies_total", "ICMP echo replies to PING_CHECK probes that came from another address than the one pinged, dropped.", nil, nil)
	descDrift    = prometheus.NewDesc("lbd_drift_repairs_total", "Reconciles that found the kernel table changed behind lbd's back and repaired it.", nil, nil)
	descEngErr   = prometheus.NewDesc("lbd_ipvs_apply_failing", "Whether the last kernel read or change failed (retries pending).", nil, nil)
	descSetting  = prometheus.NewDesc("lbd_ipvs_setting_failing", "Whether the kernel refused a global IPVS setting of the configuration (lvs_sloppy_tcp, lvs_timeouts, lvs_sync_daemon).", []string{"setting"}, nil)
	descGen      = prometheus.NewDesc("lbd_config_generation", "Configuration generation: 0 at start, +1 per applied reload.", nil, nil)
	descLoaded   = prometheus.NewDesc("lbd_config_loaded_timestamp_seconds", "When the running configuration was loaded.", nil, nil)
	descScrape   = prometheus.NewDesc("lbd_scrape_errors", "Parts of this scrape that failed or timed out (engine, kernel, vrrp).", []string{"part"}, nil)

	labelsInst      = []string{"instance"}
	descVState      = prometheus.NewDesc("lbd_vrrp_state", "VRRP state of the instance: 1 for the current state.", []string{"instance", "state"}, nil)
	descVPrio       = prometheus.NewDesc("lbd_vrrp_priority", "Effective VRRP priority of the instance.", labelsInst, nil)
	descVSent       = prometheus.NewDesc("lbd_vrrp_adverts_sent_total", "VRRP adverts sent.", labelsInst, nil)
	descVRecv       = prometheus.NewDesc("lbd_vrrp_adverts_received_total", "VRRP adverts received and accepted.", labelsInst, nil)
	descVDrops      = prometheus.NewDesc("lbd_vrrp_packets_dropped_total", "VRRP packets dropped by the receive checks, by reason.", []string{"instance", "reason"}, nil)
	descVTrans      = prometheus.NewDesc("lbd_vrrp_transitions_total", "VRRP state transitions.", labelsInst, nil)
	descVGARP       = prometheus.NewDesc("lbd_vrrp_garp_bursts_total", "Bursts of gratuitous ARP / unsolicited NA sent.", labelsInst, nil)
	descVLastChange = prometheus.NewDesc("lbd_vrrp_last_transition_timestamp_seconds", "When the instance last changed state.", labelsInst, nil)
)

// Describe sends nothing: the collector is unchecked (its series depend
// on the configuration).
func (c *collector) Describe(chan<- *prometheus.Desc) {}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Collect asks the daemon loop, the engine and the kernel.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	src := c.m.src
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	}
	counter := func(desc *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v), labels...)
	}
	errs := map[string]float64{"vrrp": 0, "engine": 0, "kernel": 0}
	if src.SpoofedEchoReplies != nil {
		counter(descSpoofed, src.SpoofedEchoReplies())
	}

	snap, err := src.State(ctx)
	if err != nil {
		errs["vrrp"] = 1
	} else {
		gauge(descGen, float64(snap.Generation))
		gauge(descLoaded, float64(snap.LoadedAt.UnixNano())/1e9)
		if snap.BGP != nil {
			collectBGP(snap.BGP, gauge, counter)
		}
		for _, v := range snap.VRRP {
			name := v.Name
			for _, s := range []vrrp.State{vrrp.StateInit, vrrp.StateBackup, vrrp.StateMaster, vrrp.StateFault} {
				gauge(descVState, b2f(s == v.State), name, s.String())
			}
			gauge(descVPrio, float64(v.Priority), name)
			counter(descVSent, v.AdvertsSent, name)
			counter(descVRecv, v.AdvertsReceived, name)
			counter(descVTrans, v.Transitions, name)
			counter(descVGARP, v.GARPBursts, name)
			for r, n := range v.Drops {
				// Every reason that happened, and TTL always, so that
				// the series an alert on spoofed adverts needs exists.
				if n > 0 || r == vrrp.ReasonTTL {
					counter(descVDrops, n, name, r.String())
				}
			}
			if !v.LastTransition.IsZero() {
				gauge(descVLastChange, float64(v.LastTransition.UnixNano())/1e9, name)
			}
		}
	}

	if e := src.Engine(); e != nil {
		st, err := e.Status(ctx)
		if err != nil {
			errs["engine"] = 1
		} else {
			counter(descDrift, uint64(st.Drifts))
			gauge(descEngErr, b2f(st.LastError != ""))
			for key := range st.SettingErrors {
				gauge(descSetting, 1, key)
			}
			names := map[ipvs.ServiceKey]string{}
			for _, v := range st.VirtualServers {
				gauge(descQuorum, b2f(v.QuorumUp), v.Name)
				gauge(descSorry, b2f(v.SorryActive), v.Name)
				for _, s := range v.Services {
					names[s] = v.Name
				}
				for _, r := range v.RealServers {
					if r.Draining {
						continue
					}
					gauge(descUp, b2f(r.Up), v.Name, r.Address)
					gauge(descWeight, float64(r.Weight), v.Name, r.Address)
					gauge(descDisabled, b2f(r.Disabled), v.Name, r.Address)
					gauge(descRuntime, b2f(r.Runtime), v.Name, r.Address)
					if r.ProbeUsers > 0 {
						gauge(descProbe, float64(r.ProbeUsers), v.Name, r.Address)
					}
				}
			}
			t, err := e.Stats(ctx)
			if err != nil {
				errs["kernel"] = 1
				c.m.log.Warn("lbd: metrics: cannot read the kernel table", "err", err)
			}
			for _, e := range t.Services {
				key, vs := e.Key().String(), names[e.Key()]
				s := e.Stats
				counter(descSvcConns, s.Conns, key, vs)
				counter(descSvcPackets, s.InPkts, key, vs, "in")
				counter(descSvcPackets, s.OutPkts, key, vs, "out")
				counter(descSvcBytes, s.InBytes, key, vs, "in")
				counter(descSvcBytes, s.OutBytes, key, vs, "out")
				gauge(descSvcCPS, float64(s.CPS), key, vs)
				gauge(descSvcPPS, float64(s.InPPS), key, vs, "in")
				gauge(descSvcPPS, float64(s.OutPPS), key, vs, "out")
				gauge(descSvcBPS, float64(s.InBPS), key, vs, "in")
				gauge(descSvcBPS, float64(s.OutBPS), key, vs, "out")
				gauge(descSvcTable, 1, ipvs.TableFingerprint(e), key, vs)
				for _, de := range e.Destinations {
					rs := de.Destination.String()
					s := de.Stats
					counter(descRSConns, s.Conns, key, vs, rs)
					counter(descRSPackets, s.InPkts, key, vs, rs, "in")
					counter(descRSPackets, s.OutPkts, key, vs, rs, "out")
					counter(descRSBytes, s.InBytes, key, vs, rs, "in")
					counter(descRSBytes, s.OutBytes, key, vs, rs, "out")
					gauge(descRSCPS, float64(s.CPS), key, vs, rs)
					gauge(descRSPPS, float64(s.InPPS), key, vs, rs, "in")
					gauge(descRSPPS, float64(s.OutPPS), key, vs, rs, "out")
					gauge(descRSBPS, float64(s.InBPS), key, vs, rs, "in")
					gauge(descRSBPS, float64(s.OutBPS), key, vs, rs, "out")
					gauge(descRSActive, float64(de.ActiveConns), key, vs, rs)
					gauge(descRSInactive, float64(de.InactConns), key, vs, rs)
					gauge(descRSKWeight, float64(de.Weight), key, vs, rs)
				}
			}
		}
	}
	for part, v := range errs {
		gauge(descScrape, v, part)
	}
}
