package ipvsadm

import (
	"bufio"
	"io"
	"net/netip"
	"os"
	"syscall"

	"github.com/lbd-project/lbd/ipvs"
)

// configStream splits a restore stream into command lines the way
// ipvsadm's config_stream_read does with fscanf: tokens are separated by
// spaces, tabs and carriage returns, a newline ends a line, every token
// that is exactly "ipvsadm" is dropped, and there is no comment syntax
// ("#" is an ordinary token). Its quirks are kept: a last line that ends
// in blanks without a newline is lost, and tokens longer than 4096 bytes
// are split.
type configStream struct {
	r       *bufio.Reader
	program string
}

const maxLineLength = 4096

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// next returns the next line as an argv (program first), or false at the
// end of the stream.
func (cs *configStream) next() ([]string, bool) {
	argv := []string{cs.program}
	ntoken := 0
	for {
		// %4096[^ \t\n\r]
		var tok []byte
		for len(tok) < maxLineLength {
			c, err := cs.r.ReadByte()
			if err != nil {
				break
			}
			if isBlank(c) {
				cs.r.UnreadByte()
				break
			}
			tok = append(tok, c)
		}
		if len(tok) == 0 {
			if _, err := cs.r.Peek(1); err != nil {
				// EOF before any conversion.
				if ntoken == 0 {
					return nil, false
				}
				return argv, true
			}
			// Matching failure: skip blanks up to the newline.
			for {
				c, err := cs.r.ReadByte()
				if err != nil {
					return nil, false
				}
				if c == '\n' {
					return argv, true
				}
				if c != ' ' && c != '\t' && c != '\r' {
					cs.r.UnreadByte()
					break
				}
			}
			continue
		}
		if string(tok) != "ipvsadm" {
			ntoken++
			argv = append(argv, string(tok))
		}
		// %1[ \t\n\r]
		c, err := cs.r.ReadByte()
		if err != nil {
			continue // the next fscanf sees EOF
		}
		if !isBlank(c) {
			cs.r.UnreadByte()
			continue
		}
		if c == '\n' {
			return argv, true
		}
	}
}

// sim replays table-changing commands of a restore on an in-memory copy of
// the kernel table, answering each with the errno the kernel would, so
// that the whole restore becomes one ipvs.Diff applied in one batch.
type sim struct {
	loaded  bool
	current ipvs.Table
	svcs    map[ipvs.ServiceKey]*simService
	dirty   bool
}

type simService struct {
	svc   ipvs.Service
	dests map[netip.AddrPort]ipvs.Destination
	order []netip.AddrPort
}

func (s *sim) load(t ipvs.Table) {
	s.loaded, s.current, s.dirty = true, t, false
	s.svcs = make(map[ipvs.ServiceKey]*simService, len(t.Services))
	for _, e := range t.Services {
		ss := &simService{svc: e.Service, dests: make(map[netip.AddrPort]ipvs.Destination, len(e.Destinations))}
		for _, d := range e.Destinations {
			ss.put(d.Destination)
		}
		s.svcs[e.Key()] = ss
	}
}

func (ss *simService) put(d ipvs.Destination) {
	k := netip.AddrPortFrom(d.Address, d.Port)
	if _, ok := ss.dests[k]; !ok {
		ss.order = append(ss.order, k)
	}
	ss.dests[k] = d
}

// desired returns the simulated table. A destination the kernel made
// Local (its address is the balancer's own) is kept Local when the rule
// asks for direct routing, which is what -S writes for it, so a restore
// of a saved table does not touch it.
func (s *sim) desired() ipvs.Table {
	cur := map[ipvs.ServiceKey]map[netip.AddrPort]ipvs.Destination{}
	for _, e := range s.current.Services {
		m := map[netip.AddrPort]ipvs.Destination{}
		for _, d := range e.Destinations {
			m[netip.AddrPortFrom(d.Address, d.Port)] = d.Destination
		}
		cur[e.Key()] = m
	}
	var t ipvs.Table
	for k, ss := range s.svcs {
		var dests []ipvs.Destination
		for _, dk := range ss.order {
			d, ok := ss.dests[dk]
			if !ok {
				continue
			}
			if c, ok := cur[k][dk]; ok && c.ForwardMethod == ipvs.Local && d.ForwardMethod == ipvs.Route {
				d.ForwardMethod = ipvs.Local
			}
			dests = append(dests, d)
		}
		t.Add(ss.svc, dests...)
	}
	t.Sort()
	return t
}

