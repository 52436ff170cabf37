//go:build !linux

package netns

import "errors"

var errNotLinux = errors.New("network namespaces exist only on Linux")

// Check reports whether the network namespace name exists; never, here.
func Check(name string) error { return errNotLinux }

// Enter puts the process into the network namespace name; it cannot here.
func Enter(name string) (How, error) { return 0, errNotLinux }
