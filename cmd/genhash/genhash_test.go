package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lbd-project/lbd/healthcheck"
	"github.com/lbd-project/lbd/internal/lab"
)

const debianGenhash = "/usr/bin/genhash"

// testHandler serves the bodies the comparison covers.
func testHandler() http.Handler {
	large := make([]byte, 5<<20)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range large {
		large[i] = byte(rnd.Uint32())
	}
	binary := []byte{0, 1, 2, 0xff, 0xfe, '\r', '\n', '\r', '\n', 0x80}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/empty":
		case "/binary":
			w.Write(binary)
		case "/chunked":
			// Flushing before the end forces chunked encoding on HTTP/1.1.
			for i := range 5 {
				fmt.Fprintf(w, "part %d\n", i)
				w.(http.Flusher).Flush()
			}
		case "/large":
			w.Write(large)
		case "/redirect":
			http.Redirect(w, r, "/empty", http.StatusMovedPermanently)
		case "/host":
			io.WriteString(w, r.Host)
		}
	})
}

func startServers(t *testing.T) map[string]*httptest.Server {
	t.Helper()
	plain := httptest.NewServer(testHandler())
	tlsSrv := httptest.NewUnstartedServer(testHandler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	t.Cleanup(plain.Close)
	t.Cleanup(tlsSrv.Close)
	return map[string]*httptest.Server{"http": plain, "https": tlsSrv}
}

func hostPort(s *httptest.Server) (string, string) {
	ap := netip.MustParseAddrPort(s.Listener.Addr().String())
	return ap.Addr().String(), fmt.Sprint(ap.Port())
}

var responseTime = regexp.MustCompile(`(?m)^Global response time for \[.*\] = \d+ usecs\n`)

// runOurs runs our genhash in-process.
func runOurs(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"genhash"}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

func runDebian(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(debianGenhash, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), strings.ReplaceAll(errb.String(), debianGenhash, "genhash"), code
}

// TestCompareWithDebianGenhash checks that our digest (healthcheck.Fetch)
// and our genhash's stdout, stderr and exit code are identical to Debian's
// genhash for several bodies, protocols and both plain and TLS.
func TestCompareWithDebianGenhash(t *testing.T) {
	lab.RequireCommand(t, debianGenhash)
	servers := startServers(t)
	for _, scheme := range []string{"http", "https"} {
		host, port := hostPort(servers[scheme])
		for _, path := range []string{"/empty", "/binary", "/chunked", "/large", "/redirect", "/host"} {
			for _, proto := range []string{"1.0", "1.0C", "1.1"} {
				args := []string{"-s", host, "-p", port, "-u", path, "-P", proto, "-t", "10", "-V", "vhost.example"}
				if scheme == "https" {
					args = append(args, "-S")
				}
				t.Run(fmt.Sprintf("%s%s/%s", scheme, path, proto), func(t *testing.T) {
					wantOut, wantErr, wantCode := runDebian(t, args...)
					out, errOut, code := runOurs(args...)
					if out != wantOut || errOut != wantErr || code != wantCode {
						t.Fatalf("ours %q %q %d\ndebian %q %q %d", out, errOut, code, wantOut, wantErr, wantCode)
					}
					if len(wantOut) != 33 {
						t.Fatalf("debian printed no digest: %q", wantOut)
					}
					// The library the checkers use gives the same digest.
					resp := fetch(t, host, port, path, proto, scheme == "https")
					if got := fmt.Sprintf("%x\n", resp.Digest); got != wantOut {
						t.Fatalf("Fetch digest %s, genhash %s", got, wantOut)
					}
				})
			}
		}
	}
}

func fetch(t *testing.T, host, port, path, proto string, ssl bool) healthcheck.Response {
	t.Helper()
	p, _ := healthcheck.ParseProtocol(proto)
	req := healthcheck.FetchRequest{
		Dest:     healthcheck.Dest{Addr: netip.MustParseAddrPort(net.JoinHostPort(host, port))},
		Path:     path,
		Protocol: p, VirtualHost: "vhost.example",
	}
	if ssl {
		req.TLS = &tls.Config{InsecureSkipVerify: true}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := healthcheck.Fetch(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestCompareRawReplies compares both implementations on hand-made replies
// that exercise keepalived's parsing quirks, in verbose mode too.
func TestCompareRawReplies(t *testing.T) {
	lab.RequireCommand(t, debianGenhash)
	replies := []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhello",
		"HTTP/1.1 404 Not Found\r\n\r\nmissing",
		"HTTP/1.1 200 OK\r\nX: \x01\x80\xff\r\n\r\n0123456789abcdefghijklmnopqrstuvwxyz\x00\x01\x7f\x80\xffEND",
		"HTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\n\nhello",
		"HTTP/1.1 200 OK\r\n",
		"",
		"garbage\r\n\r\nx",
	}
	for i, reply := range replies {
		addr := oneShotServer(t, reply)
		for _, verbose := range []bool{false, true} {
			args := []string{"-s", addr.Addr().String(), "-p", fmt.Sprint(addr.Port()), "-u", "/", "-t", "5"}
			if verbose {
				args = append(args, "-v")
			}
			wantOut, wantErr, wantCode := runDebian(t, args...)
			out, errOut, code := runOurs(args...)
			wantOut = responseTime.ReplaceAllString(wantOut, "")
			out = responseTime.ReplaceAllString(out, "")
			if out != wantOut || errOut != wantErr || code != wantCode {
				t.Errorf("reply %d verbose=%v:\nours   %q %q %d\ndebian %q %q %d", i, verbose, out, errOut, code, wantOut, wantErr, wantCode)
			}
		}
	}
}

// oneShotServer answers every connection with reply after reading the
// request, then closes.
func oneShotServer(t *testing.T, reply string) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 0, 4096)
			for !bytes.Contains(buf, []byte("\r\n\r\n")) && len(buf) < cap(buf) {
				n, err := c.Read(buf[len(buf):cap(buf)])
				buf = buf[:len(buf)+n]
				if err != nil {
					break
				}
			}
			c.Write([]byte(reply))
			c.Close()
		}
	})
	return netip.MustParseAddrPort(ln.Addr().String())
}

