//go:build !linux

package ipvs

import "errors"

// Open fails off Linux. The rest of the package (types, validation, Diff)
// works anywhere, so code that builds IPVS tables compiles and tests on
// any system.
func Open() (*Client, error) {
	return nil, errors.New("ipvs: needs Linux (IPVS is a Linux kernel feature)")
}
