package healthcheck

import (
	"bytes"
	"crypto/md5"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"testing/iotest"
)

func TestRequestMatchesKeepalived(t *testing.T) {
	// Captured from Debian's genhash 2.2.7 against a loopback listener.
	v4 := netip.MustParseAddrPort("127.0.0.1:18081")
	v6 := netip.MustParseAddrPort("[::1]:80")
	tests := []struct {
		name  string
		proto Protocol
		vhost string
		dst   netip.AddrPort
		want  string
	}{
		{"1.0", HTTP10, "", v4, "GET /x?y=1 HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:18081\r\n\r\n"},
		{"1.0C", HTTP10C, "", v4, "GET /x?y=1 HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: 127.0.0.1:18081\r\n\r\n"},
		{"1.1", HTTP11, "", v4, "GET /x?y=1 HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: 127.0.0.1:18081\r\n\r\n"},
		{"vhost", HTTP10, "example.com:8080", v4, "GET /x?y=1 HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: example.com:8080\r\n\r\n"},
		{"ipv6", HTTP10, "", v6, "GET /x?y=1 HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: [::1]:80\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(Request("/x?y=1", tt.proto, tt.vhost, tt.dst)); got != tt.want {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestReadResponse(t *testing.T) {
	md := func(s string) [16]byte { return md5.Sum([]byte(s)) }
	tests := []struct {
		name   string
		in     string
		status int
		digest [16]byte
		err    error
	}{
		// Values checked against Debian's genhash (see cmd/genhash tests).
		{"content-length limits hash", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhello", 200, md("he"), nil},
		{"lower-case name ignored", "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhello", 200, md("hello"), nil},
		{"negative length ignored", "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nhello", 200, md("hello"), nil},
		{"chunk framing hashed", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 200, md("5\r\nhello\r\n0\r\n\r\n"), nil},
		{"empty body", "HTTP/1.0 204 No Content\r\n\r\n", 204, md(""), nil},
		{"short body accepted", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 200, md("abc"), nil},
		{"bare LF is no header end", "HTTP/1.1 200 OK\n\nhello", 0, [16]byte{}, ErrNoHeader},
		{"nothing", "", 0, [16]byte{}, ErrNoHeader},
		{"too large", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", MaxHeaderBytes), 0, [16]byte{}, ErrHeaderTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One byte per read exercises every straddled boundary.
			resp, err := ReadResponse(iotest.OneByteReader(strings.NewReader(tt.in)), nil)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if resp.StatusCode != tt.status || resp.Digest != tt.digest {
				t.Errorf("status %d digest %x, want %d %x", resp.StatusCode, resp.Digest, tt.status, tt.digest)
			}
		})
	}
}

func TestReadResponseStopsAtContentLength(t *testing.T) {
	// A keep-alive server never closes; the reader must not wait for EOF.
	r := io.MultiReader(strings.NewReader("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc"), blockingReader{})
	if _, err := ReadResponse(r, nil); err != nil {
		t.Fatal(err)
	}
}

type blockingReader struct{}

func (blockingReader) Read([]byte) (int, error) { panic("read past Content-Length") }

func TestParseStatus(t *testing.T) {
	for in, want := range map[string]struct {
		code  int
		valid bool
	}{
		"HTTP/1.1 200 OK\r\n\r\n":         {200, true},
		"HTTP/1.0 503\r\n\r\n":            {503, true},
		"HTTP/1.1 20x OK\r\n\r\n":         {20, false},
		"garbage\r\n\r\n":                 {0, false},
		"ICY 200 OK\r\n\r\n":              {200, false},
		"HTTP/1.1  200 OK\r\n\r\n":        {0, false},
		"HTTP/1.1 301 Moved\r\n\r\n":      {301, true},
		"HTTP/1.1 200 OK\r\nX: 1\r\n\r\n": {200, true},
	} {
		code, valid := parseStatus([]byte(in))
		if code != want.code || valid != want.valid {
			t.Errorf("%q: got %d %v, want %d %v", in, code, valid, want.code, want.valid)
		}
	}
}

// FuzzReadResponse checks that any byte stream, delivered in any read
// sizes, neither panics the reader nor makes it keep more than its fixed
// buffer, and that the body accounting is consistent.
func FuzzReadResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhello"), uint8(3))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), uint8(1))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n"), uint8(7))
	f.Add([]byte("\r\n\r"), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		var r io.Reader = bytes.NewReader(data)
		if step%2 == 1 {
			r = iotest.OneByteReader(r)
		} else if step%3 == 0 {
			r = iotest.HalfReader(r)
		}
		resp, err := ReadResponse(r, &Trace{Header: func(h []byte) {
			if len(h) > MaxHeaderBytes || !bytes.HasSuffix(h, headerEnd) {
				t.Fatalf("bad header slice of %d bytes", len(h))
			}
		}})
		if err != nil {
			var re *ReadError
			if !errors.As(err, &re) || re.Bytes > int64(len(data)) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if resp.BodyBytes > int64(len(data)) || (resp.ContentLength >= 0 && resp.BodyBytes > resp.ContentLength) {
			t.Fatalf("body bytes %d of %d input, content-length %d", resp.BodyBytes, len(data), resp.ContentLength)
		}
		i := bytes.Index(data, headerEnd)
		if want := md5.Sum(data[i+4 : i+4+int(resp.BodyBytes)]); want != resp.Digest {
			t.Fatalf("digest %x, want %x", resp.Digest, want)
		}
	})
}
