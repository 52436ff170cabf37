package safefile

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// openRegular opens path with flags (O_RDONLY, or O_WRONLY and O_TRUNC)
// if it is a regular file. It first
// opens it with O_PATH, which opens nothing (no driver runs, no FIFO
// blocks) and does not follow a final symbolic link; only once that
// descriptor is known to be a regular file is the same file opened for
// reading or writing, through /proc/self/fd, so it cannot be swapped in
// between.
func openRegular(path string, flags int) (*os.File, error) {
	pfd, err := unix.Open(path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, pathError("open", path, err)
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		return nil, pathError("stat", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, notRegular(path, st.Mode)
	}
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(pfd), flags|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, pathError("open", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}
