package lb

import (
	"cmp"
	"fmt"
	"net/netip"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/healthcheck"
)

// CheckSpec is what a checker is built from: the effective check of one
// real server and the address it probes.
type CheckSpec struct {
	Check *conf.Check
	// Target is the address and port to probe (connect_ip/connect_port
	// applied).
	Target netip.AddrPort
	// VirtualServer and RealServer name what the check is for (the
	// virtual server's name and the real server's address:port), for
	// metrics and logs.
	VirtualServer, RealServer string
	// ScriptUser runs a MISC program that names no user (global
	// script_user); "": lbd's own user.
	ScriptUser string
}

// CheckerFactory builds the checker of a CheckSpec. Tests wrap the default
// one, for example to probe from inside a network namespace.
type CheckerFactory func(CheckSpec) (healthcheck.Checker, error)

// NewCheckerFactory returns the standard factory; PING checks share
// pinger.
func NewCheckerFactory(pinger *healthcheck.Pinger) CheckerFactory {
	return func(s CheckSpec) (healthcheck.Checker, error) {
		c := s.Check
		dest := healthcheck.Dest{Addr: s.Target, BindPort: c.BindPort, FWMark: c.FWMark}
		if c.BindTo != nil {
			dest.BindTo = c.BindTo.Addr
		}
		switch c.Type {
		case "TCP":
			return &healthcheck.TCPChecker{Dest: dest}, nil
		case "HTTP_GET", "SSL_GET":
			proto, err := healthcheck.ParseProtocol(c.HTTPProtocol)
			if err != nil {
				return nil, err
			}
			hc := &healthcheck.HTTPChecker{Dest: dest, Protocol: proto, VirtualHost: c.VirtualHost,
				SSL: c.Type == "SSL_GET", EnableSNI: c.EnableSNI, Verify: c.Verify, ServerName: c.ServerName}
			if c.CAFile != "" {
				if hc.RootCAs, err = healthcheck.LoadCAFile(c.CAFile); err != nil {
					return nil, err
				}
			}
			for _, u := range c.URLs {
				url := healthcheck.URL{Path: u.Path, VirtualHost: u.VirtualHost}
				for _, r := range u.StatusCode {
					url.StatusCodes = append(url.StatusCodes, r.StatusRange)
				}
				if u.Digest != "" {
					if url.Digest, err = healthcheck.ParseDigest(u.Digest); err != nil {
						return nil, err
					}
				}
				hc.URLs = append(hc.URLs, url)
			}
			return hc, nil
		case "MISC":
			return healthcheck.NewMiscChecker(healthcheck.MiscOptions{Args: c.MiscPath, Dynamic: c.MiscDynamic, User: cmp.Or(c.User, s.ScriptUser)})
		case "PING":
			return &healthcheck.ICMPChecker{Pinger: pinger, Addr: s.Target.Addr()}, nil
		case "FILE":
			return &healthcheck.FileChecker{Path: c.TrackFile, Weight: c.Weight, Reverse: c.Reverse, Dynamic: c.Dynamic}, nil
		case "UDP":
			uc := &healthcheck.UDPChecker{Dest: dest, RequireReply: c.RequireReply || c.Reply != "",
				MinReplyLength: c.MinReplyLength, MaxReplyLength: c.MaxReplyLength}
			var err error
			if c.Payload != "" {
				if uc.Payload, _, err = healthcheck.ParseHex(c.Payload, false); err != nil {
					return nil, err
				}
			}
			if c.Reply != "" {
				if uc.Reply, uc.ReplyMask, err = healthcheck.ParseHex(c.Reply, true); err != nil {
					return nil, err
				}
			}
			return uc, nil
		case "DNS":
			dc := &healthcheck.DNSChecker{Dest: dest, Name: c.QueryName}
			if c.QueryType != "" {
				t, err := healthcheck.ParseDNSType(c.QueryType)
				if err != nil {
					return nil, err
				}
				dc.Type = t
			}
			return dc, nil
		case "SMTP":
			return &healthcheck.SMTPChecker{Dest: dest, HeloName: c.HeloName}, nil
		}
		return nil, fmt.Errorf("lb: unsupported check type %q", c.Type)
	}
}

// checkOptions maps a check's keepalived options to the runner's.
func checkOptions(c *conf.Check, alpha bool) healthcheck.Options {
	timeout := c.ConnectTimeout.D()
	if c.Type == "MISC" {
		timeout = c.MiscTimeout.D()
	}
	return healthcheck.Options{
		DelayLoop:        c.DelayLoop.D(),
		Timeout:          timeout,
		Retry:            *c.Retry,
		DelayBeforeRetry: c.DelayBeforeRetry.D(),
		Warmup:           c.Warmup.D(),
		Rise:             c.Rise,
		Fall:             c.Fall,
		Alpha:            alpha,
	}
}
