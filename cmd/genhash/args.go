package main

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/lbd-project/lbd/healthcheck"
)

// options is the parsed command line.
type options struct {
	server   netip.Addr
	port     uint16
	url      string
	ssl, sni bool
	vhost    string
	verbose  bool
	fwmark   uint32
	proto    healthcheck.Protocol
	timeout  time.Duration // 0: none, as keepalived's genhash
}

// longNames maps long option names to short letters, and says which take
// an argument; the same table as keepalived's getopt_long call.
var longNames = map[string]byte{
	"help": 'h', "verbose": 'v', "use-ssl": 'S', "use-sni": 'I', "server": 's',
	"use-virtualhost": 'V', "port": 'p', "url": 'u', "fwmark": 'm', "protocol": 'P', "timeout": 't',
}

// Short options that take an argument, and those that do not.
const (
	withArg = "sVpumPt"
	noArg   = "hvSI"
)

var (
	// errUsage asks for the short usage text alone, on stderr: a required
	// option is missing.
	errUsage = errors.New("usage")
	// errHelp asks for the manual, on stdout (-h, --help).
	errHelp = errors.New("help")
	// errVersion asks for lbd's version, on stdout (--version, which
	// keepalived's genhash does not have).
	errVersion = errors.New("version")
)

// parseArgs parses args (without the program name) like getopt_long with
// keepalived's option string, returning keepalived's messages on error.
func parseArgs(args []string) (*options, error) {
	o := &options{}
	var have [256]bool
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			rest = append(rest, a)
			continue
		}
		if strings.HasPrefix(a, "--") {
			name, val, hasVal := strings.Cut(a[2:], "=")
			if name == "version" && !hasVal {
				return nil, errVersion
			}
			c, ok := longNames[name]
			if !ok {
				return nil, keepalivedErrorf("Unknown option %s", a)
			}
			if strings.IndexByte(withArg, c) >= 0 && !hasVal {
				if i+1 >= len(args) {
					return nil, keepalivedErrorf("Missing parameter for option %s", a)
				}
				i++
				val = args[i]
			}
			if err := o.set(c, val); err != nil {
				return nil, err
			}
			have[c] = true
			continue
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			switch {
			case strings.IndexByte(noArg, c) >= 0:
				if err := o.set(c, ""); err != nil {
					return nil, err
				}
			case strings.IndexByte(withArg, c) >= 0:
				val := a[j+1:]
				if val == "" {
					if i+1 >= len(args) {
						return nil, keepalivedErrorf("Missing parameter for option -%c", c)
					}
					i++
					val = args[i]
				}
				if err := o.set(c, val); err != nil {
					return nil, err
				}
				j = len(a)
			default:
				return nil, keepalivedErrorf("Unknown option -%c", c)
			}
			have[c] = true
		}
	}
	if len(rest) > 0 {
		return nil, keepalivedErrorf("Unexpected argument(s): %s", strings.Join(rest, " "))
	}
	if !have['s'] || !have['p'] || !have['u'] {
		return nil, errUsage
	}
	return o, nil
}

// keepalivedErrorf makes one of keepalived genhash's command-line
// messages, which start with a capital letter: they are kept byte for
// byte, against the Go habit.
func keepalivedErrorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// set applies one option, validating it as keepalived does.
func (o *options) set(c byte, v string) error {
	switch c {
	case 'h':
		return errHelp
	case 'v':
		o.verbose = true
	case 'S':
		o.ssl = true
	case 'I':
		o.sni = true
	case 's':
		a, err := netip.ParseAddr(v)
		if err != nil || a.Zone() != "" {
			return fmt.Errorf("server should be an IP, not %s", v)
		}
		o.server = a
	case 'V':
		o.vhost = v
	case 'p':
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 65535 {
			return fmt.Errorf("invalid port number '%s'", v)
		}
		o.port = uint16(n)
	case 'u':
		o.url = v
	case 'm':
		n, ok := cUnsigned(v)
		if !ok || n > 1<<32-1 {
			return fmt.Errorf("invalid fwmark '%s'", v)
		}
		o.fwmark = uint32(n)
	case 'P':
		p, err := healthcheck.ParseProtocol(v)
		if err != nil {
			return fmt.Errorf("invalid HTTP protocol version '%s'", v)
		}
		o.proto = p
	case 't':
		n, ok := cUnsigned(v)
		if !ok || n > 1<<31 {
			return fmt.Errorf("invalid timeout '%s'", v)
		}
		o.timeout = time.Duration(n) * time.Second
	}
	return nil
}

// cUnsigned accepts what keepalived accepts for -t and -m: leading blanks,
// then decimal digits only.
func cUnsigned(v string) (uint64, bool) {
	v = strings.TrimLeft(v, " \t")
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, 64)
	return n, err == nil
}
