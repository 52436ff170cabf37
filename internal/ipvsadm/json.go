package ipvsadm

import (
	"encoding/json"
	"net/netip"
	"strings"

	"github.com/lbd-project/lbd/ipvs"
)

// The --json output. Every listing prints one JSON document followed by a
// newline; addresses and ports are always numeric. Schema:
//
//	-L/-l/-S [service] --json:
//	{"version": "1.2.1", "conn_table_size": 4096, "services": [Service...]}
//	Service: {"family": "IPv4"|"IPv6",
//	  "protocol": "TCP"|"UDP"|"SCTP", "address": "192.0.2.1", "port": 80,  (address services)
//	  "fwmark": 1,                                                       (firewall-mark services)
//	  "scheduler": "wlc", "sched_flags": ["sh-port"],
//	  "persistent": true, "timeout": 300, "netmask": 24,   (timeout and netmask only when persistent; netmask is a prefix length)
//	  "ops": false, "pe": "sip",
//	  "stats": Stats, "destinations": [Destination...]}
//	Destination: {"family": "IPv4", "address": "192.0.2.10", "port": 80,
//	  "forward": "Masq"|"Local"|"Tunnel"|"Route", "weight": 1,
//	  "u_threshold": 0, "l_threshold": 0,
//	  "active_conns": 0, "inact_conns": 0, "persist_conns": 0,
//	  "tunnel": {"type": "ipip"|"gue"|"gre", "port": 6080, "csum": "nocsum"|"csum"|"remcsum"},  (Tunnel only)
//	  "stats": Stats}
//	Stats: {"conns", "inpkts", "outpkts", "inbytes", "outbytes",
//	  "cps", "inpps", "outpps", "inbps", "outbps"} (all numbers)
//	-L -c --json: {"connections": [{"protocol", "client_address", "client_port",
//	  "virtual_address", "virtual_port", "destination_address", "destination_port",
//	  "state", "expires" (seconds), "pe_name", "pe_data"}]}
//	-L --timeout --json: {"tcp": 900, "tcpfin": 120, "udp": 300}
//	-L --daemon --json: {"daemons": [{"state": "master"|"backup", "mcast_interface",
//	  "syncid", "sync_maxlen", "mcast_group", "mcast_port", "mcast_ttl"}]}
//
// Services and destinations are ordered as in the text listing (sorted
// unless --nosort).

type jsonStats struct {
	Conns    uint64 `json:"conns"`
	InPkts   uint64 `json:"inpkts"`
	OutPkts  uint64 `json:"outpkts"`
	InBytes  uint64 `json:"inbytes"`
	OutBytes uint64 `json:"outbytes"`
	CPS      uint64 `json:"cps"`
	InPPS    uint64 `json:"inpps"`
	OutPPS   uint64 `json:"outpps"`
	InBPS    uint64 `json:"inbps"`
	OutBPS   uint64 `json:"outbps"`
}

type jsonTunnel struct {
	Type string `json:"type"`
	Port uint16 `json:"port,omitempty"`
	Csum string `json:"csum,omitempty"`
}

type jsonDest struct {
	Family       string      `json:"family"`
	Address      netip.Addr  `json:"address"`
	Port         uint16      `json:"port"`
	Forward      string      `json:"forward"`
	Weight       int32       `json:"weight"`
	UThreshold   uint32      `json:"u_threshold"`
	LThreshold   uint32      `json:"l_threshold"`
	ActiveConns  uint32      `json:"active_conns"`
	InactConns   uint32      `json:"inact_conns"`
	PersistConns uint32      `json:"persist_conns"`
	Tunnel       *jsonTunnel `json:"tunnel,omitempty"`
	Stats        jsonStats   `json:"stats"`
}

type jsonService struct {
	Family       string      `json:"family"`
	Protocol     string      `json:"protocol,omitempty"`
	Address      *netip.Addr `json:"address,omitempty"`
	Port         *uint16     `json:"port,omitempty"`
	FWMark       uint32      `json:"fwmark,omitempty"`
	Scheduler    string      `json:"scheduler"`
	SchedFlags   []string    `json:"sched_flags"`
	Persistent   bool        `json:"persistent"`
	Timeout      uint32      `json:"timeout,omitempty"`
	Netmask      int         `json:"netmask,omitempty"`
	OPS          bool        `json:"ops"`
	PE           string      `json:"pe,omitempty"`
	Stats        jsonStats   `json:"stats"`
	Destinations []jsonDest  `json:"destinations"`
}

