package ipvs

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mdlayher/netlink"
)

// ErrNotSupported is wrapped by Open's error when the kernel has no IPVS.
var ErrNotSupported = errors.New("kernel has no IPVS (modprobe ip_vs)")

// OpError is the error of one IPVS operation: what was asked, of which
// object, and why it failed. It unwraps to the errno (a syscall.Errno such
// as unix.EEXIST) or the transport error, so errors.Is(err, os.ErrExist)
// works.
type OpError struct {
	// Op is the operation, e.g. "add destination".
	Op string
	// Object names the object, e.g. "192.0.2.15:80 to TCP 192.0.2.10:80";
	// empty for table-wide operations such as flush.
	Object string
	// Err is the kernel's errno or the transport error.
	Err error
	// Message is the kernel's extended acknowledgement text, if any.
	Message string
}

// Error returns "ipvs: OP OBJECT: ERR".
func (e *OpError) Error() string {
	var b strings.Builder
	b.WriteString("ipvs: ")
	b.WriteString(e.Op)
	if e.Object != "" {
		b.WriteString(" ")
		b.WriteString(e.Object)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	if e.Message != "" {
		b.WriteString(" (")
		b.WriteString(e.Message)
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the errno or transport error.
func (e *OpError) Unwrap() error { return e.Err }

// opError wraps err for op and object, replacing the netlink package's own
// OpError by its errno so the message reads "file exists" rather than
// "netlink receive: file exists".
func opError(op, object string, err error) *OpError {
	oe := &OpError{Op: op, Object: object, Err: err}
	var nerr *netlink.OpError
	if errors.As(err, &nerr) && nerr.Sequence != 0 {
		oe.Err, oe.Message = nerr.Err, nerr.Message
	}
	return oe
}

// ApplyError summarises the failed changes of Apply. It unwraps to every
// change's error, so errors.Is sees each errno.
type ApplyError struct {
	// Failed and Total count changes.
	Failed, Total int
	Errs          []error
}

// Error counts the failures and quotes the first few.
func (e *ApplyError) Error() string {
	const shown = 3
	var b strings.Builder
	fmt.Fprintf(&b, "ipvs: apply: %d of %d changes failed", e.Failed, e.Total)
	for i, err := range e.Errs {
		if i == shown {
			fmt.Fprintf(&b, "; and %d more", len(e.Errs)-shown)
			break
		}
		b.WriteString("; ")
		b.WriteString(strings.TrimPrefix(err.Error(), "ipvs: "))
	}
	return b.String()
}

// Unwrap returns every failed change's error.
func (e *ApplyError) Unwrap() []error { return e.Errs }
