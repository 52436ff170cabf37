package script

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// nobody is the uid of an account that must not be able to change what
// root runs.
const nobody = 65534

// secureDir returns a new directory owned by root, mode 0755, under
// t.TempDir (0700 root, under /tmp: root-owned, 1777, sticky).
func secureDir(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("changing owners needs root")
	}
	d := filepath.Join(t.TempDir(), "d")
	mkdir(t, d, 0o755, 0, 0)
	return d
}

// mkdir makes dir with exactly mode (no umask), owned by uid:gid.
func mkdir(t *testing.T, dir string, mode os.FileMode, uid, gid int) {
	t.Helper()
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	chown(t, dir, mode, uid, gid)
}

// script writes an executable that touches ran when it runs, with exactly
// mode, owned by uid:gid.
func script(t *testing.T, path string, mode os.FileMode, uid, gid int) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\ntouch "+path+".ran\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	chown(t, path, mode, uid, gid)
}

func chown(t *testing.T, path string, mode os.FileMode, uid, gid int) {
	t.Helper()
	if err := os.Chown(path, uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func TestCheckScriptSecurity(t *testing.T) {
	d := secureDir(t)
	script(t, d+"/good", 0o755, 0, 0)
	script(t, d+"/world-writable", 0o777, 0, 0)
	script(t, d+"/nobodys", 0o755, nobody, nobody)
	script(t, d+"/root-group-writable", 0o775, 0, 0)
	script(t, d+"/group-writable", 0o775, 0, nobody)
	mkdir(t, d+"/gw", 0o775, 0, nobody)
	script(t, d+"/gw/s", 0o755, 0, 0)
	mkdir(t, d+"/ww", 0o777, 0, 0)
	script(t, d+"/ww/s", 0o755, 0, 0)
	mkdir(t, d+"/tmp", 0o777|os.ModeSticky, 0, 0)
	script(t, d+"/tmp/s", 0o755, 0, 0)
	mkdir(t, d+"/nobody", 0o755, nobody, nobody)
	script(t, d+"/nobody/s", 0o755, 0, 0)
	mkdir(t, d+"/nobody-tmp", 0o777|os.ModeSticky, nobody, nobody)
	script(t, d+"/nobody-tmp/s", 0o755, 0, 0)
	// A safe link to an unsafe file, and a link through an unsafe
	// directory: each hop is checked, not only the link's own path.
	must(t, os.Symlink(d+"/world-writable", d+"/link-to-bad"))
	must(t, os.Symlink("ww", d+"/link-to-ww"))
	must(t, os.Symlink("good", d+"/link-to-good"))
	must(t, os.Symlink(d+"/nobody", d+"/link-in-good-dir"))
	must(t, os.Symlink("../good", d+"/ww/link-back"))

	for _, tt := range []struct {
		path, user, want string // want "" is accepted
	}{
		{"good", "", ""},
		{"good", "nobody", ""},
		{"link-to-good", "", ""},
		// A root-owned sticky directory is /tmp: others may create
		// entries but not replace root's.
		{"tmp/s", "", ""},
		// keepalived's rule: a group that is root may write.
		{"root-group-writable", "", ""},
		{"world-writable", "", d + "/world-writable is writable by others"},
		{"world-writable", "nobody", d + "/world-writable is writable by others"},
		{"group-writable", "", d + "/group-writable is writable by group 65534"},
		{"nobodys", "", d + "/nobodys is owned by uid 65534, not root"},
		// A script that runs as nobody may be nobody's: nobody gains
		// nothing by changing it.
		{"nobodys", "nobody", ""},
		{"gw/s", "", d + "/gw is writable by group 65534"},
		{"ww/s", "", d + "/ww is writable by others"},
		{"nobody/s", "", d + "/nobody is owned by uid 65534, not root"},
		{"nobody-tmp/s", "", d + "/nobody-tmp is owned by uid 65534, not root"},
		{"link-to-bad", "", d + "/world-writable is writable by others"},
		{"link-to-ww/s", "", d + "/ww is writable by others"},
		{"link-in-good-dir/s", "", d + "/nobody is owned by uid 65534, not root"},
		{"ww/link-back", "", d + "/ww is writable by others"},
		{"missing", "", "no such file or directory"},
		{"good/x", "", "not a directory"},
		{"tmp", "", d + "/tmp is not a regular file"},
	} {
		p := d + "/" + tt.path
		err := Check(Spec{Argv: []string{p}, User: tt.user})
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s as %q: %v", tt.path, tt.user, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p)):
			t.Errorf("%s as %q: got %v, want an error naming %s and %q", tt.path, tt.user, err, p, tt.want)
		}
	}
}

// The rules hold when the script runs, not only when it was configured:
// a file made writable after Check is refused, and nothing runs.
func TestRunRefusesInsecureScript(t *testing.T) {
	d := secureDir(t)
	p := d + "/s"
	script(t, p, 0o755, 0, 0)
	if err := Check(Spec{Argv: []string{p}}); err != nil {
		t.Fatal(err)
	}
	chown(t, p, 0o757, 0, 0)
	r := Run(context.Background(), Spec{Argv: []string{p}})
	if r.Err == nil || r.Exit != -1 || !strings.Contains(r.String(), p+" is writable by others") {
		t.Errorf("got %+v (%s)", r, r)
	}
	if _, err := os.Stat(p + ".ran"); err == nil {
		t.Error("the script ran")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
