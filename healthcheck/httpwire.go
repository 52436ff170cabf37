package healthcheck

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync"
)

// This file holds the HTTP/1.x wire format of keepalived's HTTP_GET,
// SSL_GET and genhash. It is written by hand rather than with net/http for
// one reason: keepalived hashes the raw bytes that follow the header block,
// so a chunked reply is hashed with its chunk framing, and net/http would
// decode it. It also keeps memory fixed: the header lives in one pooled
// buffer and the body is streamed into MD5.

// MaxHeaderBytes bounds the response header block. keepalived gives up
// when the header does not fit its 4 KiB read buffer; lbd allows more (real
// servers send long cookies) but still a fixed amount.
const MaxHeaderBytes = 64 << 10

// Protocol is keepalived's http_protocol: the request line version and
// whether "Connection: close" is sent.
type Protocol int

const (
	// HTTP10 sends "GET path HTTP/1.0" without a Connection header; it is
	// keepalived's default.
	HTTP10 Protocol = iota
	// HTTP10C is HTTP/1.0 with "Connection: close" (keepalived "1.0C").
	HTTP10C
	// HTTP11 is HTTP/1.1 with "Connection: close".
	HTTP11
)

// ParseProtocol parses keepalived's spellings "1.0", "1.0C" (or "1.0c") and
// "1.1".
func ParseProtocol(s string) (Protocol, error) {
	switch s {
	case "1.0":
		return HTTP10, nil
	case "1.0C", "1.0c":
		return HTTP10C, nil
	case "1.1":
		return HTTP11, nil
	}
	return 0, fmt.Errorf("healthcheck: invalid HTTP protocol version %q", s)
}

// String returns the keepalived spelling of p.
func (p Protocol) String() string {
	switch p {
	case HTTP10C:
		return "1.0C"
	case HTTP11:
		return "1.1"
	}
	return "1.0"
}

// Request returns the request keepalived sends for path, byte for byte.
// The Host header is vhost when set (without a port, as keepalived does),
// otherwise the connected address and port, IPv6 in brackets.
func Request(path string, p Protocol, vhost string, dst netip.AddrPort) []byte {
	// Built with append rather than fmt: it runs for every HTTP check.
	b := make([]byte, 0, 96+len(path)+len(vhost))
	minor := byte('0')
	if p == HTTP11 {
		minor = '1'
	}
	b = append(b, "GET "...)
	b = append(b, path...)
	b = append(b, " HTTP/1."...)
	b = append(b, minor)
	b = append(b, "\r\nUser-Agent: KeepAliveClient\r\n"...)
	if p != HTTP10 {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "Host: "...)
	if vhost != "" {
		b = append(b, vhost...)
	} else {
		b = dst.AppendTo(b) // brackets IPv6
	}
	return append(b, "\r\n\r\n"...)
}

// Response is what ReadResponse learnt from a reply.
type Response struct {
	// StatusCode is read as keepalived does: the second space-separated
	// token of the first line, converted like C atoi (0 when not a number).
	StatusCode int
	// ValidStatusLine reports whether the first line looked like
	// "HTTP/x.y NNN ...". keepalived does not check; checkers use it to
	// give a clearer reason than "status 0".
	ValidStatusLine bool
	// ContentLength is the value of the first "Content-Length:" header, or
	// -1. Like keepalived the name is matched case-sensitively, because that
	// decides what is hashed and the digest must equal genhash's.
	ContentLength int64
	// BodyBytes is how many body bytes were read and hashed.
	BodyBytes int64
	// Digest is the MD5 of the body bytes: everything after the blank line
	// that ends the header, chunk framing included, up to ContentLength
	// when that is known or else to end of stream.
	Digest [md5.Size]byte
}

// Trace receives the raw bytes of a response as they are read, for
// genhash -v. The slices are only valid during the call.
type Trace struct {
	// Header gets the header block, the final CRLFCRLF included.
	Header func(raw []byte)
	// Body gets each chunk of the body as it is hashed.
	Body func(chunk []byte)
}

// Errors from ReadResponse. They are wrapped in a *ReadError.
var (
	// ErrNoHeader means the stream ended before the blank line that ends
	// the header (keepalived: "no data received from remote webserver").
	ErrNoHeader = errors.New("no complete header")
	// ErrHeaderTooLarge means the header exceeded MaxHeaderBytes.
	ErrHeaderTooLarge = errors.New("header larger than 64 KiB")
)