// TestCompareErrors compares command-line errors and connection failures.
func TestCompareErrors(t *testing.T) {
	lab.RequireCommand(t, debianGenhash)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	hang := hangServer(t)
	// -h and --help are left out: they print the manual on stdout and exit
	// 0 (TestHelp), where keepalived's genhash prints its usage on stderr
	// and exits 1.
	for _, a := range []string{
		"", "-s 127.0.0.1 -p 1", "-s localhost -p 1 -u /", "-s 127.0.0.1 -p 0 -u /",
		"-s 127.0.0.1 -p 1 -u / -P 2.0", "-s 127.0.0.1 -p 1 -u / -t x", "-s 127.0.0.1 -p 1 -u / a b",
		"-s 127.0.0.1 -p 1 -u / -x", "-s 127.0.0.1 -p 1 -u / -s", "-s 127.0.0.1 -p 1 -u / --bogus",
		"-s 127.0.0.1 -p 1 -u / -m x",
		"-s 127.0.0.1 -p " + closed + " -u /", "-s ::1 -p " + closed + " -u /",
		"--server=127.0.0.1 --port " + closed + " --url=/ -t 1",
		"-s 127.0.0.1 -p " + hang + " -u / -t 1",
		"-s 127.0.0.1 -p " + hang + " -u / -t 1 -S",
	} {
		args := strings.Fields(a)
		wantOut, wantErr, wantCode := runDebian(t, args...)
		out, errOut, code := runOurs(args...)
		wantOut = responseTime.ReplaceAllString(wantOut, "")
		out = responseTime.ReplaceAllString(out, "")
		if out != wantOut || errOut != wantErr || code != wantCode {
			t.Errorf("%q:\nours   %q %q %d\ndebian %q %q %d", a, out, errOut, code, wantOut, wantErr, wantCode)
		}
	}
}

// hangServer accepts connections and never answers.
func hangServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lab.Serve(t, ln, nil)
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

func TestDigestOfLargeBodyIsMD5(t *testing.T) {
	// Sanity: for a Content-Length body the digest is the body's MD5.
	srv := httptest.NewServer(testHandler())
	defer srv.Close()
	host, port := hostPort(srv)
	resp := fetch(t, host, port, "/binary", "1.0", false)
	if resp.Digest != md5.Sum([]byte{0, 1, 2, 0xff, 0xfe, '\r', '\n', '\r', '\n', 0x80}) {
		t.Fatal("digest is not the body MD5")
	}
}
