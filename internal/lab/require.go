package lab

import (
	"os"
	"testing"
)

// RequiredEnv is the environment variable that turns "cannot run the lab here"
// from a skip into a failure. CI sets it so a missing dependency can never
// hide behind a green run.
const RequiredEnv = "LBD_LAB_REQUIRED"

// unavailable skips tb with why, or fails it when the lab is required.
func unavailable(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv(RequiredEnv) == "1" {
		tb.Fatalf("lab required (%s=1) but unavailable: %s", RequiredEnv, why)
	}
	tb.Skipf("lab unavailable: %s", why)
}

// RequireRoot skips (or fails, see RequiredEnv) unless the test runs as root,
// which network namespaces, raw sockets and IPVS need.
func RequireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		unavailable(tb, "needs root for network namespaces (run `make test` as root)")
	}
}
