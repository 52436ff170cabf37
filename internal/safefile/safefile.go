// Package safefile reads small files that other people write (track files,
// FILE_CHECK files) without letting them stall or exhaust lbd, which runs
// as root: the file is opened without blocking and without following a
// symbolic link, must be a regular file, and only a bounded prefix of it
// is read. A FIFO, a device, a symlink to /etc/shadow or a 64 GB sparse
// file therefore cost one system call and an error, never a hang, an
// out-of-memory crash or a leak of another file's content.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// ErrNotRegular is returned for anything but a regular file.
var ErrNotRegular = errors.New("not a regular file")

// ReadPrefix returns at most max bytes from the start of the regular file
// at path. It never blocks on the open (O_NONBLOCK) and refuses a path
// whose last component is a symbolic link (O_NOFOLLOW).
func ReadPrefix(path string, max int64) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, fmt.Errorf("%s: a symbolic link (refused): %w", path, ErrNotRegular)
		}
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %v: %w", path, st.Mode().Type(), ErrNotRegular)
	}
	return io.ReadAll(io.LimitReader(f, max))
}
