package ipvsadm

import (
	"fmt"
	"net/netip"
	"strings"
)

// Commands, numbered as in ipvsadm.
const (
	cmdNone = iota
	cmdAdd
	cmdEdit
	cmdDel
	cmdFlush
	cmdList
	cmdAddDest
	cmdDelDest
	cmdEditDest
	cmdTimeout
	cmdStartDaemon
	cmdStopDaemon
	cmdRestore
	cmdSave
	cmdZero
	// Pseudo-commands: -h and -v end parsing at once.
	cmdHelp
	cmdVersion
)

var cmdNames = []string{
	"add-service", "edit-service", "delete-service", "flush", "list",
	"add-server", "delete-server", "edit-server", "set", "start-daemon",
	"stop-daemon", "restore", "save", "zero",
}

// Option bits (OPTC_*), in ipvsadm's order; optJSON is ipvsctl's.
const (
	optNumeric = iota
	optConnection
	optService
	optScheduler
	optPersistent
	optNetmask
	optServer
	optForward
	optWeight
	optUThreshold
	optLThreshold
	optMcast
	optTimeout
	optDaemon
	optStats
	optRate
	optThresholds
	optPersistentConn
	optNoSort
	optSyncID
	optExact
	optOnePacket
	optPE
	optSchedFlags
	optMcastGroup
	optMcastPort
	optMcastTTL
	optSyncMaxLen
	optTunInfo
	optTunType
	optTunPort
	optTunNoCsum
	optTunCsum
	optTunRemCsum
	optJSON
	numOpts
)

var optNames = []string{
	"numeric", "connection", "service-address", "scheduler", "persistent",
	"netmask", "real-server", "forwarding-method", "weight", "u-threshold",
	"l-threshold", "mcast-interface", "timeout", "daemon", "stats", "rate",
	"thresholds", "persistent-conn", "nosort", "syncid", "exact", "ops", "pe",
	"sched-flags", "mcast-group", "mcast-port", "mcast-ttl", "sync-maxlen",
	"tun-info", "tun-type", "tun-port", "tun-nocsum", "tun-csum",
	"tun-remcsum", "json",
}

// commandsVOptions is ipvsadm's table of legal command/option pairs:
// '+' compulsory, 'x' illegal, '1' exclusive, ' ' optional. The last
// column is --json, legal with the listing commands only.
var commandsVOptions = [14]string{
	/*            -n -c svc -s -p -M -r fwd -w -x -y mc to dm st rt th pc so si ex op pe -b gr po tt sz ti ty tp nc cs rc json */
	/*ADD*/ "xx+   xxxxxxxxxxxxxxx   xxxxxxxxxxx",
	/*EDIT*/ "xx+   xxxxxxxxxxxxxxx   xxxxxxxxxxx",
	/*DEL*/ "xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	/*FLUSH*/ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	/*LIST*/ " 11xxxxxxxxx11       xxxxxxx xxxxx ",
	/*ADDSRV*/ "xx+xxx+    xxxxxxxxxxxxxxxxxx     x",
	/*DELSRV*/ "xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	/*EDITSRV*/ "xx+xxx+    xxxxxxxxxxxxxxxxxx     x",
	/*TIMEOUT*/ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	/*STARTD*/ "xxxxxxxxxxx xxxxxxx xxxx    xxxxxxx",
	/*STOPD*/ "xxxxxxxxxxxxxxxxxxx xxxxxxxxxxxxxxx",
	/*RESTORE*/ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	/*SAVE*/ " xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx ",
	/*ZERO*/ "xx xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
}

// Tunnel types and their legal options (tun-port, nocsum, csum, remcsum).
var (
	tunNames        = []string{"ipip", "gue", "gre"}
	tunFlagsShort   = []string{"-c", "+c", "r+c"}
	tunFlagsOpts    = []string{"--tun-nocsum", "--tun-csum", "--tun-remcsum"}
	tunOpts         = []int{optTunPort, optTunNoCsum, optTunCsum, optTunRemCsum}
	tunTypesVOption = []string{"xxxx", "+111", "x11x"}
)

