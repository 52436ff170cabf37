package keepalived

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lbd-project/lbd/conf"
)

var update = flag.Bool("update", false, "rewrite the golden .yaml and .report files")

// corpus lists the test files, whether their conversion changes
// behaviour, and the config-ids they are read with.
var corpus = []struct {
	path      string
	behaviour bool
	ids       []string
}{
	{"testdata/dr_web_http_digest.conf", false, nil},
	{"testdata/nat_sorry.conf", false, nil},
	{"testdata/unicast_vrrp.conf", false, nil},
	{"testdata/ipv6_v3.conf", false, nil},
	{"testdata/fwmark_groups.conf", false, nil},
	{"testdata/misc_check.conf", false, nil},
	{"testdata/track_files.conf", false, nil},
	{"testdata/several_checkers.conf", false, nil},
	{"testdata/include_param_seq/keepalived.conf", false, []string{"lb1"}},
	{"testdata/unsupported.conf", true, nil},
	{"testdata/silent.conf", true, nil},
	{"testdata/lenient.conf", true, nil},
	{"testdata/smtp_check.conf", true, nil},
}

func golden(path string) string {
	if filepath.Base(path) == "keepalived.conf" {
		return filepath.Dir(path)
	}
	return strings.TrimSuffix(path, ".conf")
}

func TestCorpus(t *testing.T) {
	for _, tc := range corpus {
		t.Run(tc.path, func(t *testing.T) {
			res, err := ImportWith(tc.path, Options{ParseOptions{ConfigIDs: tc.ids}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conf.Parse("converted.yaml", res.YAML); err != nil {
				t.Fatalf("converted file does not pass conf.Parse: %v\n%s", err, res.YAML)
			}
			if got := ChangesBehaviour(res.Findings); got != tc.behaviour {
				t.Errorf("ChangesBehaviour = %v, want %v:\n%s", got, tc.behaviour, Report(res.Findings))
			}
			report := []byte(Report(res.Findings))
			for ext, got := range map[string][]byte{".yaml": res.YAML, ".report": report} {
				name := golden(tc.path) + ext
				if *update {
					if err := os.WriteFile(name, got, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(name)
				if err != nil {
					t.Fatalf("%v (run go test -update)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs (run go test -update and review):\n%s", name, got)
				}
			}
		})
	}
}

// withoutStopAndPacing drops from fs the findings of what keepalived does
// otherwise whatever the file says: it removes static addresses, routes
// and rules when it stops, and sends two gratuitous ARPs per paced burst.
// A test that compares the VIPs a Master adds, or round-trips an export,
// is not concerned by them.
func withoutStopAndPacing(fs []Finding) []Finding {
	return slices.DeleteFunc(slices.Clone(fs), func(f Finding) bool {
		return f.Severity == Approximated && (strings.HasPrefix(f.Keyword, "static_") ||
			f.Keyword == "garp_interval" || f.Keyword == "vrrp_garp_interval")
	})
}
