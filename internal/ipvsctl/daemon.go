package ipvsctl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lbd-project/lbd/internal/completion"
	"github.com/lbd-project/lbd/internal/control"
	"github.com/lbd-project/lbd/internal/ipvsadm"
	"github.com/lbd-project/lbd/ipvs"
)

// subcommands are the first arguments that select a daemon subcommand.
var subcommands map[string]func(c *cli, args []string) int

func init() {
	subcommands = map[string]func(c *cli, args []string) int{
		"status":     (*cli).status,
		"reload":     (*cli).reload,
		"plan":       (*cli).plan,
		"drain":      (*cli).drain,
		"enable":     (*cli).enable,
		"handover":   (*cli).handover,
		"help":       (*cli).help,
		"completion": (*cli).completion,
	}
}

// ownOption is one of ipvsctl's own options, which ipvsadm lacks.
type ownOption struct {
	// value is the placeholder of the option's value ("PATH"); "" for an
	// option without one.
	value string
	// global options may be anywhere on the command line (stripGlobal);
	// the others belong to subcommands (parseFlags).
	global bool
}

// ownOptions are ipvsctl's own options. stripGlobal and parseFlags accept
// exactly these, and "ipvsctl help" documents each of them (its test
// checks that against this table).
var ownOptions = map[string]ownOption{
	"--socket":   {value: "PATH", global: true},
	"--kernel":   {global: true},
	"--json":     {},
	"--timeout":  {value: "DURATION"},
	"--restore":  {},
	"--balancer": {},
}

// optionValue returns the value of option name at args[i] (from
// "name=value" or the next argument) and the index of the last argument
// it used.
func optionValue(args []string, i int, name string) (string, int, error) {
	o := ownOptions[name]
	v, ok := strings.CutPrefix(args[i], name+"=")
	if !ok {
		if i+1 >= len(args) {
			v = ""
		} else {
			i++
			v = args[i]
		}
	}
	if v == "" {
		return "", i, fmt.Errorf("option %s needs a %s", name, strings.ToLower(o.value))
	}
	return v, i, nil
}

// ours reports whether a is one of ipvsctl's own options, global or not
// as asked, and returns its name. "--json=1" and the like are not: an
// option without a value takes none.
func ours(a string, global bool) (string, bool) {
	name, _, hasValue := strings.Cut(a, "=")
	o, ok := ownOptions[name]
	return name, ok && o.global == global && (!hasValue || o.value != "")
}

// completion prints the bash completion script.
func (c *cli) completion(args []string) int {
	if len(args) != 1 || args[0] != "bash" {
		return c.usage("completion bash")
	}
	io.WriteString(c.env.Stdout, completion.Script("ipvsctl"))
	return 0
}

func (c *cli) help(args []string) int {
	if len(args) > 0 {
		return c.usage("help")
	}
	c.stdout(manual, control.DefaultPath)
	return 0
}

// flags are a subcommand's own options, taken out of its arguments.
type flags struct {
	json     bool
	restore  bool
	balancer bool
	timeout  time.Duration
	rest     []string
}

// parseFlags takes --json, and those of --timeout DURATION and --restore
// that are in allowed, out of args; before a "--".
func parseFlags(args []string, allowed ...string) (flags, error) {
	var f flags
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			f.rest = append(f.rest, args[i+1:]...)
			return f, nil
		}
		name, ok := ours(a, false)
		if !ok {
			f.rest = append(f.rest, a)
			continue
		}
		if name != "--json" && !slices.Contains(allowed, name) {
			return f, fmt.Errorf("unknown option %s", name)
		}
		switch name {
		case "--json":
			f.json = true
		case "--restore":
			f.restore = true
		case "--balancer":
			f.balancer = true
		case "--timeout":
			v, last, err := optionValue(args, i, name)
			if err != nil {
				return f, err
			}
			i = last
			d, err := parseDuration(v)
			if err != nil {
				return f, err
			}
			f.timeout = d
		}
	}
	return f, nil
}

// parseDuration reads a positive Go duration ("90s", "5m") or a number of
// seconds.
func parseDuration(s string) (time.Duration, error) {
	var d time.Duration
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		d = time.Duration(n) * time.Second
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, fmt.Errorf("invalid duration %q (use e.g. 30s, 5m or a number of seconds)", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("invalid duration %q: must be positive", s)
	}
	return d, nil
}

