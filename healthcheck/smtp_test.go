package healthcheck

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

// smtpServer sends greeting to each client, then answers each line it
// reads with replies[line]: "" closes the connection, and a line it does
// not know gets a 500 that quotes it.
func smtpServer(t *testing.T, greeting string, replies map[string]string) netip.AddrPort {
	t.Helper()
	return rawServer(t, "tcp", "127.0.0.1:0", func(c net.Conn) {
		if _, err := io.WriteString(c, greeting); err != nil {
			return
		}
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			reply, ok := replies[line]
			if !ok {
				reply = "500 5.5.1 unexpected " + strconv.Quote(line) + "\r\n"
			}
			if reply == "" {
				return
			}
			if _, err := io.WriteString(c, reply); err != nil {
				return
			}
		}
	})
}

// flood writes chunk until the client goes away.
func flood(chunk string) func(net.Conn) {
	return func(c net.Conn) {
		for {
			if _, err := io.WriteString(c, chunk); err != nil {
				return
			}
		}
	}
}

const defaultHelo = "HELO smtpchecker.keepalived.org\r\n"

func TestSMTPChecker(t *testing.T) {
	polite := map[string]string{defaultHelo: "250 mx.example.org\r\n", "QUIT\r\n": "221 2.0.0 bye\r\n"}
	ok := smtpServer(t, "220 mx.example.org ESMTP\r\n", polite)
	named := smtpServer(t, "220 mx.example.org ESMTP\r\n", map[string]string{
		"HELO lb1.example.org\r\n": "250 mx.example.org\r\n", "QUIT\r\n": "221 bye\r\n"})
	multi := smtpServer(t, "220-mx.example.org ESMTP\r\n220-no UCE\r\n220 ready\r\n", map[string]string{
		defaultHelo: "250-mx.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n", "QUIT\r\n": "221 bye\n"})
	bare := smtpServer(t, "220\r\n", map[string]string{defaultHelo: "250\r\n", "QUIT\r\n": "221\r\n"})
	busy := smtpServer(t, "421 4.3.2 Service not available\r\n", polite)
	refuse := smtpServer(t, "220 mx\r\n", map[string]string{defaultHelo: "550 5.7.1 HELO refused\r\n"})
	codeChange := smtpServer(t, "220-hello\r\n554 go away\r\n", polite)
	notSMTP := smtpServer(t, "SSH-2.0-OpenSSH_9.2\r\n", polite)
	escapes := smtpServer(t, "421 \x1b[31mred\x00\r\n", polite)
	noQuitReply := smtpServer(t, "220 mx\r\n", map[string]string{defaultHelo: "250 ok\r\n", "QUIT\r\n": ""})
	closeAfterHelo := smtpServer(t, "220 mx\r\n", map[string]string{defaultHelo: ""})
	closeAtOnce := rawServer(t, "tcp", "127.0.0.1:0", func(net.Conn) {})
	silent := rawServer(t, "tcp", "127.0.0.1:0", func(c net.Conn) { io.Copy(io.Discard, c) })
	endlessLine := rawServer(t, "tcp", "127.0.0.1:0", flood(strings.Repeat("a", 4096)))
	endlessLines := rawServer(t, "tcp", "127.0.0.1:0", flood("220-x\r\n"))
	tooMuch := rawServer(t, "tcp", "127.0.0.1:0", flood("220-"+strings.Repeat("x", 400)+"\r\n"))
	trickle := rawServer(t, "tcp", "127.0.0.1:0", func(c net.Conn) {
		for _, b := range []byte("220 a greeting sent one byte at a time\r\n") {
			if _, err := c.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	closed := refusedAddr(t)
	tests := []struct {
		name   string
		c      SMTPChecker
		ok     bool
		reason string
		// slow: the check must take the whole deadline; else it must end
		// well before it.
		slow bool
	}{
		{"ok", SMTPChecker{Dest: Dest{Addr: ok}}, true, "greeting 220, HELO 250, QUIT 221", false},
		{"helo_name sent", SMTPChecker{Dest: Dest{Addr: named}, HeloName: "lb1.example.org"}, true, "QUIT 221", false},
		{"default helo_name sent", SMTPChecker{Dest: Dest{Addr: named}}, false,
			`HELO: 500 5.5.1 unexpected "HELO smtpchecker.keepalived.org\r\n"`, false},
		{"multi-line replies", SMTPChecker{Dest: Dest{Addr: multi}}, true, "greeting 220, HELO 250, QUIT 221", false},
		{"codes without text", SMTPChecker{Dest: Dest{Addr: bare}}, true, "greeting 220, HELO 250, QUIT 221", false},
		{"connect_port override", SMTPChecker{Dest: Dest{Addr: closed, ConnectPort: ok.Port()}}, true, "QUIT 221", false},
		{"421 greeting", SMTPChecker{Dest: Dest{Addr: busy}}, false, "greeting: 421 4.3.2 Service not available", false},
		{"550 to HELO", SMTPChecker{Dest: Dest{Addr: refuse}}, false, "HELO: 550 5.7.1 HELO refused", false},
		{"code changes within a reply", SMTPChecker{Dest: Dest{Addr: codeChange}}, false, `greeting: malformed reply "554 go away"`, false},
		{"not SMTP", SMTPChecker{Dest: Dest{Addr: notSMTP}}, false, `greeting: malformed reply "SSH-2.0-OpenSSH_9.2"`, false},
		{"control characters shown as ?", SMTPChecker{Dest: Dest{Addr: escapes}}, false, "greeting: 421 ?[31mred?", false},
		{"no reply to QUIT", SMTPChecker{Dest: Dest{Addr: noQuitReply}}, false, "QUIT: connection closed", false},
		{"closed after greeting", SMTPChecker{Dest: Dest{Addr: closeAfterHelo}}, false, "HELO: connection closed", false},
		{"closed at once", SMTPChecker{Dest: Dest{Addr: closeAtOnce}}, false, "greeting: connection closed", false},
		{"endless line", SMTPChecker{Dest: Dest{Addr: endlessLine}}, false, "greeting: reply line longer than 512 bytes", false},
		{"endless reply", SMTPChecker{Dest: Dest{Addr: endlessLines}}, false, "greeting: reply longer than 64 lines", false},
		{"too many bytes", SMTPChecker{Dest: Dest{Addr: tooMuch}}, false, "greeting: server sent more than 16 KiB", false},
		{"closed port", SMTPChecker{Dest: Dest{Addr: closed}}, false, "connect: connection refused", false},
		{"CRLF in helo_name", SMTPChecker{Dest: Dest{Addr: ok}, HeloName: "lb1\r\nRSET"}, false, "invalid helo_name", false},
		{"silent server", SMTPChecker{Dest: Dest{Addr: silent}}, false, "greeting: timeout", true},
		{"trickling server", SMTPChecker{Dest: Dest{Addr: trickle}}, false, "greeting: timeout", true},
	}
	const deadline = 400 * time.Millisecond
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := tt.c.Check(ctxTimeout(t, deadline))
			if res.OK != tt.ok || !strings.Contains(res.Reason, tt.reason) {
				t.Errorf("got ok=%v %q, want ok=%v %q", res.OK, res.Reason, tt.ok, tt.reason)
			}
			if tt.slow && (res.Latency < deadline*3/4 || res.Latency > 2*time.Second) {
				t.Errorf("latency %v, want about the deadline %v", res.Latency, deadline)
			}
			if !tt.slow && res.Latency > deadline/2 {
				t.Errorf("latency %v: the check should end well before the deadline %v", res.Latency, deadline)
			}
		})
	}
}

