package metrics

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lbd-project/lbd/bfd"
	"github.com/lbd-project/lbd/bgp"
	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/healthcheck"
	"github.com/lbd-project/lbd/ipvs"
	"github.com/lbd-project/lbd/lb"
	"github.com/lbd-project/lbd/vrrp"
)

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// fakeEngine answers with fixed snapshots.
type fakeEngine struct {
	st       lb.Status
	stErr    error
	table    ipvs.Table
	tableErr error
}

func (e *fakeEngine) Status(context.Context) (lb.Status, error) { return e.st, e.stErr }
func (e *fakeEngine) Stats(context.Context) (ipvs.Table, error) { return e.table, e.tableErr }

// source is a Source over a fixed state and e (nil: no engine).
func source(st State, e *fakeEngine) Source {
	return Source{
		State: func(context.Context) (State, error) { return st, nil },
		Engine: func() Engine {
			if e == nil {
				return nil
			}
			return e
		},
	}
}

// scrape returns m's /metrics page.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func wantSeries(t *testing.T, page string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(page, w) {
			t.Errorf("metrics lack %s", w)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", page)
	}
}

func TestCollect(t *testing.T) {
	svc := ipvs.Service{Protocol: ipvs.TCP, Address: netip.MustParseAddr("198.51.100.10"), Port: 80}
	var table ipvs.Table
	table.Add(svc, ipvs.Destination{Address: netip.MustParseAddr("192.0.2.1"), Port: 8080, Weight: 3})
	table.Services[0].Stats.Conns = 7
	table.Services[0].Destinations[0].ActiveConns = 2
	e := &fakeEngine{
		st: lb.Status{Drifts: 1, SettingErrors: map[string]string{"lvs_sloppy_tcp": "read-only file system"}, VirtualServers: []lb.VirtualServerStatus{{Name: "web", Services: []ipvs.ServiceKey{svc.Key()},
			QuorumUp: true, RealServers: []lb.RealServerStatus{{Address: "192.0.2.1:8080", Up: true, Checked: true, Weight: 3, ProbeUsers: 2},
				{Address: "192.0.2.2:8080", Up: true, Weight: 1}}}}},
		table: table,
	}
	loaded := time.Unix(1700000000, 0)
	st := State{Generation: 4, LoadedAt: loaded, VRRP: []vrrp.InstanceStats{{Name: "VI_1", State: vrrp.StateMaster,
		Priority: 100, AdvertsSent: 9, Drops: map[vrrp.DropReason]uint64{vrrp.ReasonTTL: 0, vrrp.ReasonAuth: 2, vrrp.ReasonVRID: 0}}}}
	src := source(st, e)
	src.SpoofedEchoReplies = func() uint64 { return 8 }
	m := New(src, quiet())
	m.Reload(ReloadInvalid)
	page := scrape(t, m)
	wantSeries(t, page,
		`lbd_config_generation 4`,
		`lbd_config_loaded_timestamp_seconds 1.7e+09`,
		`lbd_vrrp_state{instance="VI_1",state="MASTER"} 1`,
		`lbd_vrrp_state{instance="VI_1",state="BACKUP"} 0`,
		`lbd_vrrp_priority{instance="VI_1"} 100`,
		`lbd_vrrp_adverts_sent_total{instance="VI_1"} 9`,
		`lbd_vrrp_packets_dropped_total{instance="VI_1",reason="ttl"} 0`,
		`lbd_vrrp_packets_dropped_total{instance="VI_1",reason="auth"} 2`,
		`lbd_drift_repairs_total 1`,
		`lbd_icmp_spoofed_replies_total 8`,
		`lbd_ipvs_apply_failing 0`,
		`lbd_ipvs_setting_failing{setting="lvs_sloppy_tcp"} 1`,
		`lbd_virtual_server_quorum_up{virtual_server="web"} 1`,
		`lbd_real_server_up{real_server="192.0.2.1:8080",virtual_server="web"} 1`,
		`lbd_real_server_weight{real_server="192.0.2.1:8080",virtual_server="web"} 3`,
		`lbd_real_server_probe_users{real_server="192.0.2.1:8080",virtual_server="web"} 2`,
		`lbd_ipvs_service_connections_total{service="TCP 198.51.100.10:80",virtual_server="web"} 7`,
		`lbd_ipvs_service_table_info{fingerprint="`+ipvs.TableFingerprint(table.Services[0])+`",service="TCP 198.51.100.10:80",virtual_server="web"} 1`,
		`lbd_ipvs_real_server_active_connections{real_server="192.0.2.1:8080",service="TCP 198.51.100.10:80",virtual_server="web"} 2`,
		`lbd_ipvs_real_server_weight{real_server="192.0.2.1:8080",service="TCP 198.51.100.10:80",virtual_server="web"} 3`,
		`lbd_reloads_total{result="invalid"} 1`,
		`lbd_reloads_total{result="apply_failed"} 0`,
		`lbd_scrape_errors{part="engine"} 0`,
		`go_goroutines`,
	)
	// An unchecked real server has no probe.
	if strings.Contains(page, `lbd_real_server_probe_users{real_server="192.0.2.2:8080"`) {
		t.Errorf("an unchecked real server has a probe_users series")
	}
	// Only the reasons that happened, and ttl always.
	if strings.Contains(page, `reason="vrid"`) {
		t.Errorf("a drop reason that never happened is exported")
	}
}

