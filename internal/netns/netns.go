// Package netns puts an lbd command into the network namespace its
// configuration names (global.net_namespace, keepalived's net_namespace):
// the file /var/run/netns/NAME that `ip netns add NAME` creates.
//
// setns(2) moves only the calling thread, and a Go program has many, so
// Enter does not move the running process: it opens the namespace file
// (an nsfs file of a network namespace, or it refuses), joins it from a
// thread of its own and there executes /proc/self/exe again with the same
// arguments. execve from a thread inside the namespace starts the whole
// new program in it, with the same PID (systemd's main PID stays), the
// same open standard streams and the environment plus EnteredEnv. The new
// program reaches Enter again, finds itself inside (the inode of
// /proc/thread-self/ns/net is the file's) and goes on; EnteredEnv only
// keeps a failed check from executing again for ever.
//
// A process started inside the namespace (systemd's
// NetworkNamespacePath=, ip netns exec) is recognised the same way and not
// executed again; that is how lbd.service runs it, because the unit's
// sandbox forbids setns(2) and must be set up inside the namespace anyway
// (see docs/operations.md).
//
// Nothing else is namespaced: /sys is not mounted again as ip netns exec
// does (lbd reads no /sys/class/net; it finds interfaces over netlink, and
// /proc/sys/net and /proc/net follow the reader's namespace), and no mount
// namespace is made (keepalived makes one only for its pid files).
package netns

import "path/filepath"

// Dir is where ip netns keeps the named network namespaces.
const Dir = "/var/run/netns"

// EnteredEnv is set, to the namespace's name, in the environment of the
// program Enter executes inside the namespace. Enter removes it from the
// environment again, so the scripts and commands lbd runs do not inherit
// it.
const EnteredEnv = "LBD_NETNS_ENTERED"

// Path is the file of the network namespace name.
func Path(name string) string { return filepath.Join(Dir, name) }

// How says how the process came to be in the namespace.
type How int

const (
	// StartedIn: the process was started inside it (systemd
	// NetworkNamespacePath=, ip netns exec).
	StartedIn How = iota
	// Entered: Enter executed lbd again inside it.
	Entered
)

func (h How) String() string {
	if h == Entered {
		return "entered"
	}
	return "started in it"
}
