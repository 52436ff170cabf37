package ipvs

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// sloppyTCPPath is the sysctl behind SloppyTCP: IPVS offers it only as a
// sysctl, not over netlink. /proc/sys/net is the calling thread's network
// namespace, so, as for the socket's redials, callers stay in the one they
// opened the client in.
const sloppyTCPPath = "/proc/sys/net/ipv4/vs/sloppy_tcp"

// WrittenSysctls lists every /proc/sys file lbd writes. The systemd unit
// makes /proc/sys read-only (ProtectKernelTunables) and must give write
// access to each of these; systemd/unit_test.go checks that it does.
var WrittenSysctls = []string{sloppyTCPPath}

// SloppyTCP reports net.ipv4.vs.sloppy_tcp: whether IPVS schedules a TCP
// connection from any packet rather than only from its SYN.
func (c *Client) SloppyTCP() (bool, error) {
	b, err := os.ReadFile(sloppyTCPPath)
	if err != nil {
		return false, fmt.Errorf("ipvs: read sloppy_tcp: %w", err)
	}
	// The kernel takes any non-zero number for on.
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return false, fmt.Errorf("ipvs: %s holds %q, not a number", sloppyTCPPath, b)
	}
	return n != 0, nil
}

// SetSloppyTCP sets net.ipv4.vs.sloppy_tcp.
func (c *Client) SetSloppyTCP(on bool) error {
	v := "0"
	if on {
		v = "1"
	}
	if err := os.WriteFile(sloppyTCPPath, []byte(v), 0o644); err != nil {
		return fmt.Errorf("ipvs: set sloppy_tcp: %w", err)
	}
	return nil
}
