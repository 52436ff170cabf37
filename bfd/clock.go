package bfd

import "github.com/lbd-project/lbd/internal/clock"

// Clock is the time source of a [Manager]. Tests inject a fake one (package
// bfd/bfdtest) so that detection times are checked without sleeping.
type Clock = clock.Clock

// SystemClock is the real clock.
type SystemClock = clock.System
