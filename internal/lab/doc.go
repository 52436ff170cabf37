// Package lab builds throwaway test topologies for lbd's integration tests.
//
// Two kinds of lab exist:
//
//   - Network namespaces on whatever kernel runs the test: nodes (one network
//     namespace each), LANs (a Linux bridge inside a namespace of its own, so
//     nothing touches the host's namespace), veth cables, addresses, routes,
//     sysctls, functions and processes run inside a node.
//   - A qemu VM (TCG, no KVM needed) booting Debian's distribution kernel with
//     the ip_vs modules, for tests that need kernel IPVS, which the CI host
//     kernel lacks. A test calls RunInVM; on the host that boots the VM and
//     re-runs just that test inside it, reporting the result as its own.
//
// Namespaces are anonymous (held by file descriptors, never bind-mounted), so
// even a test process that is killed leaves none behind; processes started in
// a node get SIGKILL when the test process dies. The one exception is
// NamedNode, for code that enters a namespace by name: `ip netns add
// lbdtest-...`, deleted at cleanup but left behind by a killed test. Addresses used by the tests
// are TEST-NET ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
// 2001:db8::/32) that exist only inside the namespaces a test created.
//
// Tests that need root, namespaces or the VM skip with a message saying what
// is missing, unless LBD_LAB_REQUIRED=1 (set by CI), where they fail instead.
//
// Namespaces and the VM exist only on Linux, so they live in *_linux.go
// files and the tests that use them in *_linux_test.go files; Poll, WaitFor
// and RequireRoot build anywhere.
//
// This package is for tests only; non-test code must not import it.
package lab
