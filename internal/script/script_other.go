//go:build !linux

package script

import (
	"context"
	"errors"
	"os/exec"
	"syscall"
)

// run refuses: process groups and the kill of a whole group are written
// for Linux, the only system lbd runs on.
func run(context.Context, *exec.Cmd, *syscall.Credential) Result {
	return Result{Exit: -1, Err: errors.New("script: running programs needs Linux")}
}
