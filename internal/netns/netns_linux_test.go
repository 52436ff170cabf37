package netns

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lbd-project/lbd/internal/lab"
)

// helperEnv makes the test binary, started by TestEnterExecutesInside,
// enter the namespace it names and print where it is.
const helperEnv = "LBD_NETNS_TEST_ENTER"

func TestMain(m *testing.M) {
	if name := os.Getenv(helperEnv); name != "" {
		how, err := Enter(name)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		var st syscall.Stat_t
		if err := syscall.Stat("/proc/self/ns/net", &st); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		marker, marked := os.LookupEnv(EnteredEnv)
		fmt.Printf("how=%s pid=%d ino=%d marker=%v%s\n", how, os.Getpid(), st.Ino, marked, marker)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestOpenRefuses: a file that is not a network namespace is refused
// with what it is instead and how to make one.
func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, path, want string }{
		{"blue", filepath.Join(dir, "blue"), "network namespace blue: " + dir + "/blue does not exist (ip netns add blue creates it)"},
		{"plain", plain, "is not a namespace: no namespace is mounted on it (ip netns add plain makes one)"},
		{"uts", "/proc/self/ns/uts", "/proc/self/ns/uts is a namespace of another kind (0x4000000), not a network namespace"},
	} {
		fd, _, err := open(c.name, c.path)
		if err == nil {
			syscall.Close(fd)
			t.Errorf("%s: accepted", c.path)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.path, err, c.want)
		}
	}
	if err := Check("lbdtest-none-" + filepath.Base(dir)); err == nil || !strings.Contains(err.Error(), "does not exist (ip netns add lbdtest-none-") {
		t.Errorf("Check of a missing namespace: %v", err)
	}
}

// TestEnterStartedIn: a process already in the namespace stays as it is,
// and drops the marker so that what it runs does not inherit it.
func TestEnterStartedIn(t *testing.T) {
	for _, c := range []struct {
		marker string
		want   How
	}{{"", StartedIn}, {"self", Entered}, {"another", StartedIn}} {
		if c.marker != "" {
			t.Setenv(EnteredEnv, c.marker)
		}
		how, err := enter("self", "/proc/self/ns/net")
		if err != nil || how != c.want {
			t.Errorf("marker %q: %v, %v; want %v", c.marker, how, err, c.want)
		}
		if v, ok := os.LookupEnv(EnteredEnv); ok {
			t.Errorf("marker %q: %s=%s still set", c.marker, EnteredEnv, v)
		}
	}
}

// TestEnterExecutesInside: a process outside the namespace is executed
// again inside it, keeping its PID, and only once.
func TestEnterExecutesInside(t *testing.T) {
	l := lab.New(t)
	n := l.NamedNode("lbdtest")
	var want syscall.Stat_t
	if err := syscall.Stat(Path(n.Name), &want); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+n.Name)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got, exp := strings.TrimSpace(string(out)), fmt.Sprintf("how=entered pid=%d ino=%d marker=false", cmd.Process.Pid, want.Ino); got != exp {
		t.Errorf("got  %s\nwant %s", got, exp)
	}

	// A marker without the namespace is a failed entry, not a loop.
	cmd = exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+n.Name, EnteredEnv+"="+n.Name)
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "was executed again inside "+Path(n.Name)+", but is not in it") {
		t.Errorf("marker set outside the namespace: %v: %s", err, out)
	}
}
