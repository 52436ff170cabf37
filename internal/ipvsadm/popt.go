package ipvsadm

// This file reimplements the part of popt 1.19 that ipvsadm uses:
// poptGetNextOpt over a fixed option table (no aliases, no exec, no
// ONEDASH long options), leftover arguments, and poptBadOption.

import "strings"

// popt error codes, as poptGetNextOpt returns them.
const (
	poptErrNoArg       = -10
	poptErrBadOpt      = -11
	poptErrUnwantedArg = -12
)

// poptStrerror is popt's message for an error code.
func poptStrerror(code int) string {
	switch code {
	case poptErrNoArg:
		return "missing argument"
	case poptErrUnwantedArg:
		return "option does not take an argument"
	case poptErrBadOpt:
		return "unknown option"
	}
	return "unknown error"
}

// Option tags beyond ASCII, as ipvsadm numbers them.
const (
	tagSet = 128 + iota
	tagStartDaemon
	tagStopDaemon
	tagMcastInterface
	tagTimeout
	tagDaemon
	tagStats
	tagRate
	tagThresholds
	tagPersistentConn
	tagSort
	tagNoSort
	tagPersistenceEngine
	tagSCTPService
	tagMcastGroup
	tagMcastPort
	tagMcastTTL
	tagSyncMaxLen
	tagTunInfo
	tagTunType
	tagTunPort
	tagTunNoCsum
	tagTunCsum
	tagTunRemCsum
	tagJSON // ipvsctl only
)

// poptArgKind is whether an option takes an argument.
type poptArgKind uint8

const (
	argNone poptArgKind = iota
	argString
	argOptional
)

type poptOption struct {
	long  string
	short byte
	arg   poptArgKind
	val   int
}

// optionTable is ipvsadm's popt table, in its order (the first match
// wins), plus --json.
var optionTable = []poptOption{
	{"add-service", 'A', argNone, 'A'},
	{"edit-service", 'E', argNone, 'E'},
	{"delete-service", 'D', argNone, 'D'},
	{"clear", 'C', argNone, 'C'},
	{"list", 'L', argNone, 'L'},
	{"list", 'l', argNone, 'l'},
	{"zero", 'Z', argNone, 'Z'},
	{"add-server", 'a', argNone, 'a'},
	{"edit-server", 'e', argNone, 'e'},
	{"delete-server", 'd', argNone, 'd'},
	{"set", 0, argNone, tagSet},
	{"help", 'h', argNone, 'h'},
	{"version", 'v', argNone, 'v'},
	{"restore", 'R', argNone, 'R'},
	{"save", 'S', argNone, 'S'},
	{"start-daemon", 0, argString, tagStartDaemon},
	{"stop-daemon", 0, argString, tagStopDaemon},
	{"tcp-service", 't', argString, 't'},
	{"udp-service", 'u', argString, 'u'},
	{"sctp-service", 0, argString, tagSCTPService},
	{"fwmark-service", 'f', argString, 'f'},
	{"scheduler", 's', argString, 's'},
	{"persistent", 'p', argOptional, 'p'},
	{"netmask", 'M', argString, 'M'},
	{"real-server", 'r', argString, 'r'},
	{"masquerading", 'm', argNone, 'm'},
	{"ipip", 'i', argNone, 'i'},
	{"gatewaying", 'g', argNone, 'g'},
	{"weight", 'w', argString, 'w'},
	{"u-threshold", 'x', argString, 'x'},
	{"l-threshold", 'y', argString, 'y'},
	{"numeric", 'n', argNone, 'n'},
	{"connection", 'c', argNone, 'c'},
	{"mcast-interface", 0, argString, tagMcastInterface},
	{"syncid", 0, argString, 'I'},
	{"timeout", 0, argNone, tagTimeout},
	{"daemon", 0, argNone, tagDaemon},
	{"stats", 0, argNone, tagStats},
	{"rate", 0, argNone, tagRate},
	{"thresholds", 0, argNone, tagThresholds},
	{"persistent-conn", 0, argNone, tagPersistentConn},
	{"nosort", 0, argNone, tagNoSort},
	{"sort", 0, argNone, tagSort},
	{"exact", 'X', argNone, 'X'},
	{"ipv6", '6', argNone, '6'},
	{"ops", 'o', argNone, 'o'},
	{"pe", 0, argString, tagPersistenceEngine},
	{"sched-flags", 'b', argString, 'b'},
	{"mcast-group", 0, argString, tagMcastGroup},
	{"mcast-port", 0, argString, tagMcastPort},
	{"mcast-ttl", 0, argString, tagMcastTTL},
	{"sync-maxlen", 0, argString, tagSyncMaxLen},
	{"tun-info", 0, argNone, tagTunInfo},
	{"tun-type", 0, argString, tagTunType},
	{"tun-port", 0, argString, tagTunPort},
	{"tun-nocsum", 0, argNone, tagTunNoCsum},
	{"tun-csum", 0, argNone, tagTunCsum},
	{"tun-remcsum", 0, argNone, tagTunRemCsum},
	{"json", 0, argNone, tagJSON},
}

