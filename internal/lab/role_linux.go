package lab

import (
	"os"
	"os/exec"
	"testing"
)

// RoleEnv names the role a test binary was run again for. Lab tests start
// lbd and helpers of their own as their test binary run again in a node:
// the VM holds only that binary, and a process of its own has every
// socket in the node's namespace without locking threads into it.
const RoleEnv = "LBD_LAB_ROLE"

// Roles maps role names to what runs them, given the process's arguments
// and returning its exit status.
type Roles map[string]func(args []string) int

// Main is a TestMain for a package whose tests use StartRole: run again
// for one of roles it runs that, otherwise the tests; it exits with their
// status.
func Main(m *testing.M, roles Roles) {
	if run, ok := roles[os.Getenv(RoleEnv)]; ok {
		os.Exit(run(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// StartRole runs this test binary again in n as role with args; the
// package's TestMain must be Main with role among its roles.
func (n *Node) StartRole(role string, args ...string) *Process {
	n.lab.tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		n.lab.tb.Fatalf("lab: %s: start %s: %v", n.Name, role, err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), RoleEnv+"="+role)
	return n.StartCmd(cmd)
}
