package ipvsctl

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/lbd-project/lbd/internal/control"
)

// completeStatus is the daemon the completion asks for names.
var completeStatus = control.StatusResult{
	VirtualServers: []control.VirtualServerStatus{
		{Service: control.ServiceRef{Protocol: "TCP", Address: "192.0.2.10", Port: 80},
			RealServers: []control.RealServerStatus{{RealServerRef: control.RealServerRef{Address: "198.51.100.1", Port: 8080}}}},
		{Service: control.ServiceRef{Protocol: "TCP", Address: "2001:db8::10", Port: 443},
			RealServers: []control.RealServerStatus{{RealServerRef: control.RealServerRef{Address: "2001:db8::21", Port: 443}}}},
		{Service: control.ServiceRef{Protocol: "UDP", Address: "192.0.2.10", Port: 53},
			RealServers: []control.RealServerStatus{{RealServerRef: control.RealServerRef{Address: "198.51.100.2", Port: 53}}}},
		{Service: control.ServiceRef{FWMark: 7},
			RealServers: []control.RealServerStatus{{RealServerRef: control.RealServerRef{Address: "198.51.100.3"}}}},
	},
	VRRPInstances: []control.VRRPInstanceStatus{{Name: "VI_web"}, {Name: "VI_dns"}},
}

// complete runs "ipvsctl __complete LINE" against the socket and returns
// the candidates.
func complete(t *testing.T, socket, line string) []string {
	t.Helper()
	r := runWith(t, socket, nil, "__complete", line)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("__complete %q: exit %d, stderr %q", line, r.code, r.stderr)
	}
	return strings.Fields(r.stdout)
}

func TestCompleteNamesFromTheDaemon(t *testing.T) {
	f := startLbd(t, map[string]func(json.RawMessage) (any, error){control.MethodStatus: canned(completeStatus)})
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"ipvsctl -a -t ", []string{"192.0.2.10:80", "[2001:db8::10]:443"}},
		{"ipvsctl -L -u ", []string{"192.0.2.10:53"}},
		{"ipvsctl -d --fwmark-service ", []string{"7"}},
		// The real servers of the service named before -r only.
		{"ipvsctl drain -t 192.0.2.10:80 -r ", []string{"198.51.100.1:8080"}},
		{"ipvsctl drain -r ", []string{"198.51.100.1:8080", "198.51.100.2:53", "198.51.100.3", "[2001:db8::21]:443"}},
		{"ipvsctl handover ", []string{"--json", "--restore", "VI_dns", "VI_web"}},
		{"ipvsctl handover VI_w", []string{"VI_web"}},
		// Bash replaces the word after its last ":", so that much is cut.
		{"ipvsctl -a -t 192.0.2.10:", []string{"80"}},
	} {
		if got := complete(t, f.path, tc.line); !slices.Equal(got, tc.want) {
			t.Errorf("%q: %q, want %q", tc.line, got, tc.want)
		}
	}
	// --socket on the line is the daemon asked: an absent one has no names.
	if got := complete(t, f.path, "ipvsctl --socket /nonexistent/lbd.sock handover "); !slices.Equal(got, []string{"--json", "--restore"}) {
		t.Errorf("with an absent --socket: %q", got)
	}
}

func TestCompleteWithoutDaemon(t *testing.T) {
	got := complete(t, "", "ipvsctl ")
	for _, want := range []string{"status", "drain", "handover", "diff", "completion", "--socket", "--kernel", "-A", "--add-service", "--json"} {
		if !slices.Contains(got, want) {
			t.Errorf("first word: %q missing from %q", want, got)
		}
	}
	if got := complete(t, "", "ipvsctl -t "); len(got) != 0 {
		t.Errorf("services without a daemon: %q", got)
	}
	if got := complete(t, "", "ipvsctl -A -t 192.0.2.1:80 -s w"); !slices.Equal(got, []string{"wlc", "wrr"}) {
		t.Errorf("schedulers: %q", got)
	}
	if got := complete(t, "", "ipvsctl enable --"); !slices.Equal(got, []string{"--balancer", "--json", "--sctp-service"}) {
		t.Errorf("enable's options: %q", got)
	}
	if got := complete(t, "", "ipvsctl completion "); !slices.Equal(got, []string{"bash"}) {
		t.Errorf("completion: %q", got)
	}
	if got := complete(t, "", "ipvsctl --socket "); len(got) != 0 {
		t.Errorf("--socket's value is a path for bash to complete, got %q", got)
	}
}

// TestCompleteOffersWhatIsParsed checks the completion's tables against
// the parsers: every subcommand, and each own option a subcommand's
// parser accepts.
func TestCompleteOffersWhatIsParsed(t *testing.T) {
	for name := range subcommands {
		if _, ok := subcommandOptions[name]; !ok {
			t.Errorf("subcommand %q has no completion entry", name)
		}
	}
	for name, opts := range subcommandOptions {
		if _, ok := subcommands[name]; !ok {
			t.Errorf("completion offers %q, which is no subcommand", name)
		}
		for _, o := range opts {
			if _, own := ownOptions[o]; !own && !slices.Contains(ipvsadmServiceOptions, o) {
				t.Errorf("%s: %q is neither ipvsctl's nor a service option", name, o)
			}
		}
	}
	// drain's parser takes what the table says: --restore is handover's.
	if r := runWith(t, "", nil, "drain", "--restore"); r.code != 2 {
		t.Errorf("drain --restore: exit %d, want 2 (usage)", r.code)
	}
}

// ipvsadmServiceOptions are the ipvsadm options drain and enable take.
var ipvsadmServiceOptions = []string{"-t", "-u", "--sctp-service", "-f", "-6", "-r"}

func TestCompletionScript(t *testing.T) {
	r := runWith(t, "", nil, "completion", "bash")
	if r.code != 0 || !strings.Contains(r.stdout, "complete -o default -F _ipvsctl_complete ipvsctl") {
		t.Errorf("completion bash: exit %d\n%s", r.code, r.stdout)
	}
	if r := runWith(t, "", nil, "completion", "zsh"); r.code != 2 || !strings.Contains(r.stderr, "completion bash") {
		t.Errorf("completion zsh: exit %d, stderr %q", r.code, r.stderr)
	}
}
