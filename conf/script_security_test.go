package conf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestScriptSecurity checks that `lbd -t` and a reload refuse a script
// that someone other than root (or the user it runs as) could change,
// at the position of the configuration that names it.
func TestScriptSecurity(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing owners needs root")
	}
	const nobody = 65534
	// t.TempDir is 0700 root in /tmp, which is root's and sticky.
	d := filepath.Join(t.TempDir(), "bin")
	mkScriptDir(t, d, 0o755, 0)
	good, bad, nobodys := d+"/good", d+"/bad", d+"/nobodys"
	writeScript(t, good, 0o755, 0)
	writeScript(t, bad, 0o777, nobody)
	writeScript(t, nobodys, 0o755, nobody)
	gw := filepath.Join(t.TempDir(), "group-writable")
	mkScriptDir(t, gw, 0o775, 0)
	if err := os.Chown(gw, 0, nobody); err != nil {
		t.Fatal(err)
	}
	inGW := gw + "/s"
	writeScript(t, inGW, 0o755, 0)

	instance := func(extra string) string {
		return "vrrp_instances:\n  - name: VI_1\n    interface: eth0\n    virtual_router_id: 51\n" +
			"    virtual_ipaddresses: [192.0.2.100]\n" + extra
	}
	vrrpScript := func(path, user string) string {
		return "vrrp_scripts:\n  - name: chk\n    script: " + path + "\n    user: " + user + "\n" +
			instance("    track_scripts: [{name: chk}]\n")
	}
	misc := func(path, user string) string {
		return "virtual_servers:\n  - address: 192.0.2.10:80\n    real_servers:\n      - address: 192.0.2.15\n" +
			"        check: {type: MISC, misc_path: " + path + ", user: " + user + "}\n"
	}
	for _, tt := range []struct {
		name, yaml, want string // want "" is accepted
	}{
		{"good notify", instance("    notify_master: " + good + " arg\n"), ""},
		{"bad notify", instance("    notify_master: " + bad + " arg\n"),
			"x.yaml:2:5: vrrp instance VI_1 notify_master: script " + bad + ": " + bad + " is owned by uid 65534, not root"},
		{"notify in a group-writable directory", instance("    notify: " + inGW + "\n"),
			"x.yaml:2:5: vrrp instance VI_1 notify: script " + inGW + ": " + gw + " is writable by group 65534"},
		{"good vrrp script", vrrpScript(good, "root"), ""},
		{"vrrp script of its user", vrrpScript(nobodys, "nobody"), ""},
		{"vrrp script of another user", vrrpScript(nobodys, "root"),
			"x.yaml:2:5: vrrp script chk: script " + nobodys + ": " + nobodys + " is owned by uid 65534, not root"},
		{"vrrp script as unknown user", vrrpScript(good, "no-such-user-lbd"), `x.yaml:2:5: vrrp script chk: script: unknown user "no-such-user-lbd"`},
		{"good misc", misc(good, "nobody"), ""},
		// script_user is every script's user unless it names its own.
		{"notify of script_user", "global: {script_user: nobody}\n" + instance("    notify_master: "+nobodys+"\n"), ""},
		{"vrrp script of script_user", "global: {script_user: nobody}\nvrrp_scripts:\n  - name: chk\n    script: " + nobodys + "\n" +
			instance("    track_scripts: [{name: chk}]\n"), ""},
		{"misc of script_user", "global: {script_user: nobody}\n" + strings.Replace(misc(nobodys, "x"), ", user: x", "", 1), ""},
		{"notify of another user than script_user", "global: {script_user: nobody}\n" + instance("    notify_master: "+bad+"\n"),
			"x.yaml:3:5: vrrp instance VI_1 notify_master: script " + bad + ": " + bad + " is writable by others"},
		{"unknown script_user", "global: {script_user: no-such-user-lbd}\n" + instance("    notify_master: "+good+"\n"),
			`x.yaml:3:5: vrrp instance VI_1 notify_master: script: unknown user "no-such-user-lbd"`},
		{"bad misc", misc(bad, "nobody"), "x.yaml:5:16: virtual server TCP 192.0.2.10:80 real server 192.0.2.15 misc_path: script " +
			bad + ": " + bad + " is writable by others"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tt.yaml))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got:\n%v\nwant it to contain:\n%s", err, tt.want)
			}
		})
	}
}

// mkScriptDir makes dir with exactly mode, owned by uid.
func mkScriptDir(t *testing.T, dir string, mode os.FileMode, uid int) {
	t.Helper()
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	chownMode(t, dir, mode, uid)
}

// writeScript writes an executable file with exactly mode, owned by uid.
func writeScript(t *testing.T, path string, mode os.FileMode, uid int) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	chownMode(t, path, mode, uid)
}

func chownMode(t *testing.T, path string, mode os.FileMode, uid int) {
	t.Helper()
	if err := os.Chown(path, uid, uid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
