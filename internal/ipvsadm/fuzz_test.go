package ipvsadm

import (
	"strings"
	"testing"
)

// FuzzParseCommand feeds arbitrary command lines to the parser: it must
// never panic, and every rejection must carry ipvsadm's exit code and a
// message.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		"-A -t 10.0.0.1:80 -s rr -p",
		"-a -t [2001:db8::1]:443 -r [2001:db8::2]:443 -m -w 3",
		"-Ln --stats --exact",
		"-a -f 1 -6 -r 2001:db8::3 -i --tun-type gue --tun-port 6080 --tun-csum",
		"--set 1 2 3",
		"--start-daemon master --mcast-group ff02::1 --syncid 3",
		"-A -t 10.1:http -M 255.255.0.0 -p=",
		"-L -- -n",
		"-E -f 12x -b ,,",
		"-A -u [::ffff:1.2.3.4]:0 -o -p 1",
		"-Z -t 0x0a.1:0",
	} {
		f.Add(s)
	}
	ps := parser{names: fakeNames{}}
	f.Fuzz(func(t *testing.T, line string) {
		argv := append([]string{"ipvsadm"}, strings.Fields(line)...)
		ce, e := ps.parseCommand(argv)
		if e != nil {
			switch e.code {
			case 2, 255:
			default:
				t.Fatalf("%q: exit code %d", line, e.code)
			}
			if e.msg == "" || !strings.HasSuffix(e.msg, "\n") {
				t.Fatalf("%q: message %q", line, e.msg)
			}
			return
		}
		if ce.cmd == cmdNone {
			t.Fatalf("%q: no command and no error", line)
		}
		// Whatever parsed converts without panicking.
		if _, err := ce.svc.service(); err == nil {
			_ = ce.dest.destination()
		}
	})
}

// FuzzParseRealServer does the same for the service and real-server
// options of ipvsctl's drain and enable.
func FuzzParseRealServer(f *testing.F) {
	for _, s := range []string{
		"-t 192.0.2.10:80 -r 192.0.2.15",
		"-f 1 -6 -r [2001:db8::1]:0",
		"--sctp-service [2001:db8::10]:5060 -r 2001:db8::2",
		"-u vip1:http -r 198.51.100.7:53",
		"-t 192.0.2.10:80 -r 192.0.2.15 -w 3",
		"-r 203.0.113.1 -t 80",
		"-6 -f 0x10 -r 2001:db8::1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		_, _, err := ParseRealServer(fakeNames{}, "drain", strings.Fields(line))
		if err != nil && err.Error() == "" {
			t.Fatalf("%q: empty error", line)
		}
	})
}
