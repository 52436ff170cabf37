package conf

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Duration is a time span written as a Go duration ("1s", "100ms", "1m30s")
// or as a plain number of seconds like keepalived ("1", "0.1").
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	s := string(b)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f < 0 || f > math.MaxInt64/float64(time.Second) {
			return fmt.Errorf("duration %q out of range", s)
		}
		*d = Duration(math.Round(f * float64(time.Second)))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q (use e.g. 1s, 100ms, or seconds as a number)", s)
	}
	if v < 0 {
		return fmt.Errorf("negative duration %q", s)
	}
	*d = Duration(v)
	return nil
}

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalText writes the Go form ("1.5s").
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Command is a program and its arguments, run without a shell. It is
// written as a list (["/usr/local/bin/check", "--fast"]) or as one string
// split on spaces, keepalived style ("/usr/local/bin/check --fast"). The
// program gets only PATH=/usr/sbin:/usr/bin:/sbin:/bin and its own
// variables as environment, and what it leaves running in its process
// group is killed when it exits. The program, each directory on its path
// and each symbolic link followed to it must be owned by root (or by the
// user it runs as) and writable by no one else, as with keepalived's
// enable_script_security, which lbd always applies.
type Command []string

// UnmarshalText implements the one-string form.
func (c *Command) UnmarshalText(b []byte) error {
	*c = strings.Fields(string(b))
	if len(*c) == 0 {
		return fmt.Errorf("empty command")
	}
	return nil
}

// Addr is an IP address.
type Addr struct{ netip.Addr }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Addr) UnmarshalText(b []byte) error {
	v, err := netip.ParseAddr(string(b))
	if err != nil {
		return fmt.Errorf("invalid IP address %q", b)
	}
	if v.Zone() != "" {
		return fmt.Errorf("IP address %q: zones are not supported here", b)
	}
	a.Addr = v.Unmap()
	return nil
}

// Prefix is an address with an optional prefix length; without one it is
// a host address (/32, /128), as in keepalived's virtual_ipaddress.
type Prefix struct{ netip.Prefix }

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Prefix) UnmarshalText(b []byte) error {
	s := string(b)
	if !strings.Contains(s, "/") {
		var a Addr
		if err := a.UnmarshalText(b); err != nil {
			return err
		}
		p.Prefix = netip.PrefixFrom(a.Addr, a.BitLen())
		return nil
	}
	v, err := netip.ParsePrefix(s)
	if err != nil {
		return fmt.Errorf("invalid address/prefix %q", s)
	}
	p.Prefix = netip.PrefixFrom(v.Addr().Unmap(), v.Bits()) // keeps host bits: it is an address on a link
	return nil
}