// simulate applies one table-changing command. It returns the libipvs
// function and the error the kernel would have answered, if any.
func (s *sim) simulate(ce *command) (int, error) {
	switch ce.cmd {
	case cmdFlush:
		s.svcs = map[ipvs.ServiceKey]*simService{}
		s.dirty = true
		return fnFlush, nil
	case cmdAdd, cmdEdit, cmdDel:
		fn := map[int]int{cmdAdd: fnAddService, cmdEdit: fnUpdateService, cmdDel: fnDelService}[ce.cmd]
		svc, err := ce.svc.service()
		if err != nil {
			return fn, err
		}
		ss, exists := s.svcs[svc.Key()]
		switch {
		case ce.cmd == cmdAdd && exists:
			return fn, errnoError{syscall.EEXIST}
		case ce.cmd != cmdAdd && !exists:
			return fn, errnoError{syscall.ESRCH}
		}
		if ce.cmd == cmdDel {
			delete(s.svcs, svc.Key())
			s.dirty = true
			return fn, nil
		}
		if errno := kernelErrno(fn, ce.svc, ce.dest); errno != 0 {
			return fn, errnoError{errno}
		}
		if err := svc.Validate(); err != nil {
			return fn, err
		}
		if exists {
			ss.svc = svc
		} else {
			s.svcs[svc.Key()] = &simService{svc: svc, dests: map[netip.AddrPort]ipvs.Destination{}}
		}
		s.dirty = true
		return fn, nil
	case cmdAddDest, cmdEditDest, cmdDelDest:
		fn := map[int]int{cmdAddDest: fnAddDest, cmdEditDest: fnUpdateDest, cmdDelDest: fnDelDest}[ce.cmd]
		svc, err := ce.svc.service()
		if err != nil {
			return fn, err
		}
		ss, ok := s.svcs[svc.Key()]
		if !ok {
			return fn, errnoError{syscall.ESRCH}
		}
		d := ce.dest.destination()
		k := netip.AddrPortFrom(d.Address, d.Port)
		_, exists := ss.dests[k]
		switch {
		case ce.cmd == cmdAddDest && exists:
			return fn, errnoError{syscall.EEXIST}
		case ce.cmd != cmdAddDest && !exists:
			return fn, errnoError{syscall.ENOENT}
		}
		if ce.cmd == cmdDelDest {
			delete(ss.dests, k)
			s.dirty = true
			return fn, nil
		}
		if errno := kernelErrno(fn, ce.svc, ce.dest); errno != 0 {
			return fn, errnoError{errno}
		}
		if err := d.Validate(ss.svc); err != nil {
			return fn, err
		}
		ss.put(d)
		s.dirty = true
		return fn, nil
	}
	return fnNone, nil
}

func isTableChange(cmd int) bool {
	switch cmd {
	case cmdAdd, cmdEdit, cmdDel, cmdAddDest, cmdEditDest, cmdDelDest, cmdFlush:
		return true
	}
	return false
}

// changeFn is the libipvs function that makes a change of a plan.
func changeFn(c ipvs.Change) int {
	if c.Destination == nil {
		return map[ipvs.ChangeOp]int{ipvs.Add: fnAddService, ipvs.Edit: fnUpdateService, ipvs.Delete: fnDelService}[c.Op]
	}
	return map[ipvs.ChangeOp]int{ipvs.Add: fnAddDest, ipvs.Edit: fnUpdateDest, ipvs.Delete: fnDelDest}[c.Op]
}

