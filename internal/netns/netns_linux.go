package netns

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Check reports whether the network namespace name exists, without
// entering it (lbd -t).
func Check(name string) error {
	fd, _, err := open(name, Path(name))
	if err != nil {
		return err
	}
	unix.Close(fd)
	return nil
}

// Enter puts the process into the network namespace name. It returns
// when the process is inside, having been started there or executed again
// there (see the package documentation); otherwise it does not return,
// except with an error saying why lbd cannot enter it. Call it before the
// process opens a socket or starts work: what came before the execution
// is gone.
func Enter(name string) (How, error) {
	return enter(name, Path(name))
}

func enter(name, path string) (How, error) {
	marker, marked := os.LookupEnv(EnteredEnv)
	marked = marked && marker == name
	os.Unsetenv(EnteredEnv)
	fd, target, err := open(name, path)
	if err != nil {
		return 0, err
	}
	in, err := inside(target)
	switch {
	case err != nil:
		unix.Close(fd)
		return 0, err
	case in && marked:
		unix.Close(fd)
		return Entered, nil
	case in:
		unix.Close(fd)
		return StartedIn, nil
	case marked:
		unix.Close(fd)
		return 0, fmt.Errorf("network namespace %s: lbd was executed again inside %s, but is not in it", name, path)
	}
	return 0, execIn(fd, name, path)
}

// open opens the namespace file path and checks that it is a network
// namespace: a file of nsfs (what ip netns mounts on it) of type
// CLONE_NEWNET.
func open(name, path string) (int, unix.Stat_t, error) {
	var st unix.Stat_t
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	switch {
	case errors.Is(err, unix.ENOENT):
		return -1, st, fmt.Errorf("network namespace %s: %s does not exist (ip netns add %s creates it)", name, path, name)
	case err != nil:
		return -1, st, fmt.Errorf("network namespace %s: %w", name, &os.PathError{Op: "open", Path: path, Err: err})
	}
	fail := func(format string, args ...any) (int, unix.Stat_t, error) {
		unix.Close(fd)
		return -1, st, fmt.Errorf("network namespace %s: "+format, append([]any{name}, args...)...)
	}
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		return fail("statfs %s: %v", path, err)
	}
	if fs.Type != unix.NSFS_MAGIC {
		return fail("%s is not a namespace: no namespace is mounted on it (ip netns add %s makes one)", path, name)
	}
	// NS_GET_NSTYPE is Linux 4.11's; on an older kernel setns says it.
	if t, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE); err == nil && t != unix.CLONE_NEWNET {
		return fail("%s is a namespace of another kind (%#x), not a network namespace", path, t)
	}
	if err := unix.Fstat(fd, &st); err != nil {
		return fail("stat %s: %v", path, err)
	}
	return fd, st, nil
}

// ID identifies a network namespace: the device and inode of its nsfs
// file, the same whichever path or process shows it.
type ID struct{ Dev, Ino uint64 }

// Current is the network namespace of the calling thread.
func Current() (ID, error) {
	var self unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &self); err != nil {
		return ID{}, fmt.Errorf("read this thread's network namespace: %w", err)
	}
	return ID{self.Dev, self.Ino}, nil
}

// inside reports whether the calling thread is in the namespace whose
// file has st. Every thread of lbd is in the same one: only execIn's
// thread ever moves, and it executes or dies.
func inside(st unix.Stat_t) (bool, error) {
	self, err := Current()
	if err != nil {
		return false, err
	}
	return self == ID{st.Dev, st.Ino}, nil
}

// execIn joins the namespace fd from a thread of its own and executes
// lbd again there. It returns only the reason it could not.
func execIn(fd int, name, path string) error {
	env := []string{EnteredEnv + "=" + name}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, EnteredEnv+"=") {
			env = append(env, kv)
		}
	}
	errc := make(chan error, 1)
	go func() {
		// The thread stays locked: should the execution fail after
		// setns, it ends with this goroutine instead of running others
		// inside the namespace.
		runtime.LockOSThread()
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- setnsError(name, path, err)
			return
		}
		err := syscall.Exec("/proc/self/exe", os.Args, env)
		errc <- fmt.Errorf("network namespace %s: execute lbd again inside it: %w", name, &os.PathError{Op: "exec", Path: "/proc/self/exe", Err: err})
	}()
	return <-errc
}

func setnsError(name, path string, err error) error {
	if errors.Is(err, unix.EPERM) {
		return fmt.Errorf("network namespace %s: setns: %w: entering a namespace needs CAP_SYS_ADMIN and no seccomp "+
			"filter against it (systemd's RestrictNamespaces=); under systemd let the unit start lbd inside it instead: "+
			"systemctl edit lbd, [Service] NetworkNamespacePath=%s", name, err, path)
	}
	return fmt.Errorf("network namespace %s: setns %s: %w", name, path, err)
}
