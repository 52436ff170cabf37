package ipvsadm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/lbd-project/lbd/internal/script"
	"github.com/lbd-project/lbd/ipvs"
)

// Kernel is the part of *ipvs.Client that ipvsctl uses; tests pass a fake.
type Kernel interface {
	Info(ctx context.Context) (ipvs.Info, error)
	Services(ctx context.Context) ([]ipvs.ServiceEntry, error)
	Destinations(ctx context.Context, svc ipvs.Service) ([]ipvs.DestinationEntry, error)
	Dump(ctx context.Context) (ipvs.Table, error)
	NewService(ctx context.Context, svc ipvs.Service) error
	UpdateService(ctx context.Context, svc ipvs.Service) error
	DeleteService(ctx context.Context, svc ipvs.Service) error
	NewDestination(ctx context.Context, svc ipvs.Service, d ipvs.Destination) error
	UpdateDestination(ctx context.Context, svc ipvs.Service, d ipvs.Destination) error
	DeleteDestination(ctx context.Context, svc ipvs.Service, d ipvs.Destination) error
	Apply(ctx context.Context, p ipvs.Plan) (ipvs.ApplyResult, error)
	Flush(ctx context.Context) error
	Zero(ctx context.Context) error
	ZeroService(ctx context.Context, svc ipvs.Service) error
	Timeouts(ctx context.Context) (ipvs.Timeouts, error)
	SetTimeouts(ctx context.Context, t ipvs.Timeouts) error
	SyncDaemons(ctx context.Context) ([]ipvs.SyncDaemon, error)
	StartSyncDaemon(ctx context.Context, d ipvs.SyncDaemon) error
	StopSyncDaemon(ctx context.Context, state ipvs.DaemonState) error
}

var _ Kernel = (*ipvs.Client)(nil)

// Env is the world a run of ipvsctl sees.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Open connects to the kernel; nil means OpenKernel.
	Open func() (Kernel, error)
	// Names resolves host and service names; nil means a SystemResolver.
	Names Resolver
	// ConnFile is the connection table; "" means ConnFile.
	ConnFile string
	// RealServer, if set, is offered every -a, -e and -d command given on
	// the command line (not those of -R) before the kernel is opened;
	// ipvsctl uses it to send changes to managed services to lbd.
	RealServer RealServerFunc
	// Version, if set, is printed after ipvsadm's version line for -v and
	// --version; ipvsctl puts its own there.
	Version string
}

// modprobeTimeout bounds the module load OpenKernel tries, so a stuck
// modprobe cannot hang the command.
const modprobeTimeout = 30 * time.Second

