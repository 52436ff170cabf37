package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Version is the protocol version carried by every response.
const Version = 1

// DefaultPath is where lbd listens and ipvsctl connects unless configured
// otherwise.
const DefaultPath = "/run/lbd/control.sock"

// Method names used by ipvsctl's daemon subcommands. Their params and
// results are defined by the daemon.
const (
	MethodStatus   = "status"
	MethodReload   = "reload"
	MethodDrain    = "drain"
	MethodEnable   = "enable"
	MethodPlan     = "plan"
	MethodRuntime  = "runtime"
	MethodHandover = "handover"
	MethodBalancer = "balancer"
)

// Error codes; see the package documentation for their meaning.
const (
	CodeParseError         = "parse_error"
	CodeInvalidRequest     = "invalid_request"
	CodeUnsupportedVersion = "unsupported_version"
	CodeUnknownMethod      = "unknown_method"
	CodeRequestTooLarge    = "request_too_large"
	CodeTimeout            = "timeout"
	CodePermissionDenied   = "permission_denied"
	CodeBusy               = "busy"
	CodeShuttingDown       = "shutting_down"
	CodeInternal           = "internal"
	CodeInvalidParams      = "invalid_params"
	CodeNotFound           = "not_found"
	CodeFailed             = "failed"
)

// Error is an error response: a stable machine-readable code and a message
// for humans. Methods return one (possibly wrapped) to choose the code;
// [Client.Call] returns one for every error response of the server.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Error returns the message (or the code if there is no message), which is
// what a CLI should print.
func (e *Error) Error() string {
	if e.Message == "" {
		return e.Code
	}
	return e.Message
}

// IsCode reports whether err is, or wraps, an *Error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Request is one request line.
type Request struct {
	ID      uint64          `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params,omitempty"`
	Version int             `json:"version,omitempty"`
}

// Response is one response line. Exactly one of Result and Error is set
// (Result is the JSON null for a method that returns nothing).
type Response struct {
	Version int             `json:"version"`
	ID      uint64          `json:"id"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *Error          `json:"error,omitempty"`
}

// ParseRequest decodes one request line (without its '\n'). On failure it
// returns the id if it could be read (0 otherwise) and an *Error with code
// parse_error, invalid_request or unsupported_version.
func ParseRequest(line []byte) (Request, *Error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return Request{}, Errorf(CodeParseError, "request is not a JSON object")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(line, &fields); err != nil {
		return Request{}, Errorf(CodeParseError, "malformed JSON: %v", err)
	}
	var req Request
	// Read the id first so later errors can be matched to their request.
	if raw, ok := fields["id"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &req.ID); err != nil {
			return Request{}, Errorf(CodeInvalidRequest, "id must be a non-negative integer, not %s", truncate(raw))
		}
	}
	// Field names match exactly (encoding/json alone would fold case).
	var unknown []string
	for k := range fields {
		switch k {
		case "id", "method", "params", "version":
		default:
			unknown = append(unknown, strconv.Quote(k))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return req, Errorf(CodeInvalidRequest, "unknown field %s in request", truncate([]byte(strings.Join(unknown, ", "))))
	}
	if raw, ok := fields["version"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &req.Version); err != nil {
			return req, Errorf(CodeInvalidRequest, "version must be an integer, not %s", truncate(raw))
		}
		if req.Version != Version {
			return req, Errorf(CodeUnsupportedVersion, "unsupported protocol version %d (this lbd speaks version %d)", req.Version, Version)
		}
	}
	raw, ok := fields["method"]
	if !ok || isNull(raw) {
		return req, Errorf(CodeInvalidRequest, "request has no method")
	}
	if err := json.Unmarshal(raw, &req.Method); err != nil {
		return req, Errorf(CodeInvalidRequest, "method must be a string, not %s", truncate(raw))
	}
	if req.Method == "" {
		return req, Errorf(CodeInvalidRequest, "request has an empty method")
	}
	if raw, ok := fields["params"]; ok && !isNull(raw) {
		req.Params = raw
	}
	return req, nil
}

func isNull(b json.RawMessage) bool { return string(bytes.TrimSpace(b)) == "null" }

// truncate shortens echoed client input for an error message.
func truncate(b []byte) string {
	const n = 40
	if r := []rune(string(b)); len(r) > n {
		return string(r[:n]) + "..."
	}
	return string(b)
}

// Peer identifies the process at the other end of a connection, as read
// with SO_PEERCRED when it connected.
type Peer struct {
	PID int32
	UID uint32
	GID uint32
}

// String formats the peer for logs and messages.
func (p Peer) String() string { return fmt.Sprintf("pid %d uid %d gid %d", p.PID, p.UID, p.GID) }

// Handler answers requests. ServeControl returns the result (encoded with
// encoding/json; it must not be modified afterwards) or an error: an
// *Error (possibly wrapped) keeps its code, any other error is reported as
// "failed" with the error's text. It is called concurrently from several
// connections and must honour ctx.
type Handler interface {
	ServeControl(ctx context.Context, peer Peer, method string, params json.RawMessage) (any, error)
}

// HandlerFunc adapts a function to a [Handler].
type HandlerFunc func(ctx context.Context, peer Peer, method string, params json.RawMessage) (any, error)

// ServeControl calls f.
func (f HandlerFunc) ServeControl(ctx context.Context, peer Peer, method string, params json.RawMessage) (any, error) {
	return f(ctx, peer, method, params)
}

// MethodFunc implements one method.
type MethodFunc func(ctx context.Context, peer Peer, params json.RawMessage) (any, error)

// Mux is a [Handler] that dispatches on the method name. The zero value is
// ready to use.
type Mux struct {
	mu sync.RWMutex
	m  map[string]MethodFunc
}

// NewMux returns an empty Mux.
func NewMux() *Mux { return &Mux{} }

// Handle registers fn for method. It panics if method is empty, fn is nil
// or the method is already registered: all are programming errors.
func (m *Mux) Handle(method string, fn MethodFunc) {
	if method == "" || fn == nil {
		panic("control: Handle with empty method or nil func")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = make(map[string]MethodFunc)
	}
	if _, dup := m.m[method]; dup {
		panic(fmt.Sprintf("control: method %q registered twice", method))
	}
	m.m[method] = fn
}

// Methods returns the registered method names, sorted.
func (m *Mux) Methods() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	names := make([]string, 0, len(m.m))
	for k := range m.m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// ServeControl calls the method's function, or fails with unknown_method.
func (m *Mux) ServeControl(ctx context.Context, peer Peer, method string, params json.RawMessage) (any, error) {
	m.mu.RLock()
	fn := m.m[method]
	m.mu.RUnlock()
	if fn == nil {
		return nil, Errorf(CodeUnknownMethod, "unknown method %q", method)
	}
	return fn(ctx, peer, params)
}

// Typed adapts a function taking decoded params to a [MethodFunc]. Params
// are decoded strictly (unknown fields are an error); absent or null params
// leave P at its zero value. A decoding failure is an invalid_params error.
func Typed[P, R any](fn func(ctx context.Context, peer Peer, params P) (R, error)) MethodFunc {
	return func(ctx context.Context, peer Peer, raw json.RawMessage) (any, error) {
		var p P
		if len(raw) > 0 && !isNull(raw) {
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&p); err != nil {
				return nil, Errorf(CodeInvalidParams, "invalid params: %v", err)
			}
		}
		return fn(ctx, peer, p)
	}
}
