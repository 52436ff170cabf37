package healthcheck

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

// FileChecker is keepalived's FILE_CHECK: it reads an integer from a file
// (track_file), which operators or tools write to drain or weight a server.
// A missing, empty or unparsable file reads as 0, as keepalived does.
//
// With Weight 0 the server is up when the value is 0 and down otherwise.
// With a non-zero Weight the value is multiplied by it (negated if Reverse);
// a product of -254 or less means down, and when Dynamic the product is
// reported as Result.Weight for the engine to apply.
type FileChecker struct {
	Path    string
	Weight  int
	Reverse bool
	Dynamic bool
}

// maxFileRead bounds how much of the file is read: the value is one number.
const maxFileRead = 64

// Check implements Checker.
func (c *FileChecker) Check(ctx context.Context) Result {
	start := time.Now()
	v := readFileValue(c.Path)
	if c.Weight == 0 {
		if v != 0 {
			return fail(start, fmt.Sprintf("file value %d", v))
		}
		return pass(start, "file value 0")
	}
	w := v * int64(c.Weight)
	if c.Reverse {
		w = -w
	}
	if w <= -254 {
		return fail(start, fmt.Sprintf("file value %d, weight %d", v, w))
	}
	r := pass(start, fmt.Sprintf("file value %d", v))
	if c.Dynamic {
		r.Weight = int(max(w, 0))
	}
	return r
}

// readFileValue returns the leading integer of the file, 0 if none.
func readFileValue(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, maxFileRead))
	fields := bytes.Fields(b)
	if len(fields) == 0 {
		return 0
	}
	v, _ := strconv.ParseInt(string(fields[0]), 10, 32)
	return v
}

// String implements Checker.
func (c *FileChecker) String() string { return "FILE_CHECK " + c.Path }
