// Package safefile reads files that other people write or name (track
// files, FILE_CHECK files, a configuration a control-socket client asks
// about), and writes the track files lbd initialises, without letting
// them stall, fool or exhaust lbd, which runs as root: the file must be a
// regular file, reached without following a final symbolic link, opened
// without blocking and without opening anything else first, and only a
// bounded prefix of it is read. A FIFO, a device (/dev/watchdog), a
// symlink to /etc/shadow or a 64 GB sparse file therefore cost a few
// system calls and an error, never a hang, a side effect, an
// out-of-memory crash or another file's content.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// ErrNotRegular is wrapped by the error for anything but a regular file.
var ErrNotRegular = errors.New("not a regular file")

// ReadPrefix returns at most max bytes from the start of the regular file
// at path.
func ReadPrefix(path string, max int64) ([]byte, error) {
	f, err := openRegular(path, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, max))
}

// Init writes content to the file at path when it does not exist
// (created with mode 0644, never through a final symbolic link), and with
// overwrite also when it does, then only if it is a regular file (a FIFO
// or a device is refused unopened). It reports whether it wrote.
func Init(path string, content []byte, overwrite bool) (bool, error) {
	var f *os.File
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NOCTTY, 0o644)
	switch {
	case err == nil:
		f = os.NewFile(uintptr(fd), path)
	case errors.Is(err, unix.EEXIST) && overwrite:
		if f, err = openRegular(path, unix.O_WRONLY|unix.O_TRUNC); err != nil {
			return false, err
		}
	case errors.Is(err, unix.EEXIST):
		return false, nil
	default:
		return false, pathError("create", path, err)
	}
	_, werr := f.Write(content)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return false, &os.PathError{Op: "write", Path: path, Err: werr}
	}
	return true, nil
}

// notRegular describes why path, of type mode (unix.S_IF*), is refused.
func notRegular(path string, mode uint32) error {
	kind := "of an unknown type"
	switch mode & unix.S_IFMT {
	case unix.S_IFLNK:
		kind = "a symbolic link"
	case unix.S_IFIFO:
		kind = "a FIFO"
	case unix.S_IFCHR, unix.S_IFBLK:
		kind = "a device"
	case unix.S_IFDIR:
		kind = "a directory"
	case unix.S_IFSOCK:
		kind = "a socket"
	}
	return fmt.Errorf("%s is %s: %w", path, kind, ErrNotRegular)
}

// pathError wraps a system call's error as os.Open would, so that
// errors.Is(err, fs.ErrNotExist) works; ELOOP (a final symbolic link under
// O_NOFOLLOW) becomes the not-a-regular-file error.
func pathError(op, path string, err error) error {
	if errors.Is(err, unix.ELOOP) {
		return notRegular(path, unix.S_IFLNK)
	}
	return &os.PathError{Op: op, Path: path, Err: err}
}
