package conf

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// MaxClientFileSize bounds the file LoadClientFile reads.
const MaxClientFileSize = 64 << 20

// LoadClientFile is Load for a path named by a client of the control
// socket, which the daemon reads as root on the client's behalf. It reads
// only a regular file of at most MaxClientFileSize, not through a symbolic
// link (in the last component), and never opens anything else: a FIFO
// would block the daemon and opening a device can have effects of its own
// (/dev/watchdog). Its errors name the file and the first problem's
// position but carry none of the file's text, so that a client cannot read
// a file such as /etc/shadow through them; `lbd -t -f FILE`, run by someone
// who may read the file, shows the details.
func LoadClientFile(path string) (*Config, error) {
	data, err := readClientFile(path)
	if err != nil {
		return nil, fmt.Errorf("conf: %w", err)
	}
	cfg, err := Parse(path, data)
	var list ErrorList
	if errors.As(err, &list) {
		problems := "1 problem"
		if len(list) > 1 {
			problems = strconv.Itoa(len(list)) + " problems"
		}
		return nil, ErrorList{{Pos: list[0].Pos, Msg: fmt.Sprintf(
			"not a valid lbd configuration (%s); lbd does not send the text of a file it reads for a client: run `lbd -t -f %s` to see the details",
			problems, path)}}
	}
	return cfg, err
}

// readClientFile reads path as LoadClientFile describes. The path is first
// opened with O_PATH, which opens nothing (no driver runs, no FIFO blocks)
// and does not follow a final symbolic link; only once that descriptor is
// known to be a regular file is the same file opened for reading, through
// /proc/self/fd, so it cannot be swapped for another in between.
func readClientFile(path string) ([]byte, error) {
	pfd, err := unix.Open(path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if kind := fileKind(st.Mode); kind != "" {
		return nil, fmt.Errorf("%s is %s, not a regular file; lbd reads only regular files for a client", path, kind)
	}
	if st.Size > MaxClientFileSize {
		return nil, fmt.Errorf("%s is larger than %d MiB (%d bytes); lbd does not read it for a client", path, MaxClientFileSize>>20, st.Size)
	}
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(pfd), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	// The file may grow after the check.
	data, err := io.ReadAll(io.LimitReader(f, MaxClientFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxClientFileSize {
		return nil, fmt.Errorf("%s grew larger than %d MiB while read; lbd does not read it for a client", path, MaxClientFileSize>>20)
	}
	return data, nil
}

// fileKind names the type in mode unless it is a regular file.
func fileKind(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return ""
	case unix.S_IFLNK:
		return "a symbolic link"
	case unix.S_IFIFO:
		return "a FIFO"
	case unix.S_IFCHR, unix.S_IFBLK:
		return "a device"
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFSOCK:
		return "a socket"
	}
	return "of an unknown type"
}
