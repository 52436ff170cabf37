package scaleout

import "testing"

func TestSameRoute(t *testing.T) {
	const was = "203.0.113.10/32 unicast [lb1 04:43:23.416] * (100)\n\tvia 192.0.2.11 on eth0\n"
	for _, tc := range []struct {
		now  string
		same bool
	}{
		{"203.0.113.10/32 unicast [lb1 04:43:23.417] * (100)\n\tvia 192.0.2.11 on eth0\n", true},
		{"203.0.113.10/32 unicast [lb1 04:43:25.417] * (100)\n\tvia 192.0.2.11 on eth0\n", false},
		{"203.0.113.10/32 unicast [lb1 04:43:23.416] * (100)\n\tvia 192.0.2.12 on eth0\n", false},
	} {
		if got := sameRoute(tc.now, was); got != tc.same {
			t.Errorf("sameRoute(%q) = %v, want %v", tc.now, got, tc.same)
		}
	}
}
