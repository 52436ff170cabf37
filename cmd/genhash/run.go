package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/lbd-project/lbd/healthcheck"
	"github.com/lbd-project/lbd/internal/version"
)

// run is genhash: it parses args (args[0] is the program name), fetches the
// page and prints its digest. Like keepalived's genhash it exits 1 only for
// a bad command line; a failed fetch prints keepalived's message and exits 0.
// -h and --help print the manual on stdout and exit 0, --version lbd's
// version. The program is named by its file name (Debian's package ships
// it as lbd-genhash, beside keepalived's genhash): usage and manual say
// that name.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	prog := "genhash"
	if len(args) > 0 {
		prog, args = args[0], args[1:]
	}
	o, err := parseArgs(args)
	switch {
	case errors.Is(err, errHelp):
		io.WriteString(stdout, manualFor(filepath.Base(prog)))
		return 0
	case errors.Is(err, errVersion):
		fmt.Fprintf(stdout, "%s (lbd %s)\n", filepath.Base(prog), version.Version)
		return 0
	}
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(stderr, err)
		}
		usage(stderr, prog)
		return 1
	}

	start := time.Now()
	req := healthcheck.FetchRequest{
		Dest:        healthcheck.Dest{Addr: netip.AddrPortFrom(o.server, o.port), FWMark: o.fwmark},
		Path:        o.url,
		Protocol:    o.proto,
		VirtualHost: o.vhost,
		IdleTimeout: o.timeout,
	}
	if o.ssl {
		// keepalived's genhash does not verify the server certificate: the
		// point is to hash what the checker will see.
		req.TLS = &tls.Config{InsecureSkipVerify: true}
		if o.sni && o.vhost != "" {
			req.TLS.ServerName = o.vhost
		}
	}
	d := &dumper{w: stdout}
	if o.verbose {
		req.Trace = d.trace()
	}
	resp, err := healthcheck.Fetch(ctx, req)
	report(stdout, stderr, d, o.verbose, resp, err)
	if o.verbose {
		fmt.Fprintf(stdout, "\nGlobal response time for [%s] = %d usecs\n", o.url, time.Since(start).Microseconds())
	}
	return 0
}

// report prints the outcome of the fetch with keepalived's wording.
func report(stdout, stderr io.Writer, d *dumper, verbose bool, resp healthcheck.Response, err error) {
	var re *healthcheck.ReadError
	switch {
	case err == nil:
		if verbose {
			d.digest(resp.Digest[:])
		}
		fmt.Fprintf(stdout, "%x\n", resp.Digest)
	case errors.As(err, &re) && errors.Is(err, healthcheck.ErrNoHeader):
		if verbose {
			if re.Bytes > 0 {
				d.headerTitle()
			}
			d.emptyDigest()
		}
		fmt.Fprintln(stderr, "no data received from remote webserver")
	default:
		fmt.Fprintln(stdout, message(err))
	}
}

// message maps a fetch error to keepalived's genhash message.
func message(err error) string {
	var se *healthcheck.StepError
	var re *healthcheck.ReadError
	timeout := isTimeout(err)
	switch {
	case errors.As(err, &se) && se.Step == "connect":
		if timeout {
			return "Timeout connecting"
		}
		return "Connection failed"
	case errors.As(err, &se) && se.Step == "tls handshake":
		if timeout {
			return "Timeout connecting"
		}
		return "SSL handshake/communication error connecting to"
	case errors.As(err, &se):
		return "Cannot send get request to"
	case errors.As(err, &re) && timeout && re.Bytes == 0:
		return "Timeout WEB read"
	case errors.As(err, &re) && timeout:
		return "Timeout HTTP read"
	}
	return "Read error with"
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &t) && t.Timeout())
}
