package vrrp

import "time"

// SkewTime returns Skew_Time for a router of the given priority.
//
// VRRPv3 (RFC 5798 section 6.1): ((256 - Priority) * Master_Adver_Interval) / 256.
// VRRPv2 (RFC 3768 section 6.1): (256 - Priority) / 256 seconds, whatever
// the interval.
func SkewTime(v Version, priority uint8, masterAdverInterval time.Duration) time.Duration {
	p := time.Duration(256 - int(priority))
	if v == Version2 {
		return p * time.Second / 256
	}
	return p * masterAdverInterval / 256
}

// MasterDownInterval returns Master_Down_Interval:
// 3 * Master_Adver_Interval + Skew_Time (both RFCs; VRRPv2 calls the
// interval Advertisement_Interval and it is always the configured one).
func MasterDownInterval(v Version, priority uint8, masterAdverInterval time.Duration) time.Duration {
	return 3*masterAdverInterval + SkewTime(v, priority, masterAdverInterval)
}