// positional checks that args are at most max words not starting with '-'.
func positional(args []string, max int) error {
	for _, a := range args {
		if strings.HasPrefix(a, "-") && a != "-" {
			return fmt.Errorf("unknown option %s", a)
		}
	}
	if len(args) > max {
		return fmt.Errorf("unexpected argument %s", args[max])
	}
	return nil
}

// usageError prints a subcommand's usage error and its usage line, and
// returns 2.
func (c *cli) usageError(err error, use string) int {
	c.fail(2, err.Error())
	return c.usage(use)
}

// options reads a subcommand's options (--json and allowed) and checks
// that at most max positional arguments remain.
func options(args []string, max int, allowed ...string) (flags, error) {
	f, err := parseFlags(args, allowed...)
	if err == nil {
		err = positional(f.rest, max)
	}
	return f, err
}

// do makes a call and prints the outcome: the raw result with --json,
// else what show prints from the decoded result. result must be a pointer.
func (c *cli) do(method string, params, result any, asJSON bool, show func()) int {
	if asJSON {
		var raw json.RawMessage
		if err := c.call(method, params, &raw); err != nil {
			return c.fail(1, err.Error())
		}
		var b bytes.Buffer
		if json.Indent(&b, raw, "", "  ") != nil {
			b.Reset()
			b.Write(raw)
		}
		b.WriteByte('\n')
		c.env.Stdout.Write(b.Bytes())
		return 0
	}
	if err := c.call(method, params, result); err != nil {
		return c.fail(1, err.Error())
	}
	show()
	return 0
}

func (c *cli) status(args []string) int {
	const use = "status [--json]"
	f, err := options(args, 0)
	if err != nil {
		return c.usageError(err, use)
	}
	var res control.StatusResult
	return c.do(control.MethodStatus, nil, &res, f.json, func() {
		writeStatus(c.env.Stdout, &res, c.env.Now())
	})
}

func (c *cli) reload(args []string) int {
	const use = "reload [--json]"
	f, err := options(args, 0)
	if err != nil {
		return c.usageError(err, use)
	}
	var res control.ReloadResult
	return c.do(control.MethodReload, nil, &res, f.json, func() {
		if len(res.Changes) == 0 {
			c.stdout("reloaded: generation %d, no changes\n", res.Generation)
			return
		}
		c.stdout("reloaded: generation %d, %d %s\n", res.Generation, len(res.Changes), plural(len(res.Changes), "change", "changes"))
		for _, ch := range res.Changes {
			c.stdout("%s\n", ch)
		}
	})
}

func (c *cli) plan(args []string) int {
	const use = "plan [FILE] [--json]"
	f, err := options(args, 1)
	if err != nil {
		return c.usageError(err, use)
	}
	var p control.PlanParams
	if len(f.rest) == 1 && f.rest[0] == "-" {
		return c.fail(2, "plan: lbd reads FILE itself; standard input is not supported")
	}
	if len(f.rest) == 1 {
		// lbd reads the file; its working directory is not ours.
		if p.File, err = filepath.Abs(f.rest[0]); err != nil {
			return c.fail(2, err.Error())
		}
	}
	var res control.PlanResult
	return c.do(control.MethodPlan, p, &res, f.json, func() {
		for _, ch := range res.Changes {
			c.stdout("%s\n", ch)
		}
	})
}

// target parses drain's and enable's SERVICE -r SERVER[:PORT].
func (c *cli) target(cmd string, args []string) (control.ServiceRef, control.RealServerRef, error) {
	svc, dest, err := ipvsadm.ParseRealServer(c.env.Names, cmd, args)
	if err != nil {
		return control.ServiceRef{}, control.RealServerRef{}, err
	}
	return serviceRef(svc), realServerRef(dest), nil
}

func (c *cli) drain(args []string) int {
	const use = "drain -t|-u|--sctp-service|-f SERVICE [-6] -r SERVER[:PORT] [--timeout DURATION] [--json]\n" +
		"       drain --balancer [--json]"
	f, err := parseFlags(args, ownSubcommandOptions("drain")...)
	if err != nil {
		return c.usageError(err, use)
	}
	if f.balancer {
		return c.drainBalancer(f, use)
	}
	svc, rs, err := c.target("drain", f.rest)
	if err != nil {
		return c.usageError(err, use)
	}
	p := control.DrainParams{Service: svc, RealServer: rs, Timeout: f.timeout}
	var res control.DrainResult
	return c.do(control.MethodDrain, p, &res, f.json, func() {
		c.stdout("draining %s -> %s: %d active %s\n", formatService(svc, " "), formatRealServer(rs),
			res.ActiveConns, plural(int(res.ActiveConns), "connection", "connections"))
	})
}

