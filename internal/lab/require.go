package lab

import (
	"fmt"
	"os"
	"os/exec"
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

// RequireCommand skips (or fails, see RequiredEnv) unless the program
// name (a path, or a name looked up in PATH) is installed: the reference
// tools the tests compare with, such as keepalived or nft.
func RequireCommand(tb testing.TB, name string) {
	tb.Helper()
	if _, err := exec.LookPath(name); err != nil {
		unavailable(tb, fmt.Sprintf("%s is not installed (make deps installs it): %v", name, err))
	}
}
