package ipvsctl

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/lbd-project/lbd/internal/completion"
	"github.com/lbd-project/lbd/internal/control"
	"github.com/lbd-project/lbd/internal/ipvsadm"
	"github.com/lbd-project/lbd/ipvs"
)

// completeTimeout bounds the status call that completion makes for
// names: a shell waiting on Tab must not hang on a stuck daemon.
const completeTimeout = time.Second

// Complete writes the candidates for the end of line (ipvsctl __complete
// LINE, run by the script of "ipvsctl completion bash"), one per line.
// Service, real server and instance names come from the daemon at
// socket ("" for the default or the line's --socket).
func Complete(ctx context.Context, w io.Writer, line, socket, wordBreaks string) error {
	l := completion.Parse(line)
	c := lineCompleter{ctx: ctx, socket: socket}
	return completion.Write(w, l, wordBreaks, c.candidates(l))
}

// subcommandOptions are the options each daemon subcommand accepts
// beside the global ones; drain and enable also take a service and a
// real server as ipvsadm does.
var subcommandOptions = map[string][]string{
	"status":   {"--json"},
	"reload":   {"--json"},
	"plan":     {"--json"},
	"drain":    {"--json", "--timeout", "--balancer", "-t", "-u", "--sctp-service", "-f", "-6", "-r"},
	"enable":   {"--json", "--balancer", "-t", "-u", "--sctp-service", "-f", "-6", "-r"},
	"handover": {"--json", "--restore"},
	"help":     nil,
	// completion takes "bash", which candidates offers.
	"completion": nil,
}

// ownSubcommandOptions are the options of sub that ipvsctl parses itself
// (parseFlags), --json aside; the others go to ipvsadm's parser.
func ownSubcommandOptions(sub string) []string {
	var out []string
	for _, o := range subcommandOptions[sub] {
		if _, ok := ownOptions[o]; ok && o != "--json" {
			out = append(out, o)
		}
	}
	return out
}

// lineCompleter answers one completion request; status is fetched once,
// when a name is needed.
type lineCompleter struct {
	ctx    context.Context
	socket string
	status *control.StatusResult
}

func (c *lineCompleter) candidates(l completion.Line) []string {
	var args []string // the words after the program, without globals
	for i := 1; i < len(l.Words); i++ {
		w := l.Words[i]
		name, ok := ours(w, true)
		switch {
		case ok && name == "--socket" && !strings.Contains(w, "="):
			if i+1 < len(l.Words) {
				c.socket = l.Words[i+1]
				i++
			}
		case ok && name == "--socket":
			_, c.socket, _ = strings.Cut(w, "=")
		case !ok:
			args = append(args, w)
		}
	}
	prev := l.Previous()
	if prev == "--socket" {
		return nil // a path: bash completes file names
	}
	if long, ok := ipvsadm.OptionValueOf(prev); ok {
		return c.optionValues(long, args)
	}
	if prev == "--timeout" {
		return nil
	}
	if len(args) == 0 {
		out := slices.Collect(maps.Keys(subcommandOptions))
		out = append(out, "diff")
		for name, o := range ownOptions {
			if o.global {
				out = append(out, name)
			}
		}
		return append(out, ipvsadm.OptionNames()...)
	}
	sub := args[0]
	opts, isSub := subcommandOptions[sub]
	switch {
	case sub == "completion":
		if len(args) == 1 {
			return []string{"bash"}
		}
		return nil
	case sub == "handover":
		return append(slices.Clone(opts), c.instances()...)
	case isSub || sub == "diff":
		return opts
	}
	return ipvsadm.OptionNames()
}

// optionValues are the candidates for the value of the ipvsadm option
// long, args being the words so far.
func (c *lineCompleter) optionValues(long string, args []string) []string {
	switch long {
	case "scheduler":
		return ipvs.Schedulers
	case "tcp-service":
		return c.services("TCP")
	case "udp-service":
		return c.services("UDP")
	case "sctp-service":
		return c.services("SCTP")
	case "fwmark-service":
		return c.services("FWM")
	case "real-server":
		return c.realServers(args)
	}
	return nil
}

// load fetches the daemon's status once; without a daemon there are no
// names to offer.
func (c *lineCompleter) load() *control.StatusResult {
	if c.status != nil {
		return c.status
	}
	c.status = &control.StatusResult{}
	socket := c.socket
	if socket == "" {
		socket = control.DefaultPath
	}
	ctx, cancel := context.WithTimeout(c.ctx, completeTimeout)
	defer cancel()
	cl, err := control.DialContext(ctx, socket)
	if err != nil {
		return c.status
	}
	defer cl.Close()
	var st control.StatusResult
	if cl.Call(ctx, control.MethodStatus, nil, &st) == nil {
		c.status = &st
	}
	return c.status
}

// services are the managed services of protocol (or "FWM": marks), as
// ipvsadm's option values.
func (c *lineCompleter) services(protocol string) []string {
	var out []string
	for _, v := range c.load().VirtualServers {
		switch s := v.Service; {
		case protocol == "FWM" && s.FWMark != 0:
			out = append(out, fmt.Sprint(s.FWMark))
		case s.FWMark == 0 && s.Protocol == protocol:
			out = append(out, hostPort(s.Address, s.Port))
		}
	}
	return out
}

// realServers are the real servers of the service named earlier in args
// (-t, -u, --sctp-service or -f), or of every service without one.
func (c *lineCompleter) realServers(args []string) []string {
	var want *control.ServiceRef
	for i := 0; i+1 < len(args); i++ {
		long, ok := ipvsadm.OptionValueOf(args[i])
		if !ok {
			continue
		}
		for _, v := range c.load().VirtualServers {
			if s := v.Service; matches(long, args[i+1], s) {
				want = &s
			}
		}
	}
	var out []string
	for _, v := range c.load().VirtualServers {
		if want != nil && v.Service != *want {
			continue
		}
		for _, r := range v.RealServers {
			out = append(out, realServerArg(r.RealServerRef))
		}
	}
	return out
}

// matches reports whether the value of option long names service s.
func matches(long, value string, s control.ServiceRef) bool {
	switch long {
	case "tcp-service", "udp-service", "sctp-service":
		proto := strings.ToUpper(strings.TrimSuffix(long, "-service"))
		return s.FWMark == 0 && s.Protocol == proto && hostPort(s.Address, s.Port) == value
	case "fwmark-service":
		return s.FWMark != 0 && fmt.Sprint(s.FWMark) == value
	}
	return false
}

// instances are the VRRP instances' names.
func (c *lineCompleter) instances() []string {
	var out []string
	for _, in := range c.load().VRRPInstances {
		out = append(out, in.Name)
	}
	return out
}

// realServerArg is r as -r takes it: without a port when it has none (a
// firewall-mark service's).
func realServerArg(r control.RealServerRef) string {
	if r.Port != 0 {
		return hostPort(r.Address, r.Port)
	}
	if strings.Contains(r.Address, ":") {
		return "[" + r.Address + "]"
	}
	return r.Address
}
