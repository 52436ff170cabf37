package healthcheck

import (
	"fmt"
	"strconv"
	"strings"
)

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct{ Min, Max int }

// StatusRanges is keepalived's status_code list, e.g. "200-299 503".
// An empty list means DefaultStatusRanges.
type StatusRanges []StatusRange

// DefaultStatusRanges is keepalived's default: any 2xx.
var DefaultStatusRanges = StatusRanges{{200, 299}}

// ParseStatusRanges parses keepalived status_code arguments: single codes
// and min-max ranges, each within 100-999 as keepalived allows.
func ParseStatusRanges(args ...string) (StatusRanges, error) {
	var rs StatusRanges
	for _, a := range args {
		lo, hi, isRange := strings.Cut(a, "-")
		if !isRange {
			hi = lo
		}
		min, err1 := strconv.Atoi(lo)
		max, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || min < 100 || max > 999 || min > max {
			return nil, fmt.Errorf("healthcheck: invalid HTTP status code %q", a)
		}
		rs = append(rs, StatusRange{min, max})
	}
	return rs, nil
}

// Contains reports whether code is in the list (or in the default 2xx when
// the list is empty).
func (rs StatusRanges) Contains(code int) bool {
	if len(rs) == 0 {
		rs = DefaultStatusRanges
	}
	for _, r := range rs {
		if code >= r.Min && code <= r.Max {
			return true
		}
	}
	return false
}

// String formats the list the way it is configured, e.g. "200-299,503".
func (rs StatusRanges) String() string {
	if len(rs) == 0 {
		rs = DefaultStatusRanges
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		if r.Min == r.Max {
			parts[i] = strconv.Itoa(r.Min)
		} else {
			parts[i] = fmt.Sprintf("%d-%d", r.Min, r.Max)
		}
	}
	return strings.Join(parts, ",")
}
