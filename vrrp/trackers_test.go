package vrrp

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestHysteresis(t *testing.T) {
	h := hysteresis{up: true, rise: 2, fall: 3}
	var changes []bool
	for _, ok := range []bool{false, false, true, false, false, false, true, true, false, true} {
		if h.add(ok) {
			changes = append(changes, h.up)
		}
	}
	// down after 3 consecutive failures (the success resets the count),
	// up again after 2 consecutive successes.
	if !slices.Equal(changes, []bool{false, true}) || !h.up {
		t.Errorf("changes %v, up %v", changes, h.up)
	}
}

func TestReadTrackFile(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		content string
		want    int
		err     bool
	}{{"5\n", 5, false}, {"-3", -3, false}, {"", 0, false}, {"x", 0, true}} {
		p := filepath.Join(dir, "f")
		os.WriteFile(p, []byte(c.content), 0o644)
		v, err := ReadTrackFile(p)
		if v != c.want || (err != nil) != c.err {
			t.Errorf("%q: %d, %v", c.content, v, err)
		}
	}
	if v, err := ReadTrackFile(filepath.Join(dir, "missing")); v != 0 || err == nil {
		t.Errorf("missing file: %d, %v", v, err)
	}
}