func TestSMTPCheckerString(t *testing.T) {
	c := &SMTPChecker{Dest: Dest{Addr: netip.MustParseAddrPort("192.0.2.1:25"), ConnectPort: 587}}
	if got, want := c.String(), "SMTP_CHECK 192.0.2.1:587"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestValidHeloName(t *testing.T) {
	for _, s := range []string{"foo.bar.com", "lb-1", "[192.0.2.1]", "[IPv6:2001:db8::1]", "host_name", strings.Repeat("a", 255)} {
		if err := ValidHeloName(s); err != nil {
			t.Errorf("ValidHeloName(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "foo bar", "lb1\r\nRSET", "a\x00", "\"quoted\"", "x#y", "é.example", strings.Repeat("a", 256)} {
		if err := ValidHeloName(s); err == nil {
			t.Errorf("ValidHeloName(%q) accepted", s)
		}
	}
}

// FuzzSMTPReply checks that any stream is read within the bounds: no
// panic, a code only from a well-formed last line, printable text of at
// most 64 bytes, and no more than SMTPMaxBytes consumed.
func FuzzSMTPReply(f *testing.F) {
	f.Add([]byte("220 mx ESMTP\r\n"))
	f.Add([]byte("220-a\r\n220-b\n220 c\r\n250 ok\r\n"))
	f.Add([]byte("220-a\r\n250 b\r\n"))
	f.Add([]byte("421\r\n"))
	f.Add([]byte("22"))
	f.Add(bytes.Repeat([]byte("220-x\r\n"), 100))
	f.Fuzz(func(t *testing.T, b []byte) {
		src := bytes.NewReader(b)
		r := newSMTPReader(src)
		for range 3 {
			code, text, err := r.reply()
			if err != nil {
				break
			}
			if code < 200 || code > 599 || len(text) > 64 {
				t.Fatalf("code %d text %q from %q", code, text, b)
			}
			for _, ch := range []byte(text) {
				if ch < ' ' || ch > '~' {
					t.Fatalf("unprintable text %q", text)
				}
			}
		}
		if used := len(b) - src.Len(); used > SMTPMaxBytes {
			t.Fatalf("read %d bytes", used)
		}
	})
}
