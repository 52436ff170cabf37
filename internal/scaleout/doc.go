// Package scaleout is the active/active lab: N balancers announce one
// virtual address over BGP to a router that spreads the clients over them
// with ECMP, all in the lab VM (kernel IPVS).
//
// Inside the VM's network namespaces: a client on its own network behind
// the router; the router running BIRD 2 from Debian (BGP with each
// balancer, BFD, ECMP into the kernel with merge paths, and
// net.ipv4.fib_multipath_hash_policy=1 so flows are hashed on their
// ports); and on one LAN three balancers running lbd (mh with mh-port and
// mh-fallback, lvs_sloppy_tcp, direct routing) and three real servers
// (Go servers with the address on loopback: HTTP on port 80 answering
// with their name, and a line echo on port 7 for long-lived
// connections).
//
// TestScaleOut (make test) checks that the sessions establish; that the
// route reaches the router's FIB with a next hop per balancer and new
// connections spread over all three; that a real server failing changes
// nothing in BGP; that losing quorum withdraws the address and regaining
// it announces it again after the hold-down; that long-lived connections
// survive a balancer's planned drain and a balancer killed (links down,
// SIGKILL).
//
// TestBenchScaleout (make bench-scaleout) measures the same under the
// bounded client load of the other benchmarks and, in the same run, a
// VRRP pair's failover for the same kill, and prints one scaleout_bench
// line.
//
// The test binary doubles as lbd inside the VM (TestMain), since the guest
// has no Go toolchain to build one.
package scaleout
