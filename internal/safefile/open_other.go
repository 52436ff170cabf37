//go:build !linux

package safefile

import (
	"os"

	"golang.org/x/sys/unix"
)

// openRegular opens path with flags if it is a regular file: without
// blocking (a FIFO) and without following a final symbolic link. Without
// Linux's O_PATH the file is opened before its type is known.
func openRegular(path string, flags int) (*os.File, error) {
	fd, err := unix.Open(path, flags|unix.O_NONBLOCK|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, pathError("open", path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, pathError("stat", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, notRegular(path, uint32(st.Mode))
	}
	return os.NewFile(uintptr(fd), path), nil
}
