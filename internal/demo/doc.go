// Package demo is lbd's main job, run by `make demo`: the whole HA lab in
// the VM (kernel IPVS), narrated, with timings measured live.
//
// Inside the VM's network namespaces, on one LAN: a client, two balancers
// running lbd (one YAML file each, VRRPv3 with 100 ms adverts, a
// direct-routing virtual server with HTTP_GET digest checks and a sorry
// server), three real servers (Go HTTP servers that answer with their name,
// the VIP on loopback) and the sorry server. The scheduler is mh (Maglev
// hashing of the client's address and port) with inhibit_on_failure, so
// both balancers keep the same lookup table, and lvs_sloppy_tcp lets a new
// master take over connections mid-stream.
//
// The demo shows the scheduler spreading traffic; a real server failing
// its digest check and coming back; every real server down so the sorry
// server answers; the master killed and the backup taking the VIP (the
// client's longest gap measured); a planned handover back in which no
// request fails; and a reload that changes one weight and nothing else.
// It ends with a summary table and fails unless every step behaved.
//
// TestPlannedHandovers repeats the planned handover six times under two
// clients, with this set-up (no request may fail) and with plain rr; as
// make bench-handover it also runs keepalived given the same settings,
// and prints the failures of each.
//
// The test binary doubles as lbd inside the VM (TestMain), since the guest
// has no Go toolchain to build one.
package demo
