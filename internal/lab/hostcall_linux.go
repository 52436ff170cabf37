package lab

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The host and the guest talk over the guest's console: the guest writes
// a line holding hostCallMark and its message (base64), the host runs
// VMOptions.Host and writes hostDone to the console's input, which the
// guest waits for. A test in the guest can thus have the host look at what
// it set up (a browser loading a page through a forwarded port) while it
// runs, and go on afterwards.
const (
	hostCallMark = "===LAB-HOST "
	hostDone     = "===LAB-HOST-DONE==="
	// maxHostMessage bounds a message, as the host reads it on one line.
	maxHostMessage = 1 << 20
	// hostCallTimeout bounds how long the guest waits for the host.
	hostCallTimeout = 3 * time.Minute
)

// CallHost runs VMOptions.Host on the host with msg, and returns when it
// has; it must be called in the lab VM by a test that set Host.
func CallHost(t *testing.T, msg []byte) {
	t.Helper()
	if !InVM() {
		t.Fatal("lab: CallHost outside the lab VM")
	}
	if len(msg) > maxHostMessage/2 {
		t.Fatalf("lab: CallHost: message of %d bytes, at most %d", len(msg), maxHostMessage/2)
	}
	// Read the answer from the console before asking, so it cannot be
	// missed; the reader ends with the process if it never comes.
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			if strings.Contains(sc.Text(), hostDone) {
				done <- nil
				return
			}
		}
		done <- fmt.Errorf("console input ended: %v", sc.Err())
	}()
	fmt.Printf("\n%s%s===\n", hostCallMark, base64.StdEncoding.EncodeToString(msg))
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("lab: CallHost: %v", err)
		}
	case <-time.After(hostCallTimeout):
		t.Fatalf("lab: CallHost: the host did not answer within %v", hostCallTimeout)
	}
}

// hostCall returns the message of a console line holding a call.
func hostCall(line string) ([]byte, bool) {
	i := strings.Index(line, hostCallMark)
	if i < 0 {
		return nil, false
	}
	enc, ok := strings.CutSuffix(strings.TrimSpace(line[i+len(hostCallMark):]), "===")
	if !ok {
		return nil, false
	}
	msg, err := base64.StdEncoding.DecodeString(enc)
	return msg, err == nil
}

// forwardNIC returns qemu's -nic argument for ports, and the host port of
// each: "none" without ports. The host ports are free ports of the
// loopback, picked by listening on port 0 (another process could take one
// before qemu does; qemu then fails to start, loudly).
func forwardNIC(ports []int) (string, map[int]int, error) {
	if len(ports) == 0 {
		return "none", nil, nil
	}
	// restrict=on: the guest reaches neither the host nor the Internet;
	// only the forwarded connections come in.
	nic := "user,model=e1000,restrict=on"
	hostPorts := map[int]int{}
	for _, p := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", nil, err
		}
		hp := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		hostPorts[p] = hp
		nic += fmt.Sprintf(",hostfwd=tcp:127.0.0.1:%d-%s:%d", hp, GuestAddr, p)
	}
	return nic, hostPorts, nil
}

// guestNetwork is the shell that gives the guest its address, when ports
// are forwarded.
func guestNetwork(ports []int) string {
	if len(ports) == 0 {
		return ""
	}
	return "ip link set eth0 up && ip addr add " + GuestAddr + "/24 dev eth0\n"
}

// Expose makes addr, a TCP address in n, reachable on GuestAddr:port (the
// test process's namespace, which is the VM's own when ports are
// forwarded), so that the host reaches a server of a node through
// VMOptions.Forward. Each connection is copied both ways until either side
// closes; all end at the test's cleanup.
func (n *Node) Expose(port int, addr string) {
	tb := n.lab.tb
	tb.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(GuestAddr, strconv.Itoa(port)))
	if err != nil {
		tb.Fatalf("lab: %s: expose %s: %v", n.Name, addr, err)
	}
	Serve(tb, ln, func(c net.Conn) {
		d, err := n.Dial("tcp", addr, 5*time.Second)
		if err != nil {
			return
		}
		defer d.Close()
		var wg sync.WaitGroup
		wg.Go(func() { io.Copy(d, c); d.(*net.TCPConn).CloseWrite() })
		io.Copy(c, d)
		c.(*net.TCPConn).CloseWrite()
		wg.Wait()
	})
}
