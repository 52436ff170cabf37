//go:build !linux

package script

import "context"

// StartReaper does nothing: child subreapers are Linux's, and Run starts
// nothing elsewhere.
func StartReaper(context.Context) (stop func()) { return func() {} }