func (c *cli) enable(args []string) int {
	const use = "enable -t|-u|--sctp-service|-f SERVICE [-6] -r SERVER[:PORT] [--json]\n       enable --balancer [--json]"
	f, err := parseFlags(args, ownSubcommandOptions("enable")...)
	if err != nil {
		return c.usageError(err, use)
	}
	if f.balancer {
		if err := positional(f.rest, 0); err != nil {
			return c.usageError(err, use)
		}
		return c.do(control.MethodBalancer, control.BalancerParams{Enable: true}, nil, f.json, func() {
			c.stdout("balancer enabled: each address is announced again once it has served for the hold-down\n")
		})
	}
	svc, rs, err := c.target("enable", f.rest)
	if err != nil {
		return c.usageError(err, use)
	}
	p := control.EnableParams{Service: svc, RealServer: rs}
	return c.do(control.MethodEnable, p, nil, f.json, func() {
		c.stdout("enabled %s -> %s\n", formatService(svc, " "), formatRealServer(rs))
	})
}

// drainBalancer takes this balancer out of its active/active set: every
// BGP route withdrawn, the routers given drain_delay to move the flows.
func (c *cli) drainBalancer(f flags, use string) int {
	if err := positional(f.rest, 0); err != nil {
		return c.usageError(err, use)
	}
	if f.timeout != 0 {
		return c.usageError(fmt.Errorf("--timeout is for a real server's drain"), use)
	}
	var res control.BalancerResult
	return c.do(control.MethodBalancer, control.BalancerParams{}, &res, f.json, func() {
		if len(res.Withdrawn) == 0 {
			c.stdout("drained: nothing was announced\n")
			return
		}
		c.stdout("drained: withdrew %s; peers told in %v, then served %v while the routers moved the flows\n",
			strings.Join(res.Withdrawn, ", "), res.PeersSentIn.Round(time.Millisecond), res.DrainDelay)
	})
}

func (c *cli) handover(args []string) int {
	const use = "handover [--restore] [INSTANCE] [--json]"
	f, err := options(args, 1, ownSubcommandOptions("handover")...)
	if err != nil {
		return c.usageError(err, use)
	}
	p := control.HandoverParams{Restore: f.restore}
	if len(f.rest) == 1 {
		p.Instance = f.rest[0]
	}
	var res control.HandoverResult
	return c.do(control.MethodHandover, p, &res, f.json, func() {
		switch {
		case f.restore && len(res.Instances) == 0:
			c.stdout("no instance had handed over\n")
		case f.restore:
			for _, name := range res.Instances {
				c.stdout("priority restored: %s\n", name)
			}
		default:
			if len(res.Instances) == 0 {
				c.stdout("no MASTER instance to hand over\n")
			}
			for _, name := range res.Instances {
				c.stdout("handed over: %s\n", name)
			}
			c.stdout("The instances stay BACKUP until the next reload or \"%s handover --restore\".\n", c.program)
		}
	})
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// serviceRef converts a service identity to the control protocol's.
func serviceRef(s ipvs.Service) control.ServiceRef {
	if s.FWMark != 0 {
		r := control.ServiceRef{FWMark: s.FWMark}
		if s.Family == ipvs.IPv6 {
			r.Family = "ipv6"
		}
		return r
	}
	return control.ServiceRef{Protocol: s.Protocol.String(), Address: s.Address.String(), Port: s.Port}
}

func realServerRef(d ipvs.Destination) control.RealServerRef {
	return control.RealServerRef{Address: d.Address.String(), Port: d.Port}
}

// hostPort formats an address and port as ipvsadm does: [v6]:port.
func hostPort(addr string, port uint16) string {
	if a, err := netip.ParseAddr(addr); err == nil {
		return netip.AddrPortFrom(a, port).String()
	}
	return addr + ":" + strconv.Itoa(int(port))
}

// formatService formats a service as ipvsadm's listing does, with sep
// after the protocol: "TCP 192.0.2.10:80", "FWM 1", "FWM 1 IPv6".
func formatService(s control.ServiceRef, sep string) string {
	if s.FWMark != 0 {
		if strings.EqualFold(s.Family, "ipv6") {
			return fmt.Sprintf("FWM%s%d IPv6", sep, s.FWMark)
		}
		return fmt.Sprintf("FWM%s%d", sep, s.FWMark)
	}
	return s.Protocol + sep + hostPort(s.Address, s.Port)
}

func formatRealServer(r control.RealServerRef) string { return hostPort(r.Address, r.Port) }