// Output format flags (FMT_*).
const (
	fmtNumeric        = 0x0001
	fmtRule           = 0x0002
	fmtStats          = 0x0004
	fmtRate           = 0x0008
	fmtThresholds     = 0x0010
	fmtPersistentConn = 0x0020
	fmtNoSort         = 0x0040
	fmtExact          = 0x0080
	fmtTunInfo        = 0x0100
	fmtJSON           = 0x1000
)

// Kernel flag values ipvsadm works with.
const (
	afInet  = 2
	afInet6 = 10

	protoTCP  = 6
	protoUDP  = 17
	protoSCTP = 132

	svcFPersistent = 0x1
	svcFOnePacket  = 0x4
	svcFSched1     = 0x8
	svcFSched2     = 0x10
	svcFSched3     = 0x20

	connFMasq      = 0
	connFLocalNode = 1
	connFTunnel    = 2
	connFDRoute    = 3

	tunFlagNoCsum  = 0
	tunFlagCsum    = 1
	tunFlagRemCsum = 2

	stateMaster = 1
	stateBackup = 2

	maxTimeout                  = 86400 * 31
	defPersistentTimeout        = 6 * 60
	defSched                    = "wlc"
	defMcastIfn                 = "eth0"
	schedNameMaxLen             = 16
	peNameMaxLen                = 16
	ifNameMaxLen                = 16
	netmaskHost          uint32 = 0xffffffff
)

// rawService is ipvsadm's ipvs_service_t: the virtual service as parsed,
// before conversion to package ipvs.
type rawService struct {
	af       int
	protocol uint16
	addr     [16]byte // union nf_inet_addr; IPv4 in the first 4 bytes
	port     uint16
	fwmark   uint32
	sched    string
	flags    uint32
	timeout  uint32
	netmask  uint32 // IPv4: the mask's bytes in network order; IPv6: prefix
	pe       string
}

// rawDest is ipvsadm's ipvs_dest_t.
type rawDest struct {
	af        int
	addr      [16]byte
	port      uint16
	connFlags uint32
	weight    int64
	uThresh   int64
	lThresh   int64
	tunType   int
	tunPort   uint16
	tunFlags  uint16
}

// rawDaemon is ipvsadm's ipvs_daemon_t.
type rawDaemon struct {
	state      uint32
	mcastIfn   string
	syncID     uint32
	syncMaxLen uint16
	mcastAF    int
	mcastGroup netip.Addr
	mcastPort  uint16
	mcastTTL   uint8
}

// command is one parsed ipvsadm command line (struct ipvs_command_entry
// plus the option bits and format).
type command struct {
	cmd     int
	options uint64
	format  uint
	svc     rawService
	dest    rawDest
	timeout [3]int64
	daemon  rawDaemon
	// rsPort is the real server's port as given with -r (the service's
	// when -r names none), before -g and -i replace it with the service's.
	rsPort uint16
}

// exitError ends the program with code after writing msg (with a newline)
// to stderr. msg "" writes nothing.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return fmt.Sprintf("exit %d: %s", e.code, e.msg) }

// fail is ipvsadm's fail(): message to stderr, then exit.
func fail(code int, format string, args ...any) *exitError {
	return &exitError{code: code, msg: fmt.Sprintf(format, args...) + "\n"}
}

// tryHelp is ipvsadm's tryhelp_exit(program, -1).
func tryHelp(program string) *exitError {
	return &exitError{code: 255, msg: fmt.Sprintf("Try `%s -h' or '%s --help' for more information.\n", program, program)}
}

// Service parse results.
const (
	serviceNone = 0
	serviceAddr = 1
	servicePort = 2
)

// parser carries what parsing needs besides the arguments.
type parser struct {
	names Resolver
}

func protoName(proto uint16) string {
	switch proto {
	case protoTCP:
		return "tcp"
	case protoUDP:
		return "udp"
	case protoSCTP:
		return "sctp"
	}
	return ""
}

