// Package healthcheck probes real servers the way keepalived's checker
// process does, and schedules thousands of such probes without a goroutine
// per target.
//
// A Checker performs one probe and returns a Result with a human-readable
// Reason (for example "connect: connection refused" or
// "status 503 not in 200-299"). The checkers are:
//
//   - TCPChecker: keepalived TCP_CHECK, a bare connect.
//   - UDPChecker: keepalived UDP_CHECK, a datagram on a connected socket;
//     an ICMP port unreachable (or, with require_reply, silence or a reply
//     that does not match) marks the server down.
//   - DNSChecker: keepalived DNS_CHECK, one query over UDP that must be
//     answered with NOERROR.
//   - SMTPChecker: keepalived SMTP_CHECK, a greeting that must be 220 and
//     a HELO that must be answered 250, then QUIT; every reply bounded.
//   - HTTPChecker: keepalived HTTP_GET and SSL_GET, status code ranges and
//     the MD5 digest that keepalived's genhash computes (see Fetch).
//   - MiscChecker: keepalived MISC_CHECK, an external program whose exit
//     code is the verdict (and optionally a dynamic weight).
//   - ICMPChecker: keepalived PING_CHECK; every target shares one Pinger
//     socket per address family.
//   - FileChecker: keepalived FILE_CHECK, a number read from a file.
//
// A Runner owns many targets. It applies keepalived's scheduling options
// (delay_loop, retry, delay_before_retry, warmup, alpha) plus rise/fall
// hysteresis, runs probes on a bounded worker pool driven by one timer heap,
// and emits an Event only when a target changes state. TCP_CHECK probes
// are started in batches with raw system calls on reused sockets (see
// connect.go); only a handshake still in flight occupies a worker. Those
// sockets, shared by HTTP_GET and SSL_GET, and fwmark need Linux; elsewhere
// these checks fail with an error that says so.
//
// Timeouts come from the context: every checker stops at the context's
// deadline, so a server that accepts and hangs, trickles bytes or sends an
// endless body is marked down when the deadline passes, with a reason that
// says which step timed out. Where lbd deliberately differs from keepalived
// the type's documentation says so and why.
package healthcheck
