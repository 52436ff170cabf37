// Package halab holds the two-balancer high-availability lab that needs
// kernel IPVS and so runs in the lab VM (lab.RunInVM): a client, two
// balancers (lbd, or Debian's keepalived for comparison) and TCP echo
// real servers, each in its own network namespace.
//
// TestIntegrationConnSync (part of make test) checks that established
// connections survive a killed master and a planned handover because the
// IPVS connection sync daemon, which lbd starts and stops with the VRRP
// role (lvs_sync_daemon), copied them to the backup.
//
// TestBenchHALab (make bench-halab, only with LBD_BENCH=1) runs a client
// load through the VIP while the master is killed, once with lbd and once
// with keepalived, and counts the requests that failed.
//
// The package has no non-test code; this file only documents it.
package halab