// OpenKernel opens IPVS like ipvsadm: if the kernel has no IPVS family it
// runs "/sbin/modprobe -- ip_vs" once and tries again.
func OpenKernel() (Kernel, error) {
	c, err := ipvs.Open()
	if err != nil && errors.Is(err, ipvs.ErrNotSupported) {
		modprobe := script.Spec{Argv: []string{"/sbin/modprobe", "--", "ip_vs"}, Timeout: modprobeTimeout}
		if script.Run(context.Background(), modprobe).OK() {
			c, err = ipvs.Open()
		}
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// runner is one invocation.
type runner struct {
	ctx    context.Context
	env    Env
	out    *bufio.Writer
	errw   io.Writer
	parser parser
	k      Kernel
	info   ipvs.Info
}

// Run runs ipvsctl with args (args[0] is the program name, used in
// messages as ipvsadm uses argv[0]) and returns the exit status.
func Run(ctx context.Context, env Env, args []string) int {
	if env.Stdin == nil {
		env.Stdin = eofReader{}
	}
	if env.Stdout == nil {
		env.Stdout = io.Discard
	}
	if env.Stderr == nil {
		env.Stderr = io.Discard
	}
	if env.Names == nil {
		env.Names = &SystemResolver{}
	}
	if env.ConnFile == "" {
		env.ConnFile = ConnFile
	}
	if len(args) == 0 {
		args = []string{"ipvsctl"}
	}
	r := &runner{ctx: ctx, env: env, out: bufio.NewWriterSize(env.Stdout, 64<<10), errw: env.Stderr,
		parser: parser{names: env.Names}}
	code := r.main(args)
	r.out.Flush()
	if c, ok := r.k.(io.Closer); ok {
		c.Close()
	}
	return code
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// stderr writes a message to stderr, after what stdout holds so far.
func (r *runner) stderr(msg string) {
	r.out.Flush()
	io.WriteString(r.errw, msg)
}

func (r *runner) exit(e *exitError) int {
	if e.msg != "" {
		r.stderr(e.msg)
	}
	return e.code
}

func (r *runner) main(args []string) int {
	if len(args) == 1 {
		if e := r.listAll(0); e != nil {
			return r.exit(e)
		}
		return 0
	}
	if args[1] == "diff" {
		return r.diffCommand(args)
	}
	res, e := r.processOptions(args, false)
	if e != nil {
		return r.exit(e)
	}
	return res & 0xff
}

// kernel opens IPVS on first use, as ipvs_init does at ipvsadm's start.
func (r *runner) kernel() (Kernel, *exitError) {
	if r.k != nil {
		return r.k, nil
	}
	open := r.env.Open
	if open == nil {
		open = OpenKernel
	}
	k, err := open()
	if err == nil {
		if r.info, err = k.Info(r.ctx); err != nil {
			if c, ok := k.(io.Closer); ok {
				c.Close()
			}
		}
	}
	if err != nil {
		msg := strerror(fnNone, err)
		if errors.Is(err, ipvs.ErrNotSupported) {
			msg = errnoMessage(fnNone, syscall.ENOPROTOOPT)
		}
		return nil, fail(2, "Can't initialize ipvs: %s\nAre you sure that IP Virtual Server is built in the kernel or as module?", msg)
	}
	r.k = k
	if v := r.info.Version; uint32(v.Major)<<16|uint32(v.Minor)<<8|uint32(v.Patch) < 1<<16|1<<8|4 {
		r.stderr(fmt.Sprintf("Warning: IPVS version mismatch: \n"+
			"  Kernel compiled with IPVS version %d.%d.%d\n"+
			"  ipvsadm v1.31  requires minimum IPVS version 1.1.4\n\n", v.Major, v.Minor, v.Patch))
	}
	return k, nil
}

// processOptions is the rest of ipvsadm's process_options: it runs a
// parsed command. It returns 0 or -1 like ipvsadm, or an exitError for
// what ipvsadm ends with exit().
func (r *runner) processOptions(argv []string, readingStdin bool) (int, *exitError) {
	ce, e := r.parser.parseCommand(argv)
	if e != nil {
		return 0, e
	}
	return r.runParsed(ce, argv, readingStdin)
}

// runParsed runs a parsed command.
func (r *runner) runParsed(ce *command, argv []string, readingStdin bool) (int, *exitError) {
	var e *exitError
	switch ce.cmd {
	case cmdHelp:
		usage(r.out, argv[0])
		return 0, &exitError{code: 0}
	case cmdVersion:
		io.WriteString(r.out, versionLine())
		io.WriteString(r.out, r.env.Version)
		return 0, &exitError{code: 0}
	case cmdList:
		o := ce.options
		switch {
		case o&(1<<optConnection) != 0:
			e = r.listConn(ce.format)
		case o&(1<<optService) != 0:
			e = r.listService(&ce.svc, ce.format)
		case o&(1<<optTimeout) != 0:
			e = r.listTimeout(ce.format)
		case o&(1<<optDaemon) != 0:
			e = r.listDaemon(ce.format)
		default:
			e = r.listAll(ce.format)
		}
		return 0, e
	case cmdRestore:
		if readingStdin {
			return 0, tryHelp(argv[0])
		}
		return r.restore(argv)
	case cmdSave:
		return 0, r.listAll(ce.format | fmtRule)
	}

	if r.env.RealServer != nil && !readingStdin && (ce.cmd == cmdAddDest || ce.cmd == cmdEditDest || ce.cmd == cmdDelDest) {
		if handled, err := r.offerRealServer(ce); handled {
			if err != nil {
				r.stderr(strings.TrimRight(err.Error(), "\n") + "\n")
				return -1, nil
			}
			return 0, nil
		}
	}
	k, e := r.kernel()
	if e != nil {
		return 0, e
	}
	fn, err := r.execute(k, ce)
	if err != nil {
		r.stderr(strerror(fn, err) + "\n")
		return -1, nil
	}
	return 0, nil
}

// errnoError is an errno that ipvsctl raises itself for a change package
// ipvs would refuse, standing in for the kernel's answer.
type errnoError struct{ errno syscall.Errno }

func (e errnoError) Error() string { return e.errno.Error() }
func (e errnoError) Unwrap() error { return e.errno }

// execute makes the kernel call of a table-changing command and returns
// the libipvs function it stands for, for the error message.
func (r *runner) execute(k Kernel, ce *command) (int, error) {
	ctx := r.ctx
	switch ce.cmd {
	case cmdFlush:
		return fnFlush, k.Flush(ctx)
	case cmdZero:
		if ce.svc.fwmark == 0 && ce.svc.addr == [16]byte{} && ce.svc.port == 0 {
			return fnZeroService, k.Zero(ctx)
		}
		s, err := ce.svc.service()
		if err != nil {
			return fnZeroService, err
		}
		return fnZeroService, k.ZeroService(ctx, s)
	case cmdAdd, cmdEdit, cmdDel:
		fn := map[int]int{cmdAdd: fnAddService, cmdEdit: fnUpdateService, cmdDel: fnDelService}[ce.cmd]
		s, err := ce.svc.service()
		if err != nil {
			return fn, err
		}
		if errno := kernelErrno(fn, ce.svc, ce.dest); errno != 0 {
			return fn, errnoError{errno}
		}
		switch ce.cmd {
		case cmdAdd:
			return fn, k.NewService(ctx, s)
		case cmdEdit:
			return fn, k.UpdateService(ctx, s)
		}
		return fn, k.DeleteService(ctx, s)
	case cmdAddDest, cmdEditDest, cmdDelDest:
		fn := map[int]int{cmdAddDest: fnAddDest, cmdEditDest: fnUpdateDest, cmdDelDest: fnDelDest}[ce.cmd]
		s, err := ce.svc.service()
		if err != nil {
			return fn, err
		}
		d := ce.dest.destination()
		if errno := kernelErrno(fn, ce.svc, ce.dest); errno != 0 {
			return fn, errnoError{errno}
		}
		switch ce.cmd {
		case cmdAddDest:
			return fn, k.NewDestination(ctx, s, d)
		case cmdEditDest:
			return fn, k.UpdateDestination(ctx, s, d)
		}
		return fn, k.DeleteDestination(ctx, s, d)
	case cmdTimeout:
		t := ipvs.Timeouts{
			TCP:    time.Duration(ce.timeout[0]) * time.Second,
			TCPFin: time.Duration(ce.timeout[1]) * time.Second,
			UDP:    time.Duration(ce.timeout[2]) * time.Second,
		}
		return fnSetTimeout, k.SetTimeouts(ctx, t)
	case cmdStartDaemon:
		d := ipvs.SyncDaemon{
			State:      ipvs.DaemonState(ce.daemon.state),
			McastIfn:   ce.daemon.mcastIfn,
			SyncID:     ce.daemon.syncID,
			SyncMaxLen: ce.daemon.syncMaxLen,
			McastGroup: ce.daemon.mcastGroup,
			McastPort:  ce.daemon.mcastPort,
			McastTTL:   ce.daemon.mcastTTL,
		}
		return fnStartDaemon, k.StartSyncDaemon(ctx, d)
	case cmdStopDaemon:
		return fnStopDaemon, k.StopSyncDaemon(ctx, ipvs.DaemonState(ce.daemon.state))
	}
	return fnNone, fmt.Errorf("ipvsctl: unknown command %d", ce.cmd)
}

func (r *runner) formatter(format uint) *formatter {
	return &formatter{w: r.out, names: r.env.Names, format: format}
}

// fetch reads the services and, per service, the destinations.
func (r *runner) fetch(k Kernel) ([]svcEntry, int, error) {
	svcs, err := k.Services(r.ctx)
	if err != nil {
		return nil, fnGetServices, err
	}
	out := make([]svcEntry, len(svcs))
	for i, s := range svcs {
		out[i] = svcEntryOf(s)
		ds, err := k.Destinations(r.ctx, s.Service)
		if err != nil {
			return nil, fnGetDests, err
		}
		for _, d := range ds {
			out[i].dests = append(out[i].dests, destEntryOf(d))
		}
	}
	return out, 0, nil
}

// listAll is list_all (and -S with fmtRule).
func (r *runner) listAll(format uint) *exitError {
	k, e := r.kernel()
	if e != nil {
		return e
	}
	if format&fmtJSON != 0 {
		svcs, fn, err := r.fetch(k)
		if err != nil {
			r.stderr(strerror(fn, err) + "\n")
			return &exitError{code: 1}
		}
		return r.writeJSON(tableJSON(r.info, sortServices(svcs, format), format))
	}
	f := r.formatter(format)
	if format&fmtRule == 0 {
		io.WriteString(r.out, listHeader(r.info))
	}
	svcs, fn, err := r.fetch(k)
	if err != nil {
		r.stderr(strerror(fn, err) + "\n")
		return &exitError{code: 1}
	}
	svcs = sortServices(svcs, format)
	f.printTitle()
	for i := range svcs {
		f.printServiceEntry(&svcs[i])
	}
	return nil
}

// sameService reports whether a kernel service is the one ipvsadm's
// ipvs_get_service would return for the parsed identity.
func sameService(a, b *rawService) bool {
	if a.fwmark != 0 || b.fwmark != 0 {
		return a.fwmark == b.fwmark && a.af == b.af
	}
	return a.af == b.af && a.protocol == b.protocol && rawAddr(a.af, a.addr) == rawAddr(b.af, b.addr) && a.port == b.port
}

// listService is list_service.
func (r *runner) listService(svc *rawService, format uint) *exitError {
	k, e := r.kernel()
	if e != nil {
		return e
	}
	svcs, err := k.Services(r.ctx)
	if err != nil {
		r.stderr(strerror(fnGetService, err) + "\n")
		return &exitError{code: 1}
	}
	var found *ipvs.ServiceEntry
	for i := range svcs {
		raw := rawFromService(svcs[i].Service)
		if sameService(&raw, svc) {
			found = &svcs[i]
			break
		}
	}
	if found == nil {
		r.stderr(errnoMessage(fnGetService, syscall.ESRCH) + "\n")
		return &exitError{code: 1}
	}
	entry := svcEntryOf(*found)
	ds, err := k.Destinations(r.ctx, found.Service)
	if err != nil {
		r.stderr(strerror(fnGetDests, err) + "\n")
		return &exitError{code: 1}
	}
	for _, d := range ds {
		entry.dests = append(entry.dests, destEntryOf(d))
	}
	if format&fmtJSON != 0 {
		return r.writeJSON(tableJSON(r.info, []svcEntry{entry}, format))
	}
	f := r.formatter(format)
	f.printTitle()
	f.printServiceEntry(&entry)
	return nil
}

// listConn is list_conn.
func (r *runner) listConn(format uint) *exitError {
	fh, err := os.Open(r.env.ConnFile)
	if err != nil {
		return fail(1, "cannot open file %s", r.env.ConnFile)
	}
	defer fh.Close()
	conns, err := ReadConns(fh)
	if err != nil {
		return fail(1, "unexpected input from %s", r.env.ConnFile)
	}
	if format&fmtJSON != 0 {
		return r.writeJSON(connsJSON(conns))
	}
	f := r.formatter(format)
	f.connTitle()
	for _, c := range conns {
		f.printConn(c)
	}
	return nil
}

// listTimeout is list_timeout; a failure exits 1 without a message.
func (r *runner) listTimeout(format uint) *exitError {
	k, e := r.kernel()
	if e != nil {
		return e
	}
	t, err := k.Timeouts(r.ctx)
	if err != nil {
		return &exitError{code: 1}
	}
	if format&fmtJSON != 0 {
		return r.writeJSON(timeoutsJSON(t))
	}
	io.WriteString(r.out, formatTimeout(t))
	return nil
}

// listDaemon is list_daemon; a failure exits 1 without a message.
func (r *runner) listDaemon(format uint) *exitError {
	k, e := r.kernel()
	if e != nil {
		return e
	}
	ds, err := k.SyncDaemons(r.ctx)
	if err != nil {
		return &exitError{code: 1}
	}
	if len(ds) > 2 {
		ds = ds[:2]
	}
	if format&fmtJSON != 0 {
		return r.writeJSON(daemonsJSON(ds))
	}
	io.WriteString(r.out, formatDaemons(ds))
	return nil
}
