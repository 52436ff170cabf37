package ipvsctl

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lbd-project/lbd/internal/control"
	"github.com/lbd-project/lbd/internal/ipvsadm"
	"github.com/lbd-project/lbd/ipvs/ipvstest"
)

// fakeLbd is a control server with canned answers that records every
// request's params.
type fakeLbd struct {
	path string
	mux  *control.Mux

	mu    sync.Mutex
	calls []call
}

type call struct {
	method string
	params string
}

// startLbd serves mux on a socket in a temporary directory; handlers see
// their params recorded first.
func startLbd(t testing.TB, methods map[string]func(params json.RawMessage) (any, error)) *fakeLbd {
	t.Helper()
	f := &fakeLbd{path: filepath.Join(t.TempDir(), "control.sock"), mux: control.NewMux()}
	for name, fn := range methods {
		f.mux.Handle(name, func(_ context.Context, _ control.Peer, params json.RawMessage) (any, error) {
			f.mu.Lock()
			f.calls = append(f.calls, call{name, string(params)})
			f.mu.Unlock()
			return fn(params)
		})
	}
	s, err := control.Listen(f.path)
	if err != nil {
		t.Fatal(err)
	}
	if uid := os.Getuid(); uid != 0 {
		s.AllowUIDs = []uint32{uint32(uid)}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, f.mux) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return")
		}
	})
	return f
}

// canned answers every call with result.
func canned(result any) func(json.RawMessage) (any, error) {
	return func(json.RawMessage) (any, error) { return result, nil }
}

func failing(err error) func(json.RawMessage) (any, error) {
	return func(json.RawMessage) (any, error) { return nil, err }
}

func (f *fakeLbd) recorded() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// result of one run.
type result struct {
	stdout, stderr string
	code           int
}

// runWith runs ipvsctl against socket (a path; "" for one that does not
// exist) and kernel k.
func runWith(t *testing.T, socket string, k *ipvstest.Kernel, args ...string) result {
	t.Helper()
	if socket == "" {
		socket = filepath.Join(t.TempDir(), "absent.sock")
	}
	if k == nil {
		k = ipvstest.NewKernel()
	}
	var out, errb bytes.Buffer
	env := Env{
		Env: ipvsadm.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
			Open: func() (ipvsadm.Kernel, error) { return k, nil }, Names: testNames{}},
		Socket: socket,
		Now:    func() time.Time { return testNow },
	}
	code := Run(context.Background(), env, append([]string{"ipvsctl"}, args...))
	return result{out.String(), errb.String(), code}
}

var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// testNames resolves from fixed tables, TEST-NET only.
type testNames struct{}

func (testNames) HostToAddr(name string) (netip.Addr, bool) {
	switch name {
	case "web.example":
		return netip.MustParseAddr("192.0.2.10"), true
	case "rs1.example":
		return netip.MustParseAddr("198.51.100.7"), true
	}
	return netip.Addr{}, false
}

func (testNames) AddrToHost(netip.Addr) (string, bool) { return "", false }

func (testNames) ServiceToPort(name, proto string) (uint16, bool) {
	if name == "http" && proto == "tcp" {
		return 80, true
	}
	if name == "domain" && proto == "udp" {
		return 53, true
	}
	return 0, false
}

func (testNames) PortToService(uint16, string) (string, bool) { return "", false }
