package conf

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestLoadClientFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := write("lbd.yaml", example)
	if c, err := LoadClientFile(good); err != nil || c.Global.RouterID != "lb1" {
		t.Fatalf("regular file: %+v, %v", c, err)
	}

	link := filepath.Join(dir, "link.yaml")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	huge := write("huge.yaml", "")
	if err := os.Truncate(huge, MaxClientFileSize+1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	secret := write("shadow", "root:$6$s3cr3tHash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n")
	cases := []struct {
		name, path string
		want       []string // in the error
	}{
		{"symbolic link", link, []string{link, "symbolic link"}},
		{"FIFO", fifo, []string{fifo, "FIFO"}},
		{"device", "/dev/null", []string{"/dev/null", "device"}},
		{"directory", dir, []string{dir, "directory"}},
		{"too large", huge, []string{huge, "larger than 64 MiB"}},
		{"not a config", secret, []string{secret + ":1:1:", "lbd -t -f " + secret}},
		{"missing", filepath.Join(dir, "missing.yaml"), []string{"no such file"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := LoadClientFile(c.path)
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("LoadClientFile blocked")
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			for _, leak := range []string{"s3cr3t", "root:", "daemon:"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("error %q echoes the file's text %q", err, leak)
				}
			}
		})
	}
}
