package healthcheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/lbd-project/lbd/internal/safefile"
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
	v, err := readFileValue(c.Path)
	what := fmt.Sprintf("file value %d", v)
	if err != nil {
		what = fmt.Sprintf("file value 0 (%v)", err)
	}
	if c.Weight == 0 {
		if v != 0 {
			return fail(start, what)
		}
		return pass(start, what)
	}
	w := v * int64(c.Weight)
	if c.Reverse {
		w = -w
	}
	if w <= -254 {
		return fail(start, fmt.Sprintf("file value %d, weight %d", v, w))
	}
	r := pass(start, what)
	if c.Dynamic {
		r.Weight = int(max(w, 0))
	}
	return r
}

// readFileValue returns the leading integer of the file, 0 if none. The
// file is read the safe way (package safefile): a FIFO, a device or a
// symbolic link reads as 0 with the error, and only a prefix is read.
func readFileValue(path string) (int64, error) {
	b, err := safefile.ReadPrefix(path, maxFileRead)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			err = nil // keepalived: a missing file is 0
		}
		return 0, err
	}
	fields := bytes.Fields(b)
	if len(fields) == 0 {
		return 0, nil
	}
	v, _ := strconv.ParseInt(string(fields[0]), 10, 32)
	return v, nil
}

// String implements Checker.
func (c *FileChecker) String() string { return "FILE_CHECK " + c.Path }
