package lab

import (
	"os"
	"os/exec"
)

// RoleEnv names the role a test binary was run again for. Lab tests start
// lbd and helpers of their own as their test binary run again in a node:
// the VM holds only that binary, and a process of its own has every
// socket in the node's namespace without locking threads into it.
const RoleEnv = "LBD_LAB_ROLE"

// RunRole, called first in TestMain, runs the role the binary was started
// for by StartRole with the process's arguments, and exits with its
// status. In the test binary proper it returns.
func RunRole(roles map[string]func(args []string) int) {
	if run, ok := roles[os.Getenv(RoleEnv)]; ok {
		os.Exit(run(os.Args[1:]))
	}
}

// StartRole runs this test binary again in n as role with args; TestMain
// must hand role to RunRole.
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
