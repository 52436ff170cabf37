package healthcheck

import (
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"
)

func httpDest(t *testing.T, rawURL string) Dest {
	t.Helper()
	hostport := strings.TrimPrefix(strings.TrimPrefix(rawURL, "http://"), "https://")
	return Dest{Addr: netip.MustParseAddrPort(hostport)}
}

func TestHTTPChecker(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			io.WriteString(w, "hello\n")
		case "/down":
			w.WriteHeader(503)
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/host":
			io.WriteString(w, r.Host)
		}
	}))
	t.Cleanup(srv.Close)
	dest := httpDest(t, srv.URL)
	hello := md5.Sum([]byte("hello\n"))
	wrong := [16]byte{1}
	tests := []struct {
		name   string
		url    URL
		vhost  string
		ok     bool
		reason string
	}{
		{"2xx", URL{Path: "/ok"}, "", true, "ok"},
		{"digest", URL{Path: "/ok", Digest: &hello}, "", true, "ok"},
		{"digest mismatch", URL{Path: "/ok", Digest: &wrong}, "", false,
			fmt.Sprintf("/ok: digest mismatch: got %x want %x", hello, wrong)},
		{"503", URL{Path: "/down"}, "", false, "/down: status 503 not in 200-299"},
		{"503 accepted", URL{Path: "/down", StatusCodes: StatusRanges{{200, 299}, {503, 503}}}, "", true, "ok"},
		{"redirect not followed", URL{Path: "/redirect"}, "", false, "/redirect: status 302 not in 200-299"},
		{"redirect accepted", URL{Path: "/redirect", StatusCodes: StatusRanges{{300, 399}}}, "", true, "ok"},
		{"vhost", URL{Path: "/host", Digest: digestOf("example.org")}, "example.org", true, "ok"},
		{"default host", URL{Path: "/host", Digest: digestOf(dest.Addr.String())}, "", true, "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &HTTPChecker{Dest: dest, URLs: []URL{tt.url}, VirtualHost: tt.vhost}
			r := c.Check(ctxTimeout(t, 5*time.Second))
			if r.OK != tt.ok || r.Reason != tt.reason {
				t.Errorf("got %v %q, want %v %q", r.OK, r.Reason, tt.ok, tt.reason)
			}
		})
	}
}

func digestOf(s string) *[16]byte { d := md5.Sum([]byte(s)); return &d }

func TestSSLChecker(t *testing.T) {
	var sni string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "secure")
	}))
	srv.TLS = &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		sni = h.ServerName
		return nil, nil
	}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	dest := httpDest(t, srv.URL)
	url := URL{Path: "/", Digest: digestOf("secure")}

	c := &HTTPChecker{Dest: dest, URLs: []URL{url}, SSL: true, VirtualHost: "example.com", EnableSNI: true}
	if r := c.Check(ctxTimeout(t, 5*time.Second)); !r.OK || sni != "example.com" {
		t.Fatalf("SNI check: %+v, server saw SNI %q", r, sni)
	}

	// httptest's certificate is for example.com and 127.0.0.1.
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	c = &HTTPChecker{Dest: dest, URLs: []URL{url}, SSL: true, Verify: true, RootCAs: pool}
	if r := c.Check(ctxTimeout(t, 5*time.Second)); !r.OK {
		t.Fatalf("verified by IP: %+v", r)
	}
	c.VirtualHost = "wrong.invalid"
	if r := c.Check(ctxTimeout(t, 5*time.Second)); r.OK || !strings.Contains(r.Reason, "tls handshake") {
		t.Fatalf("wrong name must fail the handshake: %+v", r)
	}
	c = &HTTPChecker{Dest: dest, URLs: []URL{url}, SSL: true, Verify: true, RootCAs: x509.NewCertPool()}
	if r := c.Check(ctxTimeout(t, 5*time.Second)); r.OK {
		t.Fatalf("unknown CA must fail: %+v", r)
	}
	// Plain HTTP_GET against a TLS port: the server answers 400 in clear.
	c = &HTTPChecker{Dest: dest, URLs: []URL{url}}
	if r := c.Check(ctxTimeout(t, 5*time.Second)); r.OK {
		t.Fatalf("HTTP to TLS port must fail: %+v", r)
	}
}

