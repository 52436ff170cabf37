package script

import (
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// maxLinks bounds the symbolic links followed while checking one path, as
// the kernel's own limit does (a loop would otherwise never end).
const maxLinks = 40

// checkSecure applies keepalived's enable_script_security rules (2.2.7)
// to the program at path, which runs as uid. lbd applies them always,
// where keepalived needs the option, and to scripts of every user, where
// keepalived checks only root's. Whoever can change the program, or
// replace it or any directory on its way, runs code as uid (root, for
// most scripts), so every file, directory and symbolic link the kernel
// goes through to reach it, following links hop by hop, must be
//
//   - owned by root or by uid (a script run as a user may be that user's:
//     the user gains nothing by changing it), and
//   - not writable by others, nor by a group other than root's. A
//     directory with the sticky bit (/tmp) may be: others can add entries
//     to it but not rename or remove the owner's.
//
// The path must end at a regular file. Checking each hop rather than the
// resolved path alone also catches a link in a safe place that goes
// through an unsafe directory to a safe-looking target.
func checkSecure(path string, uid uint32) error {
	if err := walkSecure(path, uid); err != nil {
		return fmt.Errorf("script %s: %w", path, err)
	}
	return nil
}

func walkSecure(path string, uid uint32) error {
	dir, rest, links := "/", strings.Split(path, "/"), 0
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if err := secure(dir, fi, uid); err != nil {
		return err
	}
	for len(rest) > 0 {
		name := rest[0]
		rest = rest[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			// dir holds no link, so its parent is what the kernel's
			// ".." is.
			if i := strings.LastIndexByte(dir, '/'); i > 0 {
				dir = dir[:i]
			} else {
				dir = "/"
			}
			continue
		}
		p := strings.TrimSuffix(dir, "/") + "/" + name
		if fi, err = os.Lstat(p); err != nil {
			return err
		}
		if err := secure(p, fi, uid); err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			dir = p
			continue
		}
		if links++; links > maxLinks {
			return fmt.Errorf("%s: %w", p, syscall.ELOOP)
		}
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		if strings.HasPrefix(target, "/") {
			dir = "/"
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	if fi, err = os.Lstat(dir); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", dir)
	}
	return nil
}

// secure checks the owner and mode of one file, directory or link.
func secure(p string, fi fs.FileInfo, uid uint32) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: no owner information", p)
	}
	mode := fi.Mode()
	switch {
	case st.Uid != 0 && st.Uid != uid:
		owners := "root"
		if uid != 0 {
			owners += " or uid " + strconv.FormatUint(uint64(uid), 10)
		}
		return fmt.Errorf("%s is owned by uid %d, not %s", p, st.Uid, owners)
	case mode&fs.ModeSymlink != 0, mode.IsDir() && mode&fs.ModeSticky != 0:
		// A link's own mode means nothing; see checkSecure for sticky.
	case mode&0o002 != 0:
		return fmt.Errorf("%s is writable by others (%v)", p, mode)
	case mode&0o020 != 0 && st.Gid != 0:
		return fmt.Errorf("%s is writable by group %d (%v)", p, st.Gid, mode)
	}
	return nil
}
