package daemon

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/lbd-project/lbd/conf"
)

// TestInitTrackFiles: init_file of a VRRP track file and of a FILE check
// creates the missing files with their value, leaves an existing one
// unless overwrite, and a file it cannot write costs a log line only.
func TestInitTrackFiles(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	os.WriteFile(p("kept"), []byte("9\n"), 0o644)
	os.WriteFile(p("rewritten"), []byte("9\n"), 0o644)
	cfg, err := conf.Parse("lbd.yaml", []byte(fmt.Sprintf(`vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 51
    virtual_ipaddresses: [192.0.2.100]
    track_files:
      - {path: %[1]s/new, weight: -5, init_file: {value: 3}}
      - {path: %[1]s/kept, weight: -5, init_file: {}}
      - {path: %[1]s/rewritten, weight: -5, init_file: {value: 2, overwrite: true}}
      - {path: %[1]s/missing/dir/f, weight: -5, init_file: {}}
virtual_servers:
  - address: 192.0.2.10:80
    check: {type: FILE, track_file: %[1]s/check, weight: 1, init_file: {value: 1}}
    real_servers: [192.0.2.20:80]
`, dir)))
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	d.initTrackFiles(cfg)
	for name, want := range map[string]string{"new": "3\n", "kept": "9\n", "rewritten": "2\n", "check": "1\n"} {
		if b, err := os.ReadFile(p(name)); err != nil || string(b) != want {
			t.Errorf("%s: %q, %v; want %q", name, b, err, want)
		}
	}
}
