package vrrp

import "fmt"

// TrackKind says what a tracked object watches. It only changes how a
// status is read: files carry a number, the others are up or down.
type TrackKind uint8

// Kinds of tracked objects, after keepalived's track_interface,
// track_script, track_file and track_process.
const (
	TrackInterface TrackKind = iota
	TrackScript
	TrackFile
	TrackProcess
)

// String returns the keepalived keyword of the kind.
func (k TrackKind) String() string {
	switch k {
	case TrackInterface:
		return "track_interface"
	case TrackScript:
		return "track_script"
	case TrackFile:
		return "track_file"
	case TrackProcess:
		return "track_process"
	}
	return fmt.Sprintf("TrackKind(%d)", uint8(k))
}

// Weight limits (keepalived.conf(5)).
const (
	MaxTrackWeight     = 253 // interfaces, scripts, processes: -253..253
	MaxTrackFileWeight = 254 // files: -254..254, the value read multiplies it
)

// Track is one object an instance tracks, with keepalived semantics:
//
//   - Weight 0: the object failing puts the instance in Fault (with Reverse,
//     the object being up does).
//   - Weight > 0: Weight is added to the priority while the object is up
//     (with Reverse: subtracted while it is up).
//   - Weight < 0: |Weight| is subtracted while the object is down (with
//     Reverse: added while it is down).
//   - Files: Value from the file; with weight 0 a non-zero value is a
//     failure, otherwise Value*Weight (negated by Reverse) is added, and a
//     result below -253 is a failure.
//
// The effective priority is the base priority plus every contribution,
// clamped to 1..254; the address owner (priority 255) is never moved.
type Track struct {
	Name     string
	Kind     TrackKind
	Weight   int
	Reverse  bool
	InitFail bool // the object starts failed (keepalived init_fail)
}

// TrackStatus is the current state of one tracked object.
type TrackStatus struct {
	Up    bool // interfaces, scripts, processes
	Value int  // files
}

// validate checks the weight range.
func (t Track) validate() error {
	limit := MaxTrackWeight
	if t.Kind == TrackFile {
		limit = MaxTrackFileWeight
	}
	if t.Name == "" {
		return fmt.Errorf("vrrp: %v without a name", t.Kind)
	}
	if t.Weight < -limit || t.Weight > limit {
		return fmt.Errorf("vrrp: %v %q: weight %d outside -%d..%d", t.Kind, t.Name, t.Weight, limit, limit)
	}
	return nil
}

// initial returns the status the object starts with.
func (t Track) initial() TrackStatus {
	if t.Kind == TrackFile {
		if t.InitFail {
			return TrackStatus{Value: 1}
		}
		return TrackStatus{}
	}
	return TrackStatus{Up: !t.InitFail}
}

// Contribution returns how much the object in status s adds to the
// priority, and whether it puts the instance in Fault.
func (t Track) Contribution(s TrackStatus) (delta int, fault bool) {
	sign := 1
	if t.Reverse {
		sign = -1
	}
	if t.Kind == TrackFile {
		if t.Weight == 0 {
			return 0, (s.Value != 0) != t.Reverse
		}
		r := s.Value * t.Weight * sign
		if r < -MaxTrackWeight {
			return 0, true
		}
		return min(r, MaxTrackWeight), false
	}
	switch {
	case t.Weight == 0:
		return 0, s.Up == t.Reverse
	case t.Weight > 0 && s.Up:
		return t.Weight * sign, false
	case t.Weight < 0 && !s.Up:
		return t.Weight * sign, false
	}
	return 0, false
}

// EffectivePriority returns the priority of an instance with the given base
// priority whose tracked objects contribute delta in total: the address
// owner keeps 255, everyone else is clamped to 1..254.
func EffectivePriority(base uint8, delta int) uint8 {
	if base == PriorityOwner {
		return PriorityOwner
	}
	return uint8(min(max(int(base)+delta, 1), PriorityOwner-1))
}