// parseService is ipvsadm's parse_service: host[:port], [v6]:port or a
// bare IPv6 address, with names resolved.
func (ps *parser) parseService(buf string, svc *rawService) int {
	if strIsDigit(buf) {
		return serviceNone
	}
	var portStr string
	havePort := false
	if buf[0] == '[' {
		buf = buf[1:]
		i := strings.IndexByte(buf, ']')
		if i < 0 {
			return serviceNone
		}
		rest := buf[i+1:]
		buf = buf[:i]
		if len(rest) == 0 || rest[0] != ':' {
			return serviceNone
		}
		portStr, havePort = rest[1:], true
	}
	if a, ok := inetPton6(buf); ok {
		svc.addr = a.As16()
		svc.af = afInet6
		svc.netmask = 128
	} else {
		host := buf
		// Inside brackets the string holds no colon, so the port after
		// "]:" is lost, as in ipvsadm.
		havePort = false
		if i := strings.LastIndexByte(buf, ':'); i >= 0 {
			host, portStr, havePort = buf[:i], buf[i+1:], true
		}
		var a netip.Addr
		var ok bool
		if a, ok = inetAton(host); !ok {
			if a, ok = ps.names.HostToAddr(host); !ok {
				return serviceNone
			}
		}
		svc.addr = [16]byte{}
		v4 := a.As4()
		copy(svc.addr[:], v4[:])
		svc.af = afInet
	}
	result := serviceAddr
	if havePort {
		result |= servicePort
		if n := stringToNumber(portStr, 0, 65535); n != -1 {
			svc.port = uint16(n)
		} else if p, ok := ps.names.ServiceToPort(portStr, protoName(svc.protocol)); ok && protoName(svc.protocol) != "" {
			svc.port = p
		} else {
			return serviceNone
		}
	}
	return result
}

// parseNetmask is parse_netmask: a dotted mask or a host name.
func (ps *parser) parseNetmask(buf string) (uint32, bool) {
	a, ok := inetAton(buf)
	if !ok {
		if a, ok = ps.names.HostToAddr(buf); !ok {
			return 0, false
		}
	}
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), true
}

func parseTimeout(buf string, has bool, min, max int64) (int64, *exitError) {
	if !has {
		return defPersistentTimeout, nil
	}
	i := stringToNumber(buf, min, max)
	if i == -1 {
		return 0, fail(2, "invalid timeout value `%s' specified", buf)
	}
	return i, nil
}

// parseFwmark is parse_fwmark: strtol, 1..UINT_MAX.
func parseFwmark(buf string) (uint32, *exitError) {
	n, ok, overflow := strtol(buf)
	if !ok || overflow || n <= 0 || n > 0xffffffff {
		return 0, fail(2, "invalid fwmark value `%s' specified", buf)
	}
	return uint32(n), nil
}

// schedFlagBits are the names -b accepts.
var schedFlagBits = map[string]uint32{
	"flag-1": svcFSched1, "flag-2": svcFSched2, "flag-3": svcFSched3,
	"sh-fallback": svcFSched1, "sh-port": svcFSched2,
	"mh-fallback": svcFSched1, "mh-port": svcFSched2,
}

// parseSchedFlags is parse_sched_flags.
func parseSchedFlags(sched, arg string) (uint32, *exitError) {
	if sched == "" {
		sched = defSched
	}
	var flags uint32
	// strtok skips empty tokens; an argument of only commas yields none,
	// and ipvsadm then passes NULL to strcmp. Treat it as no flags.
	for _, flag := range strings.FieldsFunc(arg, func(r rune) bool { return r == ',' }) {
		bit, ok := schedFlagBits[flag]
		if !ok {
			return 0, fail(2, "invalid scheduler flag `%s'", flag)
		}
		flags |= bit
		if !strings.HasPrefix(flag, "flag-") && sched != flag[:2] {
			return 0, fail(2, "incompatible scheduler flag `%s'", flag)
		}
	}
	return flags, nil
}

func setOption(options *uint64, optc int) *exitError {
	bit := uint64(1) << optc
	if *options&bit != 0 {
		return fail(2, "multiple '%s' options specified", optNames[optc])
	}
	*options |= bit
	return nil
}

