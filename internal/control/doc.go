// Package control implements the control-socket protocol between the lbd
// daemon and the daemon subcommands of ipvsctl (status, reload, drain,
// enable, plan, runtime changes to managed services).
//
// # Transport
//
// The daemon listens on a Unix stream socket, by default [DefaultPath]
// (/run/lbd/control.sock). [Listen] creates the socket file with mode 0600
// without a window of looser permissions: the socket is bound inside a
// fresh mode-0700 directory next to the final path, chmod'ed, and then
// renamed into place. An existing socket file is replaced only if nobody
// is listening on it (a connect is refused); a live socket or a file that
// is not a socket is an error.
//
// Every connection's peer credentials are read with SO_PEERCRED. Only uid 0
// is accepted, plus the uids and gids listed in [Server.AllowUIDs] and
// [Server.AllowGIDs]. The file mode is a first fence, the credential check
// the authoritative one: a refused peer gets one error response with code
// "permission_denied" and id 0, and the connection is closed. SO_PEERCRED
// is Linux's: elsewhere every peer is refused with a reason saying so.
//
// # Framing (protocol version 1)
//
// Both directions carry newline-delimited JSON: exactly one JSON object per
// line, terminated by '\n' (a final line without '\n' before the client
// shuts down its side is accepted too). Blank lines are ignored. A client
// may send several requests on one connection, and may pipeline them
// without waiting; the server handles the requests of one connection one at
// a time, in order, and answers each with exactly one response line, in the
// same order. Use several connections for parallel requests.
//
// A request:
//
//	{"id":1,"method":"status","params":{...}}
//
// Its fields:
//
//   - id: a non-negative integer chosen by the client and echoed in the
//     response; use ids >= 1, because id 0 in a response marks an error
//     that is not tied to a request (see below). Optional, default 0.
//   - method: the method name, a non-empty string. Required.
//   - params: any JSON value, passed to the method as raw JSON. Optional.
//   - version: optional; if present it must be 1.
//
// Field names are case-sensitive and unknown fields are rejected
// ("invalid_request"), so a typo is never silently ignored.
//
// A response is one of:
//
//	{"version":1,"id":1,"result":{...}}
//	{"version":1,"id":1,"error":{"code":"unknown_method","message":"unknown method \"stauts\""}}
//
// Every response carries "version":1, the protocol version; a client must
// refuse a response with any other version. "result" is any JSON value
// (null when the method returns nothing); "error" is present exactly when
// the request failed. The message is meant for humans and may change; the
// code is stable and meant for programs.
//
// A line longer than 1 MiB ([DefaultMaxLineBytes]) is answered with
// "request_too_large" and the connection is closed, since the stream
// cannot be resynchronized. A request line must be complete within the
// idle timeout (default 2 s) from the connection or the end of the
// previous response; a client that leaves a line half-sent gets "timeout"
// and is disconnected, an idle client is disconnected silently. No request
// is read after the connection timeout (default 1 minute): the connection
// is closed instead. A response must be read within the write timeout
// (default 10 s). At most [DefaultMaxConns] connections are served at once;
// one more is answered with "busy" and closed (or closed at once when many
// are being refused). Each request runs with a deadline (default 30 s);
// a method that overruns it is answered with "timeout" while the
// connection goes on with the next request.
//
// # Error codes
//
// Errors produced by the server itself:
//
//   - parse_error: the line is not a JSON object.
//   - invalid_request: valid JSON, but not a request (bad or missing
//     method, id not a non-negative integer, unknown field).
//   - unsupported_version: the request names a version other than 1.
//   - unknown_method: no such method.
//   - request_too_large: the line exceeds the size limit; the connection
//     is closed.
//   - timeout: the method did not finish within the request timeout, or
//     the client did not finish sending a line in time.
//   - permission_denied: the peer's credentials are not allowed; sent with
//     id 0, then the connection is closed.
//   - busy: too many connections; sent with id 0, then closed.
//   - shutting_down: the daemon is stopping.
//   - internal: the method panicked or its result could not be encoded.
//
// Errors produced by methods:
//
//   - invalid_params: the params do not fit the method (see [Typed]).
//   - not_found: the object named in the params does not exist.
//   - failed: the method ran and failed; the message says why (any plain
//     Go error returned by a method is reported with this code).
//
// Methods may define further codes with [Errorf]; they are lower-case
// snake_case words and, once published, stable.
//
// # Methods
//
// The method set of version 1 is defined by the daemon; the names used by
// ipvsctl are the Method* constants of this package. Handlers run
// concurrently (one goroutine per connection); following the project's
// owner-loop pattern a handler should hand its work to the goroutine that
// owns the state (for lbd, the lb engine loop) rather than touch shared
// state, and should honour its context, which is cancelled at the request
// deadline and when the server closes.
package control
