package main

import (
	"fmt"
	"io"
	"strings"
)

// usage prints keepalived genhash's help text, with prog as the program
// name as keepalived does with argv[0]. It goes to stderr after a bad
// command line, byte for byte as keepalived's genhash prints it, so
// scripts and eyes used to keepalived's messages see no difference.
func usage(w io.Writer, prog string) {
	fmt.Fprintf(w, `Usage: %s COMMAND [OPTIONS]
Commands:
   -s server-address -p port -u url
   -S -s server-address -p port -u url
   -h

Options:
Either long or short options are allowed.
   --use-ssl         -S       Use SSL connection to remote server.
   --use-sni         -I       Use SNI during SSL handshake (uses virtualhost setting; see -V).
   --server          -s       Use the specified remote server address.
   --port            -p       Use the specified remote server port.
   --url             -u       Use the specified remote server url.
   --use-virtualhost -V       Use the specified virtualhost in GET query.
   --verbose         -v       Use verbose mode output.
   --help            -h       Display this short inlined help screen.
   --fwmark          -m       Use the specified FW mark.
   --protocol        -P       Use the specified HTTP protocol - '1.0', 1.0c', '1.1'.
                                1.0c means 1.0 with 'Connection: close'
   --timeout         -t       Timeout in seconds
`, prog)
}

// manualFor is the manual of the program named prog: genhash, or
// lbd-genhash as the Debian package installs it.
func manualFor(prog string) string {
	return strings.NewReplacer("keepalived's genhash", "keepalived's genhash", "genhash", prog).Replace(manual)
}

// manual is the text of genhash -h / --help: a manual page, on stdout.
// Unlike keepalived's genhash, which prints its short usage to stderr and
// exits 1 for -h, asking for help succeeds, so `genhash --help | less`
// works. Every option of longNames must appear in OPTIONS (see
// TestManualDocumentsEveryOption).
const manual = `NAME
       genhash - print the MD5 digest of a web page for lbd's HTTP_GET and
       SSL_GET checks

SYNOPSIS
       genhash -s ADDRESS -p PORT -u URL [-S [-I]] [-V VIRTUALHOST]
               [-P 1.0|1.0C|1.1] [-t SECONDS] [-m FWMARK] [-v]
       genhash --version
       genhash -h | --help

DESCRIPTION
       genhash sends one GET request for URL to the server at ADDRESS and
       PORT, over HTTP or, with -S, over TLS, and prints the MD5 digest of
       the reply's body as 32 hexadecimal digits: the value to put in the
       "digest" of a url of an HTTP_GET or SSL_GET check. It hashes exactly
       what those checks hash: the raw bytes after the header, so for a
       chunked reply the chunk framing is included.

       genhash takes the options of keepalived's genhash and prints the same
       digest, messages and verbose dump, so digests and scripts made for
       keepalived carry over unchanged. The server's certificate is not
       verified: the point is to hash what the check will see.

       When the fetch fails, genhash prints why (for example "Connection
       failed" or "Timeout WEB read") instead of a digest, as
       keepalived's genhash does.

OPTIONS
       Every option has a short and a long form. A short option's value may
       follow it directly (-p80) or as the next argument; a long option's
       value follows "=" (--port=80) or is the next argument.

       -s, --server ADDRESS
              The server's IPv4 or IPv6 address; host names are not
              accepted. Required.

       -p, --port PORT
              The server's TCP port, 1 to 65535. Required.

       -u, --url URL
              The path to request, such as /health or /index.html?x=1.
              Required.

       -S, --use-ssl
              Connect with TLS (an SSL_GET check) instead of plain HTTP.

       -I, --use-sni
              With -S, send VIRTUALHOST (-V) as the TLS server name (SNI).

       -V, --use-virtualhost VIRTUALHOST
              Send VIRTUALHOST in the Host header, as the check's
              virtualhost does. Default: ADDRESS:PORT.

       -P, --protocol 1.0|1.0C|1.1
              The HTTP version of the request: 1.0 (the default), 1.0C
              (HTTP/1.0 with "Connection: close"; 1.0c also works) or 1.1
              (with "Connection: close"). Use the check's http_protocol.

       -t, --timeout SECONDS
              Give up when connecting, or any single read or write, takes
              longer than SECONDS. Default: no timeout.

       -m, --fwmark FWMARK
              Mark the connection's packets with firewall mark FWMARK
              (SO_MARK; needs CAP_NET_ADMIN), as a check with fwmark does.

       -v, --verbose
              Also dump the reply's header and body in hexadecimal and
              ASCII, the digest, and the response time.

       --version
              Print lbd's version and exit.

       -h, --help
              Print this manual and exit.

EXIT STATUS
       0      The page was fetched and its digest printed, or the fetch
              failed and the reason was printed instead (as
              keepalived's genhash does: check the output, not the
              status). Also after -h, --help or --version.

       1      The command line is invalid, or -s, -p or -u is missing: the
              reason and a short usage are printed on standard error.

EXAMPLES
       The digest of a page, for a check's url:

              genhash -s 192.0.2.21 -p 80 -u /health

       Over TLS, for a name-based virtual host:

              genhash -S -I -V www.example.com -s 192.0.2.21 -p 443 -u /

       HTTP/1.1 to an IPv6 server, five seconds at most per step, with the
       reply dumped:

              genhash -s 2001:db8::21 -p 8080 -u /status -P 1.1 -t 5 -v

       In lbd.yaml the digest goes here:

              check: {type: HTTP_GET, urls: [{path: /health, digest: DIGEST}]}

SEE ALSO
       lbd(8), ipvsctl(8), lbd.yaml(5), keepalived's genhash(1);
       docs/config.md (HTTP_GET and SSL_GET checks) and docs/operations.md.
`