func findLong(name string) *poptOption {
	for i := range optionTable {
		if optionTable[i].long == name {
			return &optionTable[i]
		}
	}
	return nil
}

func findShort(c byte) *poptOption {
	for i := range optionTable {
		if optionTable[i].short != 0 && optionTable[i].short == c {
			return &optionTable[i]
		}
	}
	return nil
}

// popt walks argv (argv[0] is the program) like a popt context.
type popt struct {
	argv         []string
	next         int
	chars        string // rest of a short-option cluster
	haveChars    bool
	restLeftover bool
	leftovers    []string
	nextLeftover int
}

func newPopt(argv []string) *popt { return &popt{argv: argv, next: 1} }

// nextOpt returns the next option's value and argument (hasArg is false
// for an absent optional argument), -1 at the end, or a negative popt
// error code.
func (p *popt) nextOpt() (val int, arg string, hasArg bool) {
	for {
		var opt *poptOption
		longArg, haveLongArg := "", false
		if !p.haveChars && p.next == len(p.argv) {
			return -1, "", false
		}
		if !p.haveChars {
			orig := p.argv[p.next]
			p.next++
			if p.restLeftover || len(orig) == 0 || orig[0] != '-' || orig == "-" {
				p.leftovers = append(p.leftovers, orig)
				continue
			}
			if orig == "--" {
				p.restLeftover = true
				continue
			}
			s := orig[1:]
			if s[0] == '-' {
				name := s[1:]
				if i := strings.IndexByte(name, '='); i >= 0 {
					name, longArg, haveLongArg = name[:i], name[i+1:], true
				}
				opt = findLong(name)
				if opt == nil {
					return poptErrBadOpt, "", false
				}
			} else {
				p.chars, p.haveChars = s, true
			}
		}
		if p.haveChars {
			c := p.chars[0]
			p.haveChars = false
			opt = findShort(c)
			if opt == nil {
				return poptErrBadOpt, "", false
			}
			if len(p.chars) > 1 {
				p.chars, p.haveChars = p.chars[1:], true
			}
		}
		if opt.arg == argNone {
			if haveLongArg || (p.haveChars && p.chars[0] == '=') {
				return poptErrUnwantedArg, "", false
			}
			return opt.val, "", false
		}
		switch {
		case haveLongArg:
			return opt.val, longArg, true
		case p.haveChars:
			a := p.chars
			if a[0] == '=' {
				a = a[1:]
			}
			p.haveChars = false
			return opt.val, a, true
		case p.next == len(p.argv):
			if opt.arg != argOptional {
				return poptErrNoArg, "", false
			}
			return opt.val, "", false
		case opt.arg == argOptional && len(p.argv[p.next]) > 0 && p.argv[p.next][0] == '-':
			return opt.val, "", false
		}
		a := p.argv[p.next]
		p.next++
		return opt.val, a, true
	}
}

// badOption is poptBadOption: the argv element last looked at.
func (p *popt) badOption() string {
	if p.next > 0 && p.next <= len(p.argv) {
		return p.argv[p.next-1]
	}
	return ""
}

// getArg is poptGetArg: the next leftover argument.
func (p *popt) getArg() (string, bool) {
	if p.nextLeftover < len(p.leftovers) {
		a := p.leftovers[p.nextLeftover]
		p.nextLeftover++
		return a, true
	}
	return "", false
}

// OptionNames returns every option ipvsadm parses, "--long" and "-s",
// for command-line completion.
func OptionNames() []string {
	var out []string
	for _, o := range optionTable {
		out = append(out, "--"+o.long)
		if o.short != 0 {
			out = append(out, "-"+string(o.short))
		}
	}
	return out
}

// OptionValueOf reports whether word is an option ("-t", "--tcp-service")
// whose value is the next argument, and its long name.
func OptionValueOf(word string) (long string, ok bool) {
	var o *poptOption
	switch {
	case strings.HasPrefix(word, "--") && !strings.Contains(word, "="):
		o = findLong(word[2:])
	case len(word) == 2 && word[0] == '-':
		o = findShort(word[1])
	}
	if o == nil || o.arg != argString {
		return "", false
	}
	return o.long, true
}