// TestHTTPHostileServers checks that each misbehaving server is marked
// down by the deadline with a reason naming the step.
func TestHTTPHostileServers(t *testing.T) {
	const timeout = 300 * time.Millisecond
	tests := []struct {
		name   string
		handle func(net.Conn)
		reason string
	}{
		{"accepts and hangs", func(c net.Conn) { io.Copy(io.Discard, c) }, "/: read header: timeout after 0 bytes"},
		{"resets", func(c net.Conn) {
			readRequest(c)
			c.(*net.TCPConn).SetLinger(0)
		}, "/: read header: connection reset by peer after 0 bytes"},
		{"trickles header", func(c net.Conn) {
			readRequest(c)
			for i := 0; i < 100; i++ {
				if _, err := c.Write([]byte("X")); err != nil {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}, "/: read header: timeout after "},
		{"endless header", func(c net.Conn) {
			readRequest(c)
			c.Write([]byte("HTTP/1.1 200 OK\r\n"))
			line := []byte("X-Filler: " + strings.Repeat("a", 1000) + "\r\n")
			for {
				if _, err := c.Write(line); err != nil {
					return
				}
			}
		}, "/: read header: header larger than 64 KiB after 65536 bytes"},
		{"gigantic body", func(c net.Conn) {
			readRequest(c)
			c.Write([]byte("HTTP/1.1 200 OK\r\n\r\n"))
			chunk := make([]byte, 64<<10)
			for {
				if _, err := c.Write(chunk); err != nil {
					return
				}
			}
		}, "/: read body: timeout after "},
		{"bad HTTP", func(c net.Conn) {
			readRequest(c)
			c.Write([]byte("SSH-2.0-OpenSSH\r\n\r\n"))
		}, "/: invalid HTTP status line"},
		{"closes early", func(c net.Conn) {
			readRequest(c)
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-"))
		}, "/: read header: no complete header after 25 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := rawServer(t, "tcp", "127.0.0.1:0", tt.handle)
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			c := &HTTPChecker{Dest: Dest{Addr: addr}, URLs: []URL{{Path: "/", Digest: &[16]byte{}}}}
			start := time.Now()
			r := c.Check(ctxTimeout(t, timeout))
			if el := time.Since(start); el > timeout+time.Second {
				t.Errorf("took %v, deadline %v", el, timeout)
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			// Whatever the server sends, the reader allocates a fixed amount.
			if grown := after.TotalAlloc - before.TotalAlloc; grown > 4<<20 {
				t.Errorf("allocated %d bytes during the check", grown)
			}
			if r.OK || !strings.HasPrefix(r.Reason, tt.reason) {
				t.Errorf("got %v %q, want reason starting %q", r.OK, r.Reason, tt.reason)
			}
		})
	}
}

func TestHTTPCheckerIPv6(t *testing.T) {
	addr := rawServer(t, "tcp6", "[::1]:0", func(c net.Conn) {
		readRequest(c)
		c.Write([]byte("HTTP/1.0 200 OK\r\n\r\nv6"))
	})
	c := &HTTPChecker{Dest: Dest{Addr: addr}, URLs: []URL{{Path: "/", Digest: digestOf("v6")}}}
	if r := c.Check(ctxTimeout(t, 2*time.Second)); !r.OK {
		t.Fatal(r)
	}
}

func TestTCPChecker(t *testing.T) {
	addr := rawServer(t, "tcp", "127.0.0.1:0", func(c net.Conn) {})
	if r := (&TCPChecker{Dest: Dest{Addr: addr}}).Check(ctxTimeout(t, time.Second)); !r.OK {
		t.Fatal(r)
	}
	// connect_port override to a closed port.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := uint16(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	c := &TCPChecker{Dest: Dest{Addr: addr, ConnectPort: closed, BindTo: netip.MustParseAddr("127.0.0.1")}}
	r := c.Check(ctxTimeout(t, time.Second))
	if r.OK || r.Reason != "connect: connection refused" {
		t.Fatalf("got %+v", r)
	}
}
