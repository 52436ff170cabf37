package lab

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sync"
	"testing"
)

// binaries holds the commands built for this test process, by package.
var binaries struct {
	mu    sync.Mutex
	dir   string
	built map[string]string
}

// Binary builds a command of this module (e.g.
// "github.com/lbd-project/lbd/cmd/lbd") once per test process and returns
// its path; the package's TestMain removes them with RemoveBinaries.
func Binary(tb testing.TB, pkg string) string {
	tb.Helper()
	binaries.mu.Lock()
	defer binaries.mu.Unlock()
	if p, ok := binaries.built[pkg]; ok {
		return p
	}
	// go test puts its own GOROOT/bin first in PATH, so this finds the
	// toolchain that built the test.
	goBin, err := exec.LookPath("go")
	if err != nil {
		tb.Fatalf("lab: build %s: %v", pkg, err)
	}
	if binaries.dir == "" {
		if binaries.dir, err = os.MkdirTemp("", "lbd-test-bin-"); err != nil {
			tb.Fatalf("lab: build %s: %v", pkg, err)
		}
		binaries.built = map[string]string{}
	}
	p := filepath.Join(binaries.dir, path.Base(pkg))
	if out, err := exec.Command(goBin, "build", "-o", p, pkg).CombinedOutput(); err != nil {
		tb.Fatal(fmt.Errorf("lab: go build %s: %v\n%s", pkg, err, out))
	}
	binaries.built[pkg] = p
	return p
}

// RemoveBinaries removes what Binary built; call it from TestMain after
// the tests ran.
func RemoveBinaries() {
	binaries.mu.Lock()
	defer binaries.mu.Unlock()
	if binaries.dir != "" {
		os.RemoveAll(binaries.dir)
		binaries.dir, binaries.built = "", nil
	}
}
