package ipvsadm

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// ConnFile is where the kernel lists IPVS connections (both families).
const ConnFile = "/proc/net/ip_vs_conn"

// Conn is one line of /proc/net/ip_vs_conn.
type Conn struct {
	Protocol string     `json:"protocol"`
	Client   netip.Addr `json:"client_address"`
	CPort    uint16     `json:"client_port"`
	Virtual  netip.Addr `json:"virtual_address"`
	VPort    uint16     `json:"virtual_port"`
	Dest     netip.Addr `json:"destination_address"`
	DPort    uint16     `json:"destination_port"`
	State    string     `json:"state"`
	// Expires is the remaining lifetime in seconds.
	Expires int32  `json:"expires"`
	PEName  string `json:"pe_name,omitempty"`
	PEData  string `json:"pe_data,omitempty"`
	fields  int
}

// scanHex is sscanf's %hX: optional white space, sign and 0x, hex digits,
// truncated to 16 bits.
func scanHex(s string) (uint16, bool) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && isHex(s[2]) {
		s = s[2:]
	}
	var v uint64
	n := 0
	for n < len(s) && isHex(s[n]) {
		d, _ := strconv.ParseUint(s[n:n+1], 16, 8)
		v = v*16 + d
		n++
	}
	if n == 0 {
		return 0, false
	}
	if neg {
		v = -v
	}
	return uint16(v), true
}

// strtoulHex is strtoul(s, NULL, 16) truncated to 32 bits, for the hex
// addresses of IPv4 connections.
func strtoulHex(s string) uint32 {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	var v uint32
	for i := 0; i < len(s) && isHex(s[i]); i++ {
		d, _ := strconv.ParseUint(s[i:i+1], 16, 8)
		v = v<<4 | uint32(d)
	}
	return v
}

// parseConnAddr reads an address field: IPv6 text, dotted IPv4, or the
// kernel's hex IPv4.
func parseConnAddr(s string) netip.Addr {
	if a, ok := inetPton6(s); ok {
		return a
	}
	if a, ok := inetPton4(s); ok {
		return a
	}
	v := strtoulHex(s)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// parseConn parses one line as ipvsadm's print_conn does with sscanf. ok
// is false for an empty line (sscanf returns EOF, ipvsadm exits 1).
func parseConn(line string) (Conn, bool) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return Conn{}, false
	}
	var c Conn
	// sscanf stops at the first field that does not convert; later
	// fields keep their zero values.
	get := func(i int) (string, bool) {
		if i < len(f) {
			return f[i], true
		}
		return "", false
	}
	n := 0
	step := func(i int, conv func(string) bool) bool {
		s, ok := get(i)
		if !ok || !conv(s) {
			return false
		}
		n++
		return true
	}
	var t1, t2, t3 string
	_ = step(0, func(s string) bool { c.Protocol = s; return true }) &&
		step(1, func(s string) bool { t1 = s; return true }) &&
		step(2, func(s string) bool { v, ok := scanHex(s); c.CPort = v; return ok }) &&
		step(3, func(s string) bool { t2 = s; return true }) &&
		step(4, func(s string) bool { v, ok := scanHex(s); c.VPort = v; return ok }) &&
		step(5, func(s string) bool { t3 = s; return true }) &&
		step(6, func(s string) bool { v, ok := scanHex(s); c.DPort = v; return ok }) &&
		step(7, func(s string) bool { c.State = s; return true }) &&
		step(8, func(s string) bool {
			v, _, _ := strtol(leadingInt(s))
			c.Expires = int32(v)
			return leadingInt(s) != ""
		}) &&
		step(9, func(s string) bool { c.PEName = s; return true }) &&
		step(10, func(s string) bool { c.PEData = s; return true })
	c.fields = n
	if a, ok := inetPton6(t1); ok {
		c.Client = a
		c.Virtual, _ = inetPton6(t2)
	} else {
		c.Client, c.Virtual = parseConnAddr(t1), parseConnAddr(t2)
	}
	c.Dest = parseConnAddr(t3)
	return c, true
}

// leadingInt is the prefix of s that %d converts.
func leadingInt(s string) string {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i {
		return ""
	}
	return s[:j]
}

func connProto(p string) uint16 {
	switch p {
	case "TCP":
		return protoTCP
	case "UDP":
		return protoUDP
	case "SCTP":
		return protoSCTP
	}
	return 0
}

var errNoHeader = errors.New("ipvsctl: connection table without header")

// ReadConns reads a connection table in the kernel's format, skipping its
// header line.
func ReadConns(r io.Reader) ([]Conn, error) {
	br := bufio.NewReader(r)
	if _, err := br.ReadString('\n'); err != nil {
		if err == io.EOF {
			return nil, errNoHeader
		}
		return nil, err
	}
	var out []Conn
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			if c, ok := parseConn(line); ok {
				out = append(out, c)
			}
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// printConn is print_conn.
func (f *formatter) printConn(c Conn) {
	proto := connProto(c.Protocol)
	af := func(a netip.Addr) int {
		if a.Is6() {
			return afInet6
		}
		return afInet
	}
	cname := f.addrportToAnyname(af(c.Client), addrRaw(c.Client), c.CPort, proto)
	vname := f.addrportToAnyname(af(c.Client), addrRaw(c.Virtual), c.VPort, proto)
	dname := f.addrportToAnyname(af(c.Dest), addrRaw(c.Dest), c.DPort, proto)
	exp := uint32(c.Expires)
	expire := fmt.Sprintf("%02d:%02d", int32(exp/60), int32(exp%60))
	if f.format&fmtPersistentConn != 0 && c.fields == 11 {
		f.printf("%-3s %-6s %-11s %-18s %-18s %-16s %-18s %s\n", c.Protocol, expire, c.State, cname, vname, dname, c.PEName, c.PEData)
	} else {
		f.printf("%-3s %-6s %-11s %-18s %-18s %s\n", c.Protocol, expire, c.State, cname, vname, dname)
	}
}

// connTitle is list_conn's header.
func (f *formatter) connTitle() {
	f.printf("IPVS connection entries\n")
	if f.format&fmtPersistentConn != 0 {
		f.printf("pro expire %-11s %-18s %-18s %-18s %-16s %s\n", "state", "source", "virtual", "destination", "pe name", "pe_data")
	} else {
		f.printf("pro expire %-11s %-18s %-18s %s\n", "state", "source", "virtual", "destination")
	}
}
