package lab

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	Main(m, Roles{"echo": func(args []string) int { fmt.Println(strings.Join(args, " ")); return 3 }})
}

// TestIntegrationStartRole runs this test binary again as a role in a
// node: it gets its arguments and its exit status is the role's.
func TestIntegrationStartRole(t *testing.T) {
	n := New(t).Node("n")
	p := n.StartRole("echo", "a", "b")
	err := p.Wait(10 * time.Second)
	if out := p.Out.String(); out != "a b\n" || err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("role: %v, output %q", err, out)
	}
}
