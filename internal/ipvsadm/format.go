package ipvsadm

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/lbd-project/lbd/ipvs"
)

// svcEntry is a service as ipvsadm lists it.
type svcEntry struct {
	svc   rawService
	stats ipvs.Stats
	dests []destEntry
}

// destEntry is a destination as ipvsadm lists it.
type destEntry struct {
	dest                   rawDest
	active, inact, persist uint32
	stats                  ipvs.Stats
}

func svcEntryOf(e ipvs.ServiceEntry) svcEntry {
	s := svcEntry{svc: rawFromService(e.Service), stats: e.Stats}
	for _, d := range e.Destinations {
		s.dests = append(s.dests, destEntryOf(d))
	}
	return s
}

func destEntryOf(d ipvs.DestinationEntry) destEntry {
	return destEntry{dest: rawFromDest(d.Destination), active: d.ActiveConns, inact: d.InactConns,
		persist: d.PersistConns, stats: d.Stats}
}

// formatter writes ipvsadm's listings.
type formatter struct {
	w      io.Writer
	names  Resolver
	format uint
}

func (f *formatter) printf(format string, args ...any) { fmt.Fprintf(f.w, format, args...) }

// cstr cuts s at n bytes, as writing a NUL into a C buffer does.
func cstr(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// addrportToAnyname is addrport_to_anyname: "addr:port" or "[addr]:port",
// names unless numeric, in a 60-byte buffer.
func (f *formatter) addrportToAnyname(af int, addr [16]byte, port uint16, proto uint16) string {
	a := rawAddr(af, addr)
	open, close := "", ""
	if af != afInet {
		open, close = "[", "]"
	}
	var s string
	if f.format&fmtNumeric != 0 {
		s = open + ntop(a) + close + ":" + strconv.Itoa(int(port))
	} else {
		host, ok := f.names.AddrToHost(a)
		if !ok {
			host = ntop(a)
		}
		ps := ""
		if pn := protoName(proto); pn != "" {
			ps, _ = f.names.PortToService(port, pn)
		}
		if ps == "" {
			ps = strconv.Itoa(int(port))
		}
		s = open + host + close + ":" + ps
	}
	return cstr(s, 59)
}

// printLargenum is print_largenum.
func (f *formatter) printLargenum(i uint64) {
	if f.format&fmtExact != 0 {
		s := strconv.FormatUint(i, 10)
		width := 9
		if len(s) > 8 {
			width = len(s) + 1
		}
		f.printf("%*s", width, s)
		return
	}
	switch {
	case i < 100000000:
		f.printf("%9d", i)
	case i < 1000000000:
		f.printf("%8dK", i/1000)
	case i < 100000000000:
		f.printf("%8dM", i/1000000)
	case i < 100000000000000:
		f.printf("%8dG", i/1000000000)
	default:
		f.printf("%8dT", i/1000000000000)
	}
}

// schedFlags is print_sched_flags.
func schedFlags(s *rawService) string {
	var out []string
	switch s.sched {
	case "sh", "mh":
		if s.flags&svcFSched1 != 0 {
			out = append(out, s.sched+"-fallback")
		}
		if s.flags&svcFSched2 != 0 {
			out = append(out, s.sched+"-port")
		}
	default:
		for i, bit := range []uint32{svcFSched1, svcFSched2, svcFSched3} {
			if s.flags&bit != 0 {
				out = append(out, fmt.Sprintf("flag-%d", i+1))
			}
		}
	}
	return strings.Join(out, ",")
}

// printTitle is print_title.
func (f *formatter) printTitle() {
	switch {
	case f.format&fmtStats != 0:
		f.printf("%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n",
			"Prot LocalAddress:Port", "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes")
	case f.format&fmtRate != 0:
		f.printf("%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n",
			"Prot LocalAddress:Port", "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS")
	case f.format&fmtThresholds != 0:
		f.printf("%-33s %-10s %-10s %-10s %-10s\n  -> RemoteAddress:Port\n",
			"Prot LocalAddress:Port", "Uthreshold", "Lthreshold", "ActiveConn", "InActConn")
	case f.format&fmtPersistentConn != 0:
		f.printf("%-33s %-9s %-11s %-10s %-10s\n  -> RemoteAddress:Port\n",
			"Prot LocalAddress:Port", "Weight", "PersistConn", "ActiveConn", "InActConn")
	case f.format&fmtTunInfo != 0:
		f.printf("Prot LocalAddress:Port Scheduler Flags\n" +
			"  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n")
	case f.format&fmtRule == 0:
		f.printf("Prot LocalAddress:Port Scheduler Flags\n" +
			"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n")
	}
}

func fwdName(flags uint32) string {
	return [...]string{"Masq", "Local", "Tunnel", "Route", "", "", "", ""}[flags&7]
}

func fwdSwitch(flags uint32) string {
	return [...]string{"-m", "-g", "-i", "-g", "(null)", "(null)", "(null)", "(null)"}[flags&7]
}

// tunInfo is fwd_tun_info; "" for none.
func tunInfo(d *rawDest) string {
	if d.connFlags&7 != connFTunnel {
		return ""
	}
	var s string
	switch d.tunType {
	case 0:
		s = tunNames[0]
	case 1:
		s = fmt.Sprintf("%s:%d:%s", tunNames[1], d.tunPort, tunFlagStr(tunFlagsShort, d.tunFlags))
	case 2:
		s = fmt.Sprintf("%s:%s", tunNames[2], tunFlagStr(tunFlagsShort, d.tunFlags))
	default:
		return ""
	}
	return cstr(s, 15)
}

func tunFlagStr(names []string, flags uint16) string {
	if int(flags) < len(names) {
		return names[flags]
	}
	return "(null)"
}

// serviceName is the svc_name ipvsadm builds for a service line.
func (f *formatter) serviceName(s *rawService) string {
	if s.fwmark != 0 {
		v6 := ""
		if s.af == afInet6 {
			v6 = " -6"
		}
		// ipvsadm 1.31 prints marks with %d.
		if f.format&fmtRule != 0 {
			return fmt.Sprintf("-f %d%s", int32(s.fwmark), v6)
		}
		if v6 != "" {
			v6 = " IPv6"
		}
		return fmt.Sprintf("FWM  %d%s", int32(s.fwmark), v6)
	}
	vname := f.addrportToAnyname(s.af, s.addr, s.port, s.protocol)
	if f.format&fmtRule != 0 {
		stype := map[uint16]string{protoTCP: "-t", protoUDP: "-u", protoSCTP: "--sctp-service"}[s.protocol]
		if stype == "" {
			stype = "--xxx-service"
		}
		return stype + " " + vname
	}
	stype := map[uint16]string{protoTCP: "TCP", protoUDP: "UDP", protoSCTP: "SCTP"}[s.protocol]
	if stype == "" {
		stype = "?"
	}
	name := fmt.Sprintf("%-4s %s", stype, vname)
	if s.af != afInet6 {
		name = cstr(name, 33)
	}
	return name
}

func ipv4Mask(m uint32) string {
	return fmt.Sprintf("%d.%d.%d.%d", byte(m>>24), byte(m>>16), byte(m>>8), byte(m))
}

// printServiceEntry is print_service_entry.
func (f *formatter) printServiceEntry(se *svcEntry) {
	s := &se.svc
	svcName := f.serviceName(s)
	switch {
	case f.format&fmtRule != 0:
		f.printf("-A %s -s %s", svcName, s.sched)
		if s.flags&svcFPersistent != 0 {
			f.printf(" -p %d", s.timeout)
			if s.af == afInet && s.netmask != netmaskHost {
				f.printf(" -M %s", ipv4Mask(s.netmask))
			}
			if s.af == afInet6 && s.netmask != 128 {
				f.printf(" -M %d", int32(s.netmask))
			}
		}
		if s.pe != "" {
			f.printf(" --pe %s", s.pe)
		}
		if s.flags&svcFOnePacket != 0 {
			f.printf(" -o")
		}
		if s.flags&(svcFSched1|svcFSched2|svcFSched3) != 0 {
			f.printf(" -b %s", schedFlags(s))
		}
	case f.format&fmtStats != 0:
		f.printf("%-33s", svcName)
		for _, v := range []uint64{se.stats.Conns, se.stats.InPkts, se.stats.OutPkts, se.stats.InBytes, se.stats.OutBytes} {
			f.printLargenum(v)
		}
	case f.format&fmtRate != 0:
		f.printf("%-33s", svcName)
		for _, v := range []uint64{se.stats.CPS, se.stats.InPPS, se.stats.OutPPS, se.stats.InBPS, se.stats.OutBPS} {
			f.printLargenum(v)
		}
	default:
		f.printf("%s %s", svcName, s.sched)
		if s.flags&(svcFSched1|svcFSched2|svcFSched3) != 0 {
			f.printf(" (%s)", schedFlags(s))
		}
		if s.flags&svcFPersistent != 0 {
			f.printf(" persistent %d", s.timeout)
			if s.af == afInet && s.netmask != netmaskHost {
				f.printf(" mask %s", ipv4Mask(s.netmask))
			}
			if s.af == afInet6 && s.netmask != 128 {
				f.printf(" mask %d", int32(s.netmask))
			}
			if s.pe != "" {
				f.printf(" pe %s", s.pe)
			}
		}
		if s.flags&svcFOnePacket != 0 {
			f.printf(" ops")
		}
	}
	f.printf("\n")

	dests := se.dests
	if f.format&fmtNoSort == 0 {
		dests = append([]destEntry(nil), dests...)
		mergeSort(dests, cmpDests)
	}
	for i := range dests {
		e := &dests[i]
		d := &e.dest
		dname := f.addrportToAnyname(d.af, d.addr, d.port, s.protocol)
		if f.format&fmtRule == 0 && d.af != afInet6 {
			dname = cstr(dname, 28)
		}
		switch {
		case f.format&fmtRule != 0:
			f.printf("-a %s -r %s %s -w %d", svcName, dname, fwdSwitch(d.connFlags), int32(d.weight))
			if d.connFlags&7 == connFTunnel {
				switch d.tunType {
				case 2:
					f.printf(" --tun-type %s %s", tunNames[2], tunFlagStr(tunFlagsOpts, d.tunFlags))
				case 1:
					f.printf(" --tun-type %s --tun-port %d %s", tunNames[1], d.tunPort, tunFlagStr(tunFlagsOpts, d.tunFlags))
				case 0:
					f.printf(" --tun-type %s", tunNames[0])
				}
			}
			f.printf("\n")
		case f.format&fmtStats != 0:
			f.printf("  -> %-28s", dname)
			for _, v := range []uint64{e.stats.Conns, e.stats.InPkts, e.stats.OutPkts, e.stats.InBytes, e.stats.OutBytes} {
				f.printLargenum(v)
			}
			f.printf("\n")
		case f.format&fmtRate != 0:
			f.printf("  -> %-28s %8d %8d %8d", dname, e.stats.CPS, e.stats.InPPS, e.stats.OutPPS)
			f.printLargenum(e.stats.InBPS)
			f.printLargenum(e.stats.OutBPS)
			f.printf("\n")
		case f.format&fmtThresholds != 0:
			f.printf("  -> %-28s %-10d %-10d %-10d %-10d\n", dname, uint32(d.uThresh), uint32(d.lThresh), e.active, e.inact)
		case f.format&fmtPersistentConn != 0:
			f.printf("  -> %-28s %-9d %-11d %-10d %-10d\n", dname, uint32(d.weight), e.persist, e.active, e.inact)
		case f.format&fmtTunInfo != 0:
			ti := tunInfo(d)
			if ti == "" {
				ti = "n/a"
			}
			f.printf("  -> %-28s %-7s %-13s %-6d %-10d %-10d\n", dname, fwdName(d.connFlags), ti, int32(d.weight), e.active, e.inact)
		default:
			f.printf("  -> %-28s %-7s %-6d %-10d %-10d\n", dname, fwdName(d.connFlags), int32(d.weight), e.active, e.inact)
		}
	}
}

// sortServices orders services as ipvsadm does unless --nosort.
func sortServices(svcs []svcEntry, format uint) []svcEntry {
	if format&fmtNoSort != 0 {
		return svcs
	}
	out := append([]svcEntry(nil), svcs...)
	mergeSort(out, cmpServices)
	return out
}

// listHeader is the first line of list_all.
func listHeader(info ipvs.Info) string {
	return fmt.Sprintf("IP Virtual Server version %d.%d.%d (size=%d)\n",
		info.Version.Major, info.Version.Minor, info.Version.Patch, int32(info.ConnTableSize))
}

// formatTimeout is list_timeout's line.
func formatTimeout(t ipvs.Timeouts) string {
	return fmt.Sprintf("Timeout (tcp tcpfin udp): %d %d %d\n", int32(t.TCP.Seconds()), int32(t.TCPFin.Seconds()), int32(t.UDP.Seconds()))
}

// formatDaemons is list_daemon: master first, as libipvs fills its array
// in the order the kernel dumps (master, then backup).
func formatDaemons(ds []ipvs.SyncDaemon) string {
	var b strings.Builder
	for _, d := range ds {
		var typ string
		switch {
		case d.State&ipvs.Master != 0:
			typ = "master"
		case d.State&ipvs.Backup != 0:
			typ = "backup"
		default:
			continue
		}
		fmt.Fprintf(&b, "%s sync daemon (mcast=%s, syncid=%d", typ, truncate(d.McastIfn, ifNameMaxLen-1), int32(d.SyncID))
		if d.SyncMaxLen != 0 {
			fmt.Fprintf(&b, ", maxlen=%d", d.SyncMaxLen)
		}
		if d.McastGroup.IsValid() {
			fmt.Fprintf(&b, ", group=%s", ntop(d.McastGroup))
		}
		if d.McastPort != 0 {
			fmt.Fprintf(&b, ", port=%d", d.McastPort)
		}
		if d.McastTTL != 0 {
			fmt.Fprintf(&b, ", ttl=%d", d.McastTTL)
		}
		b.WriteString(")\n")
	}
	return b.String()
}
