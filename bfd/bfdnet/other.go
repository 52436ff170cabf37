//go:build !linux

package bfdnet

import (
	"errors"

	"github.com/lbd-project/lbd/bfd"
)

// ListenConfig configures Listen (Linux only).
type ListenConfig struct {
	Device string
}

// Listen is not supported on this platform.
func Listen(ListenConfig) (bfd.Conn, error) {
	return nil, errors.New("bfdnet: only supported on Linux")
}
