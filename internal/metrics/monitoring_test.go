package metrics

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lbd-project/lbd/internal/lab"
)

// monitoring is where the alerting rules and the Grafana dashboard that
// ship with lbd (and in its Debian package) are.
const monitoring = "../../docs/monitoring"

var seriesName = regexp.MustCompile(`\blbd_[a-z_]+[a-z]\b`)

// exported returns the names of the series this package defines.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	quoted := regexp.MustCompile(`"(lbd_[a-z_]+)"`)
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range quoted.FindAllStringSubmatch(string(src), -1) {
				names[m[1]] = true
			}
		}
	}
	return names
}

// checkSeries fails for every lbd_ series text names that lbd does not
// export (a histogram's _bucket, _sum and _count come with its name).
func checkSeries(t *testing.T, file string, text []byte, names map[string]bool) {
	t.Helper()
	n := 0
	for _, s := range seriesName.FindAllString(string(text), -1) {
		n++
		base := regexp.MustCompile(`_(bucket|sum|count)$`).ReplaceAllString(s, "")
		if !names[s] && !names[base] {
			t.Errorf("%s uses %s, which lbd does not export", file, s)
		}
	}
	if n == 0 {
		t.Errorf("%s uses no lbd series", file)
	}
}

// TestAlertingRules checks docs/monitoring/lbd.rules.yml with promtool
// and that every series it uses is one lbd exports.
func TestAlertingRules(t *testing.T) {
	path := filepath.Join(monitoring, "lbd.rules.yml")
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkSeries(t, path, text, exported(t))
	lab.RequireCommand(t, "promtool")
	if out, err := exec.Command("promtool", "check", "rules", path).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules %s: %v\n%s", path, err, out)
	}
}

// TestDashboard checks that the Grafana dashboard is JSON with panels
// whose queries use only series lbd exports.
func TestDashboard(t *testing.T) {
	path := filepath.Join(monitoring, "lbd.dashboard.json")
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(text, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if d.Title == "" || len(d.Panels) == 0 {
		t.Fatalf("%s: no title or no panels", path)
	}
	for _, p := range d.Panels {
		if len(p.Targets) == 0 || p.Targets[0].Expr == "" {
			t.Errorf("%s: panel %q has no query", path, p.Title)
		}
	}
	checkSeries(t, path, text, exported(t))
}