type jsonTable struct {
	Version       string        `json:"version"`
	ConnTableSize uint32        `json:"conn_table_size"`
	Services      []jsonService `json:"services"`
}

func statsJSON(s ipvs.Stats) jsonStats { return jsonStats(s) }

func familyName(af int) string {
	if af == afInet6 {
		return "IPv6"
	}
	return "IPv4"
}

func tableJSON(info ipvs.Info, svcs []svcEntry, format uint) jsonTable {
	t := jsonTable{Version: info.Version.String(), ConnTableSize: info.ConnTableSize, Services: []jsonService{}}
	for _, se := range svcs {
		s := &se.svc
		js := jsonService{
			Family:       familyName(s.af),
			FWMark:       s.fwmark,
			Scheduler:    s.sched,
			SchedFlags:   []string{},
			Persistent:   s.flags&svcFPersistent != 0,
			OPS:          s.flags&svcFOnePacket != 0,
			PE:           s.pe,
			Stats:        statsJSON(se.stats),
			Destinations: []jsonDest{},
		}
		if f := schedFlags(s); f != "" {
			js.SchedFlags = strings.Split(f, ",")
		}
		if s.fwmark == 0 {
			js.Protocol = ipvs.Protocol(s.protocol).String()
			a, p := rawAddr(s.af, s.addr), s.port
			js.Address, js.Port = &a, &p
		}
		if js.Persistent {
			js.Timeout = s.timeout
			if s.af == afInet6 {
				js.Netmask = int(s.netmask)
			} else if n, ok := maskPrefix(s.netmask); ok {
				js.Netmask = n
			}
		}
		dests := append([]destEntry(nil), se.dests...)
		if format&fmtNoSort == 0 {
			mergeSort(dests, cmpDests)
		}
		for _, e := range dests {
			d := &e.dest
			jd := jsonDest{
				Family: familyName(d.af), Address: rawAddr(d.af, d.addr), Port: d.port,
				Forward: fwdName(d.connFlags), Weight: int32(d.weight),
				UThreshold: uint32(d.uThresh), LThreshold: uint32(d.lThresh),
				ActiveConns: e.active, InactConns: e.inact, PersistConns: e.persist,
				Stats: statsJSON(e.stats),
			}
			if d.connFlags&7 == connFTunnel {
				jd.Tunnel = &jsonTunnel{Type: ipvs.TunnelType(d.tunType).String()}
				if d.tunType != 0 {
					jd.Tunnel.Csum = ipvs.TunnelFlags(d.tunFlags).String()
				}
				if d.tunType == 1 {
					jd.Tunnel.Port = d.tunPort
				}
			}
			js.Destinations = append(js.Destinations, jd)
		}
		t.Services = append(t.Services, js)
	}
	return t
}

func connsJSON(conns []Conn) any {
	if conns == nil {
		conns = []Conn{}
	}
	return struct {
		Connections []Conn `json:"connections"`
	}{conns}
}

func timeoutsJSON(t ipvs.Timeouts) any {
	return struct {
		TCP    int64 `json:"tcp"`
		TCPFin int64 `json:"tcpfin"`
		UDP    int64 `json:"udp"`
	}{int64(t.TCP.Seconds()), int64(t.TCPFin.Seconds()), int64(t.UDP.Seconds())}
}

type jsonDaemon struct {
	State          string      `json:"state"`
	McastInterface string      `json:"mcast_interface"`
	SyncID         uint32      `json:"syncid"`
	SyncMaxLen     uint16      `json:"sync_maxlen,omitempty"`
	McastGroup     *netip.Addr `json:"mcast_group,omitempty"`
	McastPort      uint16      `json:"mcast_port,omitempty"`
	McastTTL       uint8       `json:"mcast_ttl,omitempty"`
}

func daemonsJSON(ds []ipvs.SyncDaemon) any {
	out := []jsonDaemon{}
	for _, d := range ds {
		jd := jsonDaemon{State: d.State.String(), McastInterface: d.McastIfn, SyncID: d.SyncID,
			SyncMaxLen: d.SyncMaxLen, McastPort: d.McastPort, McastTTL: d.McastTTL}
		if d.McastGroup.IsValid() {
			g := d.McastGroup
			jd.McastGroup = &g
		}
		out = append(out, jd)
	}
	return struct {
		Daemons []jsonDaemon `json:"daemons"`
	}{out}
}

func (r *runner) writeJSON(v any) *exitError {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fail(1, "ipvsctl: %v", err)
	}
	r.out.Write(b)
	r.out.WriteByte('\n')
	return nil
}