// truncate is strncpy into an n-byte buffer that is then terminated.
func truncate(s string, n int) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	if len(s) > n {
		return s[:n]
	}
	return s
}

// parseOptions is ipvsadm's parse_options.
func (ps *parser) parseOptions(argv []string, ce *command) *exitError {
	p := newPopt(argv)
	program := argv[0]
	schedFlagsArg := ""

	c, optarg, _ := p.nextOpt()
	if c < 0 {
		return tryHelp(program)
	}
	switch c {
	case 'A':
		ce.cmd = cmdAdd
	case 'E':
		ce.cmd = cmdEdit
	case 'D':
		ce.cmd = cmdDel
	case 'a':
		ce.cmd = cmdAddDest
	case 'e':
		ce.cmd = cmdEditDest
	case 'd':
		ce.cmd = cmdDelDest
	case 'C':
		ce.cmd = cmdFlush
	case 'L', 'l':
		ce.cmd = cmdList
	case 'Z':
		ce.cmd = cmdZero
	case tagSet:
		ce.cmd = cmdTimeout
	case 'R':
		ce.cmd = cmdRestore
	case 'S':
		ce.cmd = cmdSave
	case tagStartDaemon, tagStopDaemon:
		if c == tagStartDaemon {
			ce.cmd = cmdStartDaemon
		} else {
			ce.cmd = cmdStopDaemon
		}
		switch optarg {
		case "master":
			ce.daemon.state = stateMaster
		case "backup":
			ce.daemon.state = stateBackup
		default:
			if c == tagStartDaemon {
				return fail(2, "illegal start-daemon parameter specified")
			}
			return fail(2, "illegal start_daemon specified")
		}
	case 'h':
		ce.cmd = cmdHelp
		return nil
	case 'v':
		ce.cmd = cmdVersion
		return nil
	default:
		return tryHelp(program)
	}

	for {
		c, optarg, hasArg := p.nextOpt()
		if c < 0 {
			if c < -1 {
				return &exitError{code: 255, msg: fmt.Sprintf("%s: %s\n", p.badOption(), poptStrerror(c))}
			}
			break
		}
		var err *exitError
		switch c {
		case 't', 'u', tagSCTPService:
			if err = setOption(&ce.options, optService); err != nil {
				return err
			}
			switch c {
			case 't':
				ce.svc.protocol = protoTCP
			case 'u':
				ce.svc.protocol = protoUDP
			default:
				ce.svc.protocol = protoSCTP
			}
			if ps.parseService(optarg, &ce.svc)&serviceAddr == 0 {
				return fail(2, "illegal virtual server address[:port] specified")
			}
		case 'f':
			if err = setOption(&ce.options, optService); err != nil {
				return err
			}
			ce.svc.af = afInet
			ce.svc.protocol = protoTCP
			if ce.svc.fwmark, err = parseFwmark(optarg); err != nil {
				return err
			}
		case 's':
			if err = setOption(&ce.options, optScheduler); err != nil {
				return err
			}
			ce.svc.sched = truncate(optarg, schedNameMaxLen-1)
		case 'p':
			if err = setOption(&ce.options, optPersistent); err != nil {
				return err
			}
			ce.svc.flags |= svcFPersistent
			t, err := parseTimeout(optarg, hasArg, 1, maxTimeout)
			if err != nil {
				return err
			}
			ce.svc.timeout = uint32(t)
		case 'M':
			if err = setOption(&ce.options, optNetmask); err != nil {
				return err
			}
			if ce.svc.af != afInet6 {
				m, ok := ps.parseNetmask(optarg)
				if !ok {
					return fail(2, "illegal virtual server persistent mask specified")
				}
				ce.svc.netmask = m
			} else {
				n := atoi(optarg)
				if n < 1 || n > 128 {
					return fail(2, "illegal ipv6 netmask specified")
				}
				ce.svc.netmask = uint32(n)
			}
		case 'r':
			if err = setOption(&ce.options, optServer); err != nil {
				return err
			}
			t := ce.svc
			parse := ps.parseService(optarg, &t)
			ce.dest.af, ce.dest.addr, ce.dest.port = t.af, t.addr, t.port
			if parse&serviceAddr == 0 {
				return fail(2, "illegal real server address[:port] specified")
			}
			if parse == serviceAddr {
				ce.dest.port = ce.svc.port
			}
			ce.rsPort = ce.dest.port
		case 'i', 'g', 'm':
			if err = setOption(&ce.options, optForward); err != nil {
				return err
			}
			ce.dest.connFlags = map[int]uint32{'i': connFTunnel, 'g': connFDRoute, 'm': connFMasq}[c]
		case 'w':
			if err = setOption(&ce.options, optWeight); err != nil {
				return err
			}
			// Debian's ipvsadm accepts weights up to INT_MAX.
			if ce.dest.weight = stringToNumber(optarg, 0, 1<<31-1); ce.dest.weight == -1 {
				return fail(2, "illegal weight specified")
			}
		case 'x':
			if err = setOption(&ce.options, optUThreshold); err != nil {
				return err
			}
			if ce.dest.uThresh = stringToNumber(optarg, 0, 1<<31-1); ce.dest.uThresh == -1 {
				return fail(2, "illegal u_threshold specified")
			}
		case 'y':
			if err = setOption(&ce.options, optLThreshold); err != nil {
				return err
			}
			if ce.dest.lThresh = stringToNumber(optarg, 0, 1<<31-1); ce.dest.lThresh == -1 {
				return fail(2, "illegal l_threshold specified")
			}
		case 'c':
			err = setOption(&ce.options, optConnection)
		case 'n':
			err = setOption(&ce.options, optNumeric)
			ce.format |= fmtNumeric
		case tagMcastInterface:
			err = setOption(&ce.options, optMcast)
			ce.daemon.mcastIfn = truncate(optarg, ifNameMaxLen-1)
		case 'I':
			if err = setOption(&ce.options, optSyncID); err != nil {
				return err
			}
			n := stringToNumber(optarg, 0, 255)
			if n == -1 {
				return fail(2, "illegal syncid specified")
			}
			ce.daemon.syncID = uint32(n)
		case tagTimeout:
			err = setOption(&ce.options, optTimeout)
		case tagDaemon:
			err = setOption(&ce.options, optDaemon)
		case tagStats:
			err = setOption(&ce.options, optStats)
			ce.format |= fmtStats
		case tagRate:
			err = setOption(&ce.options, optRate)
			ce.format |= fmtRate
		case tagThresholds:
			err = setOption(&ce.options, optThresholds)
			ce.format |= fmtThresholds
		case tagPersistentConn:
			err = setOption(&ce.options, optPersistentConn)
			ce.format |= fmtPersistentConn
		case tagNoSort:
			err = setOption(&ce.options, optNoSort)
			ce.format |= fmtNoSort
		case tagSort:
			// The default; accepted for compatibility.
		case 'X':
			err = setOption(&ce.options, optExact)
			ce.format |= fmtExact
		case '6':
			if ce.svc.fwmark == 0 {
				return fail(2, "-6 used before -f\n")
			}
			ce.svc.af = afInet6
			ce.svc.netmask = 128
		case 'o':
			err = setOption(&ce.options, optOnePacket)
			ce.svc.flags |= svcFOnePacket
		case tagPersistenceEngine:
			err = setOption(&ce.options, optPE)
			ce.svc.pe = truncate(optarg, peNameMaxLen)
		case 'b':
			err = setOption(&ce.options, optSchedFlags)
			schedFlagsArg = truncate(optarg, 127)
		case tagMcastGroup:
			if err = setOption(&ce.options, optMcastGroup); err != nil {
				return err
			}
			if strings.Contains(optarg, ":") {
				a, ok := inetPton6(optarg)
				if !ok || !a.IsMulticast() {
					return fail(2, "invalid IPv6 mcast-group `%s'", optarg)
				}
				ce.daemon.mcastGroup, ce.daemon.mcastAF = a, afInet6
			} else {
				a, ok := inetPton4(optarg)
				if !ok || !a.IsMulticast() {
					return fail(2, "invalid IPv4 mcast-group `%s'", optarg)
				}
				ce.daemon.mcastGroup, ce.daemon.mcastAF = a, afInet
			}
		case tagMcastPort:
			if err = setOption(&ce.options, optMcastPort); err != nil {
				return err
			}
			n := stringToNumber(optarg, 1, 65535)
			if n == -1 {
				return fail(2, "illegal mcast-port specified")
			}
			ce.daemon.mcastPort = uint16(n)
		case tagMcastTTL:
			if err = setOption(&ce.options, optMcastTTL); err != nil {
				return err
			}
			n := stringToNumber(optarg, 1, 255)
			if n == -1 {
				return fail(2, "illegal mcast-ttl specified")
			}
			ce.daemon.mcastTTL = uint8(n)
		case tagSyncMaxLen:
			if err = setOption(&ce.options, optSyncMaxLen); err != nil {
				return err
			}
			n := stringToNumber(optarg, 1, 65535-20-8)
			if n == -1 {
				return fail(2, "illegal sync-maxlen specified")
			}
			ce.daemon.syncMaxLen = uint16(n)
		case tagTunInfo:
			err = setOption(&ce.options, optTunInfo)
			ce.format |= fmtTunInfo
		case tagTunType:
			if err = setOption(&ce.options, optTunType); err != nil {
				return err
			}
			t := -1
			for i, n := range tunNames {
				if n == optarg {
					t = i
				}
			}
			if t == -1 {
				return fail(2, "illegal tunnel type specified")
			}
			ce.dest.tunType = t
		case tagTunPort:
			if err = setOption(&ce.options, optTunPort); err != nil {
				return err
			}
			n := stringToNumber(optarg, 1, 65535)
			if n == -1 {
				return fail(2, "illegal tunnel port specified")
			}
			ce.dest.tunPort = uint16(n)
		case tagTunNoCsum:
			err = setOption(&ce.options, optTunNoCsum)
			ce.dest.tunFlags |= tunFlagNoCsum
		case tagTunCsum:
			err = setOption(&ce.options, optTunCsum)
			ce.dest.tunFlags |= tunFlagCsum
		case tagTunRemCsum:
			err = setOption(&ce.options, optTunRemCsum)
			ce.dest.tunFlags |= tunFlagRemCsum
		case tagJSON:
			err = setOption(&ce.options, optJSON)
			ce.format |= fmtJSON
		default:
			return fail(2, "invalid option `%s'", p.badOption())
		}
		if err != nil {
			return err
		}
	}

	if ce.cmd == cmdTimeout {
		a0, ok0 := p.getArg()
		a1, ok1 := p.getArg()
		a2, ok2 := p.getArg()
		if !(ok0 && ok1 && ok2) {
			return fail(2, "--set option requires 3 timeout values")
		}
		for i, a := range []string{a0, a1, a2} {
			t, err := parseTimeout(a, true, 0, maxTimeout)
			if err != nil {
				return err
			}
			ce.timeout[i] = t
		}
	}
	if a, ok := p.getArg(); ok {
		return fail(2, "unexpected argument %s", a)
	}
	if schedFlagsArg != "" {
		ce.svc.flags &^= svcFSched1 | svcFSched2 | svcFSched3
		f, err := parseSchedFlags(ce.svc.sched, schedFlagsArg)
		if err != nil {
			return err
		}
		ce.svc.flags |= f
	}
	return nil
}

