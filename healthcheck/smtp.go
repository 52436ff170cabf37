package healthcheck

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// DefaultHeloName is keepalived's helo_name default (SMTP_DEFAULT_HELO).
const DefaultHeloName = "smtpchecker.keepalived.org"

// Bounds on what an SMTP server may send in one check. A server that goes
// past one fails the check at once, instead of holding it until the
// deadline or growing a buffer.
const (
	// SMTPMaxLine is the longest reply line, CRLF included: RFC 5321
	// 4.5.3.1.5's limit, and keepalived's buffer.
	SMTPMaxLine = 512
	// SMTPMaxLines bounds the lines of one reply. A reply to HELO has one;
	// a greeting a few.
	SMTPMaxLines = 64
	// SMTPMaxBytes bounds all the server sends in one check.
	SMTPMaxBytes = 16 << 10
)

// SMTPChecker is keepalived's SMTP_CHECK: connect, read the greeting,
// which must be 220, send "HELO name", whose reply must be 250, send
// "QUIT" and read its reply, whatever its code. The context deadline
// (connect_timeout) bounds the whole exchange. A failure names the step
// and what the server said or did, e.g. "greeting: 421 too busy" or
// "HELO: timeout".
//
// Differences from keepalived 2.2.7, on purpose:
//   - keepalived judges the first line of a reply only, so a multi-line
//     greeting ("220-..." then "220 ...") and a bare "220" fail there;
//     lbd reads replies as RFC 5321 4.2.1 writes them, continuation lines
//     included, and accepts both.
//   - keepalived applies connect_timeout to each read; lbd bounds the whole
//     exchange, so a server trickling bytes fails too.
type SMTPChecker struct {
	// Dest is the server; only Addr, ConnectIP, ConnectPort, BindTo,
	// BindPort and FWMark apply.
	Dest Dest
	// HeloName is the argument of HELO (helo_name); empty means
	// DefaultHeloName.
	HeloName string
}

// Errors of a reply that break a bound or the grammar of RFC 5321.
var (
	errSMTPLineTooLong  = fmt.Errorf("reply line longer than %d bytes", SMTPMaxLine)
	errSMTPTooManyLines = fmt.Errorf("reply longer than %d lines", SMTPMaxLines)
	errSMTPTooMuch      = fmt.Errorf("server sent more than %d KiB", SMTPMaxBytes>>10)
	errSMTPClosed       = errors.New("connection closed")
)

// ValidHeloName reports whether s may follow HELO: a host name or an
// address literal, from letters, digits and ".-_:[]", at most 255 bytes.
// Anything else (a space, CR or LF above all) would change the command.
func ValidHeloName(s string) error {
	if s == "" || len(s) > 255 {
		return fmt.Errorf("healthcheck: helo_name %q must be 1 to 255 bytes", s)
	}
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9':
		case ch == '.' || ch == '-' || ch == '_' || ch == ':' || ch == '[' || ch == ']':
		default:
			return fmt.Errorf("healthcheck: helo_name %q: a host name or address literal has no %q", s, ch)
		}
	}
	return nil
}

func (c *SMTPChecker) helo() string {
	if c.HeloName == "" {
		return DefaultHeloName
	}
	return c.HeloName
}

// Check implements Checker.
func (c *SMTPChecker) Check(ctx context.Context) Result {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	start := time.Now()
	helo := c.helo()
	if err := ValidHeloName(helo); err != nil {
		return fail(start, "invalid helo_name")
	}
	conn, err := c.Dest.dial(ctx, nil)
	if err != nil {
		return fail(start, errReason("connect", err))
	}
	defer bound(ctx, conn)()
	r := newSMTPReader(conn)
	code, text, err := r.reply()
	if err != nil {
		return fail(start, errReason("greeting", err))
	}
	if code != 220 {
		return fail(start, fmt.Sprintf("greeting: %d %s", code, text))
	}
	if _, err := io.WriteString(conn, "HELO "+helo+"\r\n"); err != nil {
		return fail(start, errReason("HELO: send", err))
	}
	if code, text, err = r.reply(); err != nil {
		return fail(start, errReason("HELO", err))
	}
	if code != 250 {
		return fail(start, fmt.Sprintf("HELO: %d %s", code, text))
	}
	// keepalived waits for the reply to QUIT and takes any code: the
	// server is still answering. Reading it also lets the server close
	// first, as RFC 5321 4.1.1.10 has it.
	if _, err := io.WriteString(conn, "QUIT\r\n"); err != nil {
		return fail(start, errReason("QUIT: send", err))
	}
	if code, _, err = r.reply(); err != nil {
		return fail(start, errReason("QUIT", err))
	}
	return pass(start, fmt.Sprintf("greeting 220, HELO 250, QUIT %d", code))
}

// String implements Checker.
func (c *SMTPChecker) String() string { return "SMTP_CHECK " + c.Dest.Target().String() }

// smtpReader reads SMTP replies within the bounds above.
type smtpReader struct {
	br *bufio.Reader
}

func newSMTPReader(r io.Reader) *smtpReader {
	// The buffer is one line long, so a longer line is ErrBufferFull.
	return &smtpReader{br: bufio.NewReaderSize(&smtpBudget{r: r, left: SMTPMaxBytes}, SMTPMaxLine)}
}

// reply reads one reply, its continuation lines included, and returns
// its code and the text of its last line (printable, for a reason).
func (r *smtpReader) reply() (code int, text string, err error) {
	for i := range SMTPMaxLines {
		line, err := r.br.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			return 0, "", errSMTPLineTooLong
		case err == io.EOF:
			return 0, "", errSMTPClosed
		case err != nil:
			return 0, "", err
		}
		line = line[:len(line)-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		c, last, ok := parseSMTPLine(line)
		if !ok || i > 0 && c != code {
			// RFC 5321 4.2.1: every line of a reply has the same code.
			return 0, "", fmt.Errorf("malformed reply %q", replyText(line))
		}
		code = c
		if last {
			if len(line) > 4 {
				text = replyText(line[4:])
			}
			return code, text, nil
		}
	}
	return 0, "", errSMTPTooManyLines
}

// parseSMTPLine reads a reply line without its line end: a code 200 to
// 599, then a space and text or nothing (the last line), or a hyphen (a
// line more follows).
func parseSMTPLine(l []byte) (code int, last, ok bool) {
	if len(l) < 3 || l[0] < '2' || l[0] > '5' || !isDigits(l[1:3]) {
		return 0, false, false
	}
	code = int(l[0]-'0')*100 + int(l[1]-'0')*10 + int(l[2]-'0')
	switch {
	case len(l) == 3 || l[3] == ' ':
		return code, true, true
	case l[3] == '-':
		return code, false, true
	}
	return 0, false, false
}

// replyText is server text fit for a reason: at most 64 bytes, anything
// but printable ASCII shown as '?'.
func replyText(b []byte) string {
	out := make([]byte, min(len(b), 64))
	for i := range out {
		out[i] = b[i]
		if b[i] < ' ' || b[i] > '~' {
			out[i] = '?'
		}
	}
	return string(out)
}

// smtpBudget reads from r until left bytes are used up, then fails with
// errSMTPTooMuch (io.LimitedReader's EOF would read as the server closing).
type smtpBudget struct {
	r    io.Reader
	left int
}

func (b *smtpBudget) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errSMTPTooMuch
	}
	n, err := b.r.Read(p[:min(len(p), b.left)])
	b.left -= n
	return n, err
}