// restoreSession runs the lines of a restore (or of diff, which applies
// nothing).
type restoreSession struct {
	r      *runner
	sim    sim
	dryRun bool
	failed bool // an applied change failed
}

func (rs *restoreSession) ensureLoaded() *exitError {
	if rs.sim.loaded {
		return nil
	}
	k, e := rs.r.kernel()
	if e != nil {
		return e
	}
	t, err := k.Dump(rs.r.ctx)
	if err != nil {
		rs.r.stderr(strerror(fnGetServices, err) + "\n")
		return &exitError{code: 1}
	}
	rs.sim.load(t)
	return nil
}

// plan is what the restore so far changes.
func (rs *restoreSession) plan() ipvs.Plan {
	if !rs.sim.loaded || !rs.sim.dirty {
		return ipvs.Plan{}
	}
	return ipvs.Diff(rs.sim.desired(), rs.sim.current)
}

// flush applies the simulated changes, reporting each failed change with
// ipvsadm's message for its operation.
func (rs *restoreSession) flush() {
	if rs.dryRun || !rs.sim.loaded {
		return
	}
	p := rs.plan()
	rs.sim.loaded = false
	if len(p.Changes) == 0 {
		return
	}
	res, err := rs.r.k.Apply(rs.r.ctx, p)
	if err == nil {
		return
	}
	rs.failed = true
	for _, cr := range res.Failed() {
		rs.r.stderr(strerror(changeFn(cr.Change), cr.Err) + "\n")
	}
	if len(res.Failed()) == 0 {
		rs.r.stderr(err.Error() + "\n")
	}
}

// line runs one restore line and returns ipvsadm's per-line result.
func (rs *restoreSession) line(argv []string) (int, *exitError) {
	r := rs.r
	ce, e := r.parser.parseCommand(argv)
	if e != nil {
		return 0, e
	}
	if isTableChange(ce.cmd) {
		if e := rs.ensureLoaded(); e != nil {
			return 0, e
		}
		fn, err := rs.sim.simulate(ce)
		if err != nil {
			r.stderr(strerror(fn, err) + "\n")
			return -1, nil
		}
		return 0, nil
	}
	if rs.dryRun {
		// diff shows only the table changes.
		if ce.cmd == cmdRestore {
			return 0, tryHelp(argv[0])
		}
		return 0, nil
	}
	rs.flush()
	return r.runParsed(ce, argv, true)
}

// run reads the whole stream.
func (rs *restoreSession) run(in io.Reader, program string) (int, *exitError) {
	cs := &configStream{r: bufio.NewReader(in), program: program}
	result := 0
	for {
		argv, ok := cs.next()
		if !ok {
			break
		}
		if len(argv) <= 1 {
			continue
		}
		res, e := rs.line(argv)
		if e != nil {
			rs.flush()
			return 0, e
		}
		result = res
	}
	rs.flush()
	if rs.failed {
		result = -1
	}
	return result, nil
}

// restore is -R: ipvsadm replays stdin line by line; ipvsctl replays the
// table changes on a copy of the kernel table and applies the difference.
func (r *runner) restore(argv []string) (int, *exitError) {
	rs := &restoreSession{r: r}
	return rs.run(r.env.Stdin, argv[0])
}

// diffCommand is "ipvsctl diff FILE": what "-R < FILE" would change, as
// ipvs.Plan's String, changing nothing. FILE "-" is stdin.
func (r *runner) diffCommand(args []string) int {
	if len(args) != 3 {
		r.stderr("Usage: " + args[0] + " diff FILE\n")
		return 2
	}
	in := r.env.Stdin
	if args[2] != "-" {
		f, err := os.Open(args[2])
		if err != nil {
			r.stderr(err.Error() + "\n")
			return 2
		}
		defer f.Close()
		in = f
	}
	rs := &restoreSession{r: r, dryRun: true}
	res, e := rs.run(in, args[0])
	if e != nil {
		return r.exit(e)
	}
	if e := rs.ensureLoaded(); e != nil {
		return r.exit(e)
	}
	io.WriteString(r.out, rs.plan().String())
	return res & 0xff
}