// genericOptCheck is generic_opt_check.
func genericOptCheck(cmd int, options uint64) *exitError {
	return optCheck(commandsVOptions[cmd-1], cmdNames[cmd-1], options)
}

// optCheck checks options against a row of commandsVOptions; name is the
// command in messages.
func optCheck(row, name string, options uint64) *exitError {
	last, count := 0, 0
	for j := 0; j < numOpts; j++ {
		if options&(1<<j) == 0 {
			if row[j] == '+' {
				return fail(2, "You need to supply the '%s' option for the '%s' command", optNames[j], name)
			}
			continue
		}
		switch row[j] {
		case 'x':
			return fail(2, "Illegal '%s' option with the '%s' command", optNames[j], name)
		case '1':
			count++
			if count == 1 {
				last = j
				continue
			}
			return fail(2, "The option '%s' conflicts with the '%s' option in the '%s' command", optNames[j], optNames[last], name)
		}
	}
	return nil
}

// tunnelOptCheck is tunnel_opt_check.
func tunnelOptCheck(tunType int, options uint64) *exitError {
	row := tunTypesVOption[tunType]
	last, count := 0, 0
	for j, k := range tunOpts {
		if options&(1<<k) == 0 {
			if row[j] == '+' {
				return fail(2, "You need to supply the '%s' option for the '%s' tunnel type", optNames[k], tunNames[tunType])
			}
			continue
		}
		switch row[j] {
		case 'x':
			return fail(2, "Illegal '%s' option with the '%s' tunnel type", optNames[k], tunNames[tunType])
		case '1':
			count++
			if count == 1 {
				last = k
				continue
			}
			return fail(2, "The option '%s' conflicts with the '%s' option in the '%s' tunnel type", optNames[k], optNames[last], tunNames[tunType])
		}
	}
	return nil
}

