// Package bench holds the health-check benchmark (make bench-healthcheck):
// lbd's Runner and Debian's keepalived check the same thousands of loopback
// servers, one after the other, and the test reports CPU, memory and
// lateness of each.
// Everything is in bench_linux_test.go (keepalived and /proc make it
// Linux-only) and runs only with LBD_BENCH=1.
package bench
