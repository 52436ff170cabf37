package healthcheck

import (
	"cmp"
	"context"
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// URL is one url block of keepalived's HTTP_GET / SSL_GET.
type URL struct {
	// Path is the request target, e.g. "/health?full=1".
	Path string
	// Digest, if non-nil, is the MD5 the body must hash to (see Fetch and
	// the genhash command).
	Digest *[md5.Size]byte
	// StatusCodes accepted; empty means 200-299.
	StatusCodes StatusRanges
	// VirtualHost overrides the checker's VirtualHost for this URL.
	VirtualHost string
}

// ParseDigest parses a 32-hex-digit MD5 digest as written by genhash.
func ParseDigest(s string) (*[md5.Size]byte, error) {
	var d [md5.Size]byte
	if len(s) != 2*md5.Size {
		return nil, fmt.Errorf("healthcheck: digest %q should be %d hex digits", s, 2*md5.Size)
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return nil, fmt.Errorf("healthcheck: digest %q: %w", s, err)
	}
	return &d, nil
}

// HTTPChecker is keepalived's HTTP_GET, or SSL_GET when SSL is set. Every
// URL is fetched on its own connection, in order, and all must pass. The
// context deadline (connect_timeout) bounds the whole check.
//
// Differences from keepalived, on purpose:
//   - keepalived applies connect_timeout to each read, so a server that
//     trickles one byte per second never fails (keepalived issue #1822);
//     lbd bounds the whole exchange by the deadline.
//   - keepalived reads an HTTP/1.0 keep-alive reply until the server closes
//     it; lbd stops after Content-Length bytes. The digest is identical.
//   - Redirects are never followed, as in keepalived: a 301 is judged by
//     its own status code and body.
type HTTPChecker struct {
	Dest     Dest
	URLs     []URL
	Protocol Protocol
	// VirtualHost is the Host header for URLs that set none; empty means
	// "address:port" of the connection.
	VirtualHost string

	// SSL selects SSL_GET.
	SSL bool
	// EnableSNI sends the virtual host as TLS server name (enable_sni).
	EnableSNI bool
	// Verify turns certificate verification on, against RootCAs (nil: the
	// system's roots), for ServerName. Off is keepalived's behaviour.
	Verify  bool
	RootCAs *x509.CertPool
	// ServerName is the name verified and sent as TLS server name; empty
	// means the virtual host (sent only with EnableSNI), or the connected
	// address when there is none.
	ServerName string
	// Certificates are client certificates offered to the server
	// (keepalived SSL { certificate key }).
	Certificates []tls.Certificate
}

// Check implements Checker.
func (c *HTTPChecker) Check(ctx context.Context) Result {
	// No socket pool: the caller's thread may be in another network
	// namespace than a Runner's pooled sockets.
	return c.checkPooled(ctx, nil)
}

// checkPooled implements pooledChecker: HTTP_GET takes its sockets from
// the Runner's pool and returns them after a complete response (SSL_GET
// closes its connections).
func (c *HTTPChecker) checkPooled(ctx context.Context, sockets *socketPool) Result {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	start := time.Now()
	if len(c.URLs) == 0 {
		return fail(start, "no url configured")
	}
	var last string
	for _, u := range c.URLs {
		reason := c.checkURL(ctx, u, sockets)
		if reason != "" {
			return fail(start, u.Path+": "+reason)
		}
		last = u.Path
	}
	if len(c.URLs) == 1 {
		return pass(start, "ok")
	}
	return pass(start, fmt.Sprintf("ok (%d urls, last %s)", len(c.URLs), last))
}

// checkURL fetches one URL and returns "" when it passes, else the reason.
func (c *HTTPChecker) checkURL(ctx context.Context, u URL, sockets *socketPool) string {
	vhost := u.VirtualHost
	if vhost == "" {
		vhost = c.VirtualHost
	}
	req := FetchRequest{Dest: c.Dest, Path: u.Path, Protocol: c.Protocol, VirtualHost: vhost}
	if c.SSL {
		req.TLS = c.tlsConfig(vhost)
	} else {
		req.sockets = sockets
	}
	resp, err := Fetch(ctx, req)
	if err != nil {
		return fetchReason(err)
	}
	if !resp.ValidStatusLine {
		return "invalid HTTP status line"
	}
	if !u.StatusCodes.Contains(resp.StatusCode) {
		return fmt.Sprintf("status %d not in %s", resp.StatusCode, u.StatusCodes)
	}
	if u.Digest != nil && resp.Digest != *u.Digest {
		return fmt.Sprintf("digest mismatch: got %x want %x", resp.Digest, *u.Digest)
	}
	return ""
}

// tlsConfig builds the client TLS settings for one fetch. Verification, when
// asked for, is done by hand in VerifyConnection so that the name checked
// can be the virtual host even when SNI is off (Go ties both to ServerName).
func (c *HTTPChecker) tlsConfig(vhost string) *tls.Config {
	cfg := &tls.Config{
		InsecureSkipVerify: true, // verified below when Verify is set
		Certificates:       c.Certificates,
	}
	if c.EnableSNI && vhost != "" {
		cfg.ServerName = hostOnly(vhost)
	}
	if c.ServerName != "" {
		cfg.ServerName = c.ServerName
	}
	if c.Verify {
		name := c.Dest.Target().Addr().String()
		if vhost != "" {
			name = hostOnly(vhost)
		}
		name = cmp.Or(c.ServerName, name)
		roots := c.RootCAs
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("no server certificate")
			}
			inter := x509.NewCertPool()
			for _, ic := range cs.PeerCertificates[1:] {
				inter.AddCert(ic)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
				DNSName: name, Roots: roots, Intermediates: inter,
			})
			return err
		}
	}
	return cfg
}

// LoadCAFile reads a PEM file of CA certificates, for HTTPChecker.RootCAs.
func LoadCAFile(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CA certificates: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}

// hostOnly strips a ":port" suffix and IPv6 brackets from a virtual host.
func hostOnly(vhost string) string {
	if h, _, err := net.SplitHostPort(vhost); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(vhost, "["), "]")
}

// String implements Checker.
func (c *HTTPChecker) String() string {
	kind := "HTTP_GET"
	if c.SSL {
		kind = "SSL_GET"
	}
	path := ""
	if len(c.URLs) > 0 {
		path = c.URLs[0].Path
	}
	return kind + " " + c.Dest.Target().String() + path
}
