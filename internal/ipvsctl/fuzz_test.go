package ipvsctl

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lbd-project/lbd/internal/control"
)

// FuzzRun feeds arbitrary command lines to ipvsctl, subcommands and
// ipvsadm syntax alike, with a fake lbd answering every method and a fake
// kernel: it must never panic, and exits with one of the documented codes.
func FuzzRun(f *testing.F) {
	for _, s := range []string{
		"status",
		"status --json",
		"--socket /nonexistent status",
		"reload",
		"plan new.yaml",
		"plan --json",
		"drain -t 192.0.2.10:80 -r 192.0.2.15 --timeout 30s",
		"drain -f 1 -6 -r [2001:db8::1]:0 --timeout=90",
		"enable -u web.example:domain -r rs1.example",
		"enable --sctp-service [2001:db8::10]:5060 -r 2001:db8::2 --json",
		"handover VI_1",
		"help",
		"-a -t 192.0.2.10:80 -r 192.0.2.15 -w 3",
		"--kernel -e -t 192.0.2.20:80 -r 192.0.2.15 -m",
		"-d -f 1 -6 -r 2001:db8::1 --kernel",
		"-a -f 1 -6 -r 2001:db8::3 -i --tun-type gue --tun-port 6080",
		"-L -n -- --kernel",
		"drain -- -t 192.0.2.10:80",
		"--socket",
	} {
		f.Add(s)
	}
	lbd := startLbd(f, map[string]func(json.RawMessage) (any, error){
		control.MethodStatus:   canned(sampleStatus),
		control.MethodReload:   canned(control.ReloadResult{Generation: 2, Changes: []string{"+ -A -t 192.0.2.10:80 -s wlc"}}),
		control.MethodPlan:     canned(control.PlanResult{}),
		control.MethodDrain:    canned(control.DrainResult{ActiveConns: 1}),
		control.MethodEnable:   canned(nil),
		control.MethodHandover: canned(control.HandoverResult{Instances: []string{"VI_1"}}),
		control.MethodRuntime: func(raw json.RawMessage) (any, error) {
			var p control.RuntimeParams
			json.Unmarshal(raw, &p)
			if p.Service.Port == 80 {
				return nil, nil
			}
			return nil, control.Errorf(control.CodeNotManaged, "not managed")
		},
	})
	f.Fuzz(func(t *testing.T, line string) {
		r := runWith(t, lbd.path, kernelWith(), strings.Fields(line)...)
		switch r.code {
		case 0, 1, 2, 255:
		default:
			t.Fatalf("%q: exit %d", line, r.code)
		}
		if r.code != 0 && r.code != 1 && r.stderr == "" {
			t.Fatalf("%q: exit %d without a message", line, r.code)
		}
	})
}
