package ipvs

import (
	"fmt"
	"slices"
	"strings"
)

// Schedulers lists the scheduler names the kernel ships (ip_vs_<name>.ko).
var Schedulers = []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"}

// SchedFlags are the three scheduler flags of a service
// (IP_VS_SVC_F_SCHED1..3). Their meaning depends on the scheduler, which is
// why the kernel header shares the bits between sh and mh.
type SchedFlags uint8

// Scheduler flags, by bit and by the name ipvsadm gives them.
const (
	SchedFlag1 SchedFlags = 1 << 0
	SchedFlag2 SchedFlags = 1 << 1
	SchedFlag3 SchedFlags = 1 << 2

	SHFallback = SchedFlag1 // sh: skip overloaded or zero-weight servers
	SHPort     = SchedFlag2 // sh: hash the source port too
	MHFallback = SchedFlag1 // mh: skip overloaded or zero-weight servers
	MHPort     = SchedFlag2 // mh: hash the source port too
)

// schedFlagNames are ipvsadm's names for the flags of the schedulers that
// define any; other schedulers accept none.
var schedFlagNames = map[string][]string{
	"sh": {"sh-fallback", "sh-port"},
	"mh": {"mh-fallback", "mh-port"},
}

// FormatSchedFlags returns ipvsadm's comma-separated names of f for the
// scheduler, e.g. "sh-fallback,sh-port". Bits the scheduler does not define
// are written "flag-N".
func FormatSchedFlags(scheduler string, f SchedFlags) string {
	names := schedFlagNames[scheduler]
	var out []string
	for i := range 3 {
		if f&(1<<i) == 0 {
			continue
		}
		if i < len(names) {
			out = append(out, names[i])
		} else {
			out = append(out, fmt.Sprintf("flag-%d", i+1))
		}
	}
	return strings.Join(out, ",")
}

// ParseSchedFlags parses ipvsadm's -b argument for the scheduler, e.g.
// "sh-fallback,sh-port". It accepts only names the scheduler defines.
func ParseSchedFlags(scheduler, s string) (SchedFlags, error) {
	var f SchedFlags
	if s == "" {
		return 0, nil
	}
	names := schedFlagNames[scheduler]
	for _, word := range strings.Split(s, ",") {
		i := slices.Index(names, word)
		if i < 0 {
			return 0, fmt.Errorf("ipvs: scheduler %q has no flag %q", scheduler, word)
		}
		f |= 1 << i
	}
	return f, nil
}

// validSchedFlags returns the flags the scheduler defines.
func validSchedFlags(scheduler string) SchedFlags {
	return SchedFlags(1<<len(schedFlagNames[scheduler]) - 1)
}