func TestCollectErrors(t *testing.T) {
	// Without an engine: VRRP only, no engine series and no error.
	page := scrape(t, New(source(State{}, nil), quiet()))
	wantSeries(t, page, `lbd_config_generation 0`, `lbd_scrape_errors{part="engine"} 0`)
	if strings.Contains(page, "lbd_drift_repairs_total") {
		t.Errorf("engine series without an engine")
	}

	src := source(State{}, &fakeEngine{tableErr: errors.New("netlink: no")})
	src.State = func(context.Context) (State, error) { return State{}, context.DeadlineExceeded }
	page = scrape(t, New(src, quiet()))
	wantSeries(t, page, `lbd_scrape_errors{part="vrrp"} 1`, `lbd_scrape_errors{part="kernel"} 1`,
		`lbd_scrape_errors{part="engine"} 0`, `lbd_drift_repairs_total 0`)

	page = scrape(t, New(source(State{}, &fakeEngine{stErr: context.DeadlineExceeded}), quiet()))
	wantSeries(t, page, `lbd_scrape_errors{part="engine"} 1`, `lbd_scrape_errors{part="kernel"} 0`)
}

type okChecker struct{ ok bool }

func (c okChecker) Check(context.Context) healthcheck.Result { return healthcheck.Result{OK: c.ok} }
func (c okChecker) String() string                           { return "fake" }

func TestCheckSeriesFollowTheRealServers(t *testing.T) {
	e := &fakeEngine{}
	m := New(source(State{}, e), quiet())
	factory := m.CheckerFactory(func(s lb.CheckSpec) (healthcheck.Checker, error) {
		return okChecker{ok: s.RealServer == "192.0.2.1:80"}, nil
	})
	for _, rs := range []string{"192.0.2.1:80", "192.0.2.2:80"} {
		c, err := factory(lb.CheckSpec{Check: &conf.Check{Type: "TCP"}, VirtualServer: "web", RealServer: rs})
		if err != nil {
			t.Fatal(err)
		}
		c.Check(context.Background())
	}
	wantSeries(t, scrape(t, m),
		`lbd_healthcheck_results_total{real_server="192.0.2.1:80",result="success",type="TCP",virtual_server="web"} 1`,
		`lbd_healthcheck_results_total{real_server="192.0.2.2:80",result="failure",type="TCP",virtual_server="web"} 1`,
		`lbd_healthcheck_duration_seconds_count{real_server="192.0.2.2:80",type="TCP",virtual_server="web"} 1`)

	// 192.0.2.2 is gone, 192.0.2.1 stays.
	e.st = lb.Status{VirtualServers: []lb.VirtualServerStatus{{Name: "web",
		RealServers: []lb.RealServerStatus{{Address: "192.0.2.1:80", Checked: true}}}}}
	m.PruneChecks()
	page := scrape(t, m)
	if strings.Contains(page, `real_server="192.0.2.2:80"`) {
		t.Errorf("the check series of a removed real server stay:\n%s", page)
	}
	wantSeries(t, page, `lbd_healthcheck_results_total{real_server="192.0.2.1:80",result="success",type="TCP",virtual_server="web"} 1`)
}

func TestCollectBGP(t *testing.T) {
	v1, v2 := netip.MustParseAddr("203.0.113.10"), netip.MustParseAddr("203.0.113.11")
	peer := netip.MustParseAddr("192.0.2.1")
	st := State{BGP: &BGP{Configured: []netip.Addr{v1, v2}, Announced: []netip.Addr{v1}, Errors: 2,
		Speaker: bgp.Stats{UnknownConnections: 3, Peers: []bgp.PeerStatus{{Address: peer, State: bgp.StateEstablished,
			Advertised: 1, RejectedPrefixes: 4, Resets: 5, NotificationsReceived: 6, ConnectFailures: 7}}},
		BFD: &bfd.Stats{Drops: map[bfd.DropReason]uint64{bfd.ReasonTTL: 8}, Sessions: []bfd.SessionStats{
			{Config: bfd.SessionConfig{Peer: peer}, State: bfd.StateUp, StateChanges: 9}}}}}
	page := scrape(t, New(source(st, nil), quiet()))
	wantSeries(t, page,
		`lbd_bgp_vip_announced{vip="203.0.113.10"} 1`,
		`lbd_bgp_vip_announced{vip="203.0.113.11"} 0`,
		`lbd_bgp_draining 0`,
		`lbd_bgp_errors_total 2`,
		`lbd_bgp_unknown_connections_total 3`,
		`lbd_bgp_peer_up{peer="192.0.2.1"} 1`,
		`lbd_bgp_peer_advertised_routes{peer="192.0.2.1"} 1`,
		`lbd_bgp_peer_rejected_prefixes{peer="192.0.2.1"} 4`,
		`lbd_bgp_peer_resets_total{peer="192.0.2.1"} 5`,
		`lbd_bgp_peer_notifications_received_total{peer="192.0.2.1"} 6`,
		`lbd_bgp_peer_connect_failures_total{peer="192.0.2.1"} 7`,
		`lbd_bfd_session_up{peer="192.0.2.1"} 1`,
		`lbd_bfd_session_state_changes_total{peer="192.0.2.1"} 9`,
		`lbd_bfd_packets_dropped_total{reason="ttl"} 8`,
	)
	if page := scrape(t, New(source(State{}, nil), quiet())); strings.Contains(page, "lbd_bgp_") {
		t.Error("BGP series without a bgp section")
	}
}