// parseCommand is the parsing half of ipvsadm's process_options: it
// parses argv, applies the defaults and runs every check that needs no
// kernel. For -h and -v it returns at once with cmd cmdHelp/cmdVersion.
func (ps *parser) parseCommand(argv []string) (*command, *exitError) {
	ce := &command{}
	ce.dest.weight = 1
	ce.dest.connFlags = connFDRoute
	ce.svc.netmask = netmaskHost

	if err := ps.parseOptions(argv, ce); err != nil {
		return nil, err
	}
	if ce.cmd == cmdHelp || ce.cmd == cmdVersion {
		return ce, nil
	}
	if err := genericOptCheck(ce.cmd, ce.options); err != nil {
		return nil, err
	}
	if ce.cmd == cmdAdd || ce.cmd == cmdEdit {
		if ce.svc.fwmark == 0 && ce.svc.port == 0 && ce.svc.flags&svcFPersistent == 0 {
			return nil, fail(2, "Zero port specified for non-persistent service")
		}
		if ce.svc.flags&svcFOnePacket != 0 && ce.svc.fwmark == 0 && ce.svc.protocol != protoUDP {
			return nil, fail(2, "One-Packet Scheduling is only for UDP virtual services")
		}
		if ce.svc.sched == "" {
			ce.svc.sched = defSched
		}
	}
	if ce.cmd == cmdStartDaemon && ce.daemon.mcastIfn == "" {
		ce.daemon.mcastIfn = defMcastIfn
	}
	fwd := ce.dest.connFlags & 7
	if ce.cmd == cmdAddDest || ce.cmd == cmdEditDest {
		if ce.svc.fwmark == 0 && (fwd == connFTunnel || fwd == connFDRoute) {
			ce.dest.port = ce.svc.port
		}
		if ce.dest.af != ce.svc.af && fwd != connFTunnel {
			return nil, fail(2, "Different address family is allowed only for tunneling servers")
		}
		tunOptsMask := uint64(1)<<optTunType | 1<<optTunPort | 1<<optTunNoCsum | 1<<optTunCsum | 1<<optTunRemCsum
		if ce.options&tunOptsMask != 0 && fwd != connFTunnel {
			return nil, fail(2, "Tunnel options conflict with forward method")
		}
		if err := tunnelOptCheck(ce.dest.tunType, ce.options); err != nil {
			return nil, err
		}
	}
	if ce.cmd == cmdList {
		o := ce.options
		has := func(bits ...int) bool {
			for _, b := range bits {
				if o&(1<<b) != 0 {
					return true
				}
			}
			return false
		}
		if (has(optConnection, optTimeout, optDaemon) && has(optStats, optRate, optThresholds)) ||
			(has(optTimeout, optDaemon) && has(optPersistentConn)) {
			return nil, fail(2, "options conflicts in the list command")
		}
	}
	return ce, nil
}
