// Package demo is lbd's main job, run by `make demo`: the whole HA lab in
// the VM (kernel IPVS), narrated, with timings measured live.
//
// Inside the VM's network namespaces: a client, two balancers running lbd
// (one YAML file each, VRRPv3 with 100 ms adverts, a NAT virtual server with
// HTTP_GET digest checks and a sorry server), three real servers (Go HTTP
// servers that answer with their name) and the sorry server. The demo
// shows the scheduler spreading traffic; a real server failing its digest
// check and coming back; every real server down so the sorry server
// answers; the master killed and the backup taking the VIP (the client's
// longest gap measured); a planned handover back in which the VIP is never
// missing (a request in flight while the NAT gateway address moves can
// still fail, since the new master has no state for its connection: up to
// two are allowed); and a reload that changes one weight and nothing else.
// It ends with a summary table and fails unless every step behaved.
//
// The test binary doubles as lbd inside the VM (TestMain), since the guest
// has no Go toolchain to build one.
package demo