// ReadError reports where reading a response failed and how much had been
// read, which is what keepalived's messages distinguish ("Timeout WEB read"
// before any byte, "Timeout HTTP read" after).
type ReadError struct {
	// InBody is true when the header had been read completely.
	InBody bool
	// Bytes is the number of bytes read from the stream before the error.
	Bytes int64
	// Err is the underlying error.
	Err error
}

// Error implements error.
func (e *ReadError) Error() string {
	step := "read header"
	if e.InBody {
		step = "read body"
	}
	return fmt.Sprintf("%s: %v after %d bytes", step, e.Err, e.Bytes)
}

// Unwrap returns the underlying error.
func (e *ReadError) Unwrap() error { return e.Err }

var bufPool = sync.Pool{New: func() any { b := make([]byte, MaxHeaderBytes); return &b }}

var headerEnd = []byte("\r\n\r\n")

// ReadResponse reads one HTTP/1.x response from r, hashing the body as
// keepalived does, using a fixed amount of memory whatever r sends. Reading
// stops at end of stream, or once ContentLength body bytes are in (keepalived
// reads on to end of stream but hashes no more, so the digest is the same and
// lbd does not wait for a keep-alive server to time out). Time is bounded by
// the caller, by a deadline on the connection under r.
func ReadResponse(r io.Reader, t *Trace) (Response, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	resp := Response{ContentLength: -1}

	n, hdrLen := 0, -1
	for hdrLen < 0 {
		if n == len(buf) {
			return resp, &ReadError{Bytes: int64(n), Err: ErrHeaderTooLarge}
		}
		m, err := r.Read(buf[n:])
		// Rescan 3 bytes back in case the terminator straddles two reads.
		from := max(n-3, 0)
		n += m
		if i := bytes.Index(buf[from:n], headerEnd); i >= 0 {
			hdrLen = from + i + len(headerEnd)
			break
		}
		if err != nil {
			if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
				err = ErrNoHeader
			}
			return resp, &ReadError{Bytes: int64(n), Err: err}
		}
	}
	header := buf[:hdrLen]
	if t != nil && t.Header != nil {
		t.Header(header)
	}
	resp.StatusCode, resp.ValidStatusLine = parseStatus(header)
	resp.ContentLength = parseContentLength(header)

	h := md5.New()
	hash := func(p []byte) {
		if resp.ContentLength >= 0 {
			p = p[:min(int64(len(p)), resp.ContentLength-resp.BodyBytes)]
		}
		if len(p) == 0 {
			return
		}
		h.Write(p)
		resp.BodyBytes += int64(len(p))
		if t != nil && t.Body != nil {
			t.Body(p)
		}
	}
	hash(buf[hdrLen:n])
	total := int64(n)
	for resp.ContentLength < 0 || resp.BodyBytes < resp.ContentLength {
		m, err := r.Read(buf)
		total += int64(m)
		hash(buf[:m])
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			// A short body is accepted, as keepalived does (it only logs
			// the length mismatch).
			break
		}
		if err != nil {
			return resp, &ReadError{InBody: true, Bytes: total, Err: err}
		}
	}
	h.Sum(resp.Digest[:0])
	return resp, nil
}

// parseStatus extracts the status code as keepalived's extract_status_code
// does (the token between the first and second space, through atoi) and
// says whether the line is a well-formed HTTP status line.
func parseStatus(header []byte) (code int, valid bool) {
	line, _, _ := bytes.Cut(header, []byte("\r\n"))
	_, rest, ok := bytes.Cut(header, []byte(" "))
	if !ok {
		return 0, false
	}
	tok, _, _ := bytes.Cut(rest, []byte(" "))
	code = int(atoi(tok))
	valid = bytes.HasPrefix(line, []byte("HTTP/1.")) && len(line) >= 12 &&
		line[8] == ' ' && isDigits(line[9:12]) && (len(line) == 12 || line[12] == ' ')
	return code, valid
}

// parseContentLength returns the value of the first "Content-Length:" in
// the header, matched case-sensitively and converted like C atoi, as
// keepalived's extract_content_length does; -1 if absent or negative.
func parseContentLength(header []byte) int64 {
	i := bytes.Index(header, []byte("Content-Length:"))
	if i < 0 {
		return -1
	}
	v := atoi(header[i+len("Content-Length:"):])
	if v < 0 {
		return -1
	}
	return v
}

// atoi converts like C atoi: optional leading white space and sign, then
// digits up to the first non-digit; saturates instead of overflowing.
func atoi(b []byte) int64 {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\v' || b[i] == '\f' || b[i] == '\r') {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	var v int64
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if v > (1<<62)/10 {
			v = 1 << 62
			continue
		}
		v = v*10 + int64(b[i]-'0')
	}
	if neg {
		return -v
	}
	return v
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}
