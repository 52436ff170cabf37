package keepalived

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/healthcheck"
	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/ipvs"
	"github.com/lbd-project/lbd/lb"
)

// vmLab is a balancer node and a node holding every real server of cfg,
// answering HTTP with the body whose digest the corpus uses; on the ports
// of SSL_GET checks it answers HTTPS (the same body) with a self-signed
// certificate, which keepalived without ca and lbd without root CAs accept.
func vmLab(t *testing.T, cfg *conf.Config) *lab.Node {
	l := lab.New(t)
	lbn, rs := l.Node("lb"), l.Node("rs")
	lan := l.LAN("back")
	lbn.Attach(lan, "back", "192.0.2.1/24", "2001:db8::1/64")
	addrs := map[string]bool{}
	ports := map[uint16]bool{} // port -> serves TLS
	groups := cfg.GroupIndex()
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		svcs := vs.Services(groups)
		var hps []conf.HostPort
		for j := range vs.RealServers {
			r := &vs.RealServers[j]
			hps = append(hps, r.Address)
			for _, c := range vs.EffectiveChecks(r) {
				p := c.CheckTarget(r, svcs[0]).Port()
				ports[p] = ports[p] || c.Type == "SSL_GET"
			}
		}
		if vs.SorryServer != nil {
			hps = append(hps, vs.SorryServer.Address)
		}
		for _, h := range hps {
			bits := 24
			if h.Addr.Is6() {
				bits = 64
			}
			addrs[netip.PrefixFrom(h.Addr, bits).String()] = true
		}
	}
	var list []string
	for a := range addrs {
		list = append(list, a)
	}
	sort.Strings(list)
	rs.Attach(lan, "eth0", list...)
	// The balancer reaches every real server's subnet directly, as it
	// would on its LAN; the public corpus uses many.
	lbn.Sysctl("net.ipv6.conf.back.accept_dad", "0") // usable at once
	subnets := map[netip.Prefix]bool{}
	for _, a := range list {
		p := netip.MustParsePrefix(a)
		if subnets[p.Masked()] {
			continue
		}
		subnets[p.Masked()] = true
		if a := labBalancerAddr(p, addrs); a.IsValid() {
			lbn.MustRun("ip", "addr", "add", a.String(), "dev", "back")
		}
	}
	var tlsConfig *tls.Config
	for p, useTLS := range ports {
		if p == 0 {
			continue
		}
		ln := rs.Listen("tcp", fmt.Sprintf(":%d", p))
		if useTLS {
			if tlsConfig == nil {
				tlsConfig = &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
			}
			ln = tls.NewListener(ln, tlsConfig)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, labBody)
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
	}
	return lbn
}

// labBalancerAddr is an address for the balancer in the real servers'
// subnet p that is none of theirs (see spareHost), or none when the
// balancer is already in p.
func labBalancerAddr(p netip.Prefix, used map[string]bool) netip.Prefix {
	for _, own := range []string{"192.0.2.1", "2001:db8::1"} {
		if p.Contains(netip.MustParseAddr(own)) {
			return netip.Prefix{}
		}
	}
	return spareHost(p, func(a netip.Addr) bool { return used[netip.PrefixFrom(a, p.Bits()).String()] })
}

// spareHost is the highest host address of subnet p (below the IPv4
// broadcast address) that taken does not claim, with p's length; none
// when taken claims them all.
func spareHost(p netip.Prefix, taken func(netip.Addr) bool) netip.Prefix {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	last, _ := netip.AddrFromSlice(b)
	for a := last.Prev(); p.Contains(a); a = a.Prev() {
		if !taken(a) {
			return netip.PrefixFrom(a, p.Bits())
		}
	}
	return netip.Prefix{}
}

// selfSigned returns a fresh self-signed ECDSA certificate for
// www.example.org and localhost.
func selfSigned(t *testing.T) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "lbd-lab"},
		DNSNames:              []string{"www.example.org", "localhost"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// stableRules waits (at most 30 s after settle) until ipvsadm -S -n in n
// shows services "-A" lines and has not changed for 1.5 s, and at least
// settle has passed; it returns the sorted lines.
func stableRules(t *testing.T, n *lab.Node, services int, settle time.Duration) []string {
	var last string
	start := time.Now()
	since := start
	for deadline := start.Add(settle + 30*time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		out := n.MustRun("ipvsadm", "-S", "-n")
		if out != last {
			last, since = out, time.Now()
			continue
		}
		if strings.Count(out, "-A ") == services && time.Since(since) > 1500*time.Millisecond && time.Since(start) >= settle {
			break
		}
	}
	lines := strings.Split(strings.TrimSpace(last), "\n")
	sort.Strings(lines)
	return lines
}

// labBody is what the lab's real servers answer every HTTP request with;
// the corpus written for the lab checks its digest.
const labBody = "lbd-lab\n"

// failsInLab says whether check c fails against the lab's real servers:
// an HTTP check expecting the digest of another body, as the public
// corpus files do, or a UDP check (the real servers serve TCP only, and
// the kernel answers port unreachable).
func failsInLab(c *conf.Check) bool {
	if c.Type == "UDP" {
		return true
	}
	sum := fmt.Sprintf("%x", md5.Sum([]byte(labBody)))
	for _, u := range c.URLs {
		if u.Digest != "" && !strings.EqualFold(u.Digest, sum) {
			return true
		}
	}
	return false
}

// settleTime is how long after start every check result that changes
// the table is in, so the tables can be compared: keepalived runs a first
// check 1 s plus a random part of warmup after start, and lbd a random
// part of warmup. Two kinds of result change the table: the first of an
// alpha virtual server's check (waited for when its warmup is at most
// 10 s; the lab's checks pass, so other servers stay up), and the
// failure of a check that fails in the lab, which comes after its
// retries, each answered at once here. Longer warmups are not waited for.
func settleTime(cfg *conf.Config) time.Duration {
	var settle time.Duration
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		for j := range vs.RealServers {
			for _, c := range vs.EffectiveChecks(&vs.RealServers[j]) {
				w := c.Warmup.D()
				switch {
				case failsInLab(c):
					settle = max(settle, w+time.Duration(*c.Retry)*(c.DelayBeforeRetry.D()+500*time.Millisecond))
				case vs.Alpha && w <= 10*time.Second:
					settle = max(settle, w)
				}
			}
		}
	}
	return time.Second + settle + 2*time.Second
}

// TestIntegrationVMImport runs Debian's keepalived on each corpus file with
// virtual servers and lbd's engine on its conversion, each in a fresh lab
// with the same real servers, and compares the IPVS tables. For each file
// with VRRP instances it also compares the addresses keepalived (--vrrp)
// and lbd add as masters, and checks both remove them on SIGTERM.
func TestIntegrationVMImport(t *testing.T) {
	if !lab.RunInVM(t, lab.VMOptions{}) {
		return
	}
	for _, tc := range corpus {
		res, err := ImportWith(tc.path, Options{ParseOptions{ConfigIDs: tc.ids}})
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := conf.Parse("converted.yaml", res.YAML)
		if err != nil {
			t.Fatal(err)
		}
		sideBySide(t, tc.path, tc.ids, res, cfg)
	}
}

// TestIntegrationVMImportPublic does the same for the public corpus
// (testdata/corpus): every file keepalived runs and the import converts.
// The programs these files run (notify, vrrp_script and MISC_CHECK
// scripts) are absent from the VM: each is stood in for by one that
// succeeds, for both daemons.
// The lab's real servers answer every HTTP check with their own body, so
// the digests these files carry fail in both daemons: the tables compared
// are the ones after those servers were taken out.
func TestIntegrationVMImportPublic(t *testing.T) {
	if !lab.RunInVM(t, lab.VMOptions{Timeout: 20 * time.Minute}) {
		return
	}
	files, err := filepath.Glob("testdata/corpus/*.conf")
	if err != nil || len(files) == 0 {
		t.Fatalf("no public corpus: %v", err)
	}
	for _, path := range files {
		name := filepath.Base(path)
		if v, ok := keepalivedVerdicts[name]; ok && v.refuses {
			continue
		}
		if _, ok := importRefusals[name]; ok {
			continue
		}
		res, err := ImportWith(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := parseWithStubs(t, res.YAML)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		sideBySide(t, path, nil, res, cfg)
	}
}

// absentProgram is how conf.Parse names a program that is not there.
var absentProgram = regexp.MustCompile(`stat (/[^:]+): no such file or directory`)

// parseWithStubs parses a converted file, first writing a program that
// exits 0 at each absent path it names: the VM's root is its own
// initramfs, thrown away with it.
func parseWithStubs(t *testing.T, yaml []byte) (*conf.Config, error) {
	if !lab.InVM() {
		t.Fatal("parseWithStubs writes programs into the root file system: only in the lab VM")
	}
	for range 50 {
		cfg, err := conf.Parse("converted.yaml", yaml)
		if err == nil {
			return cfg, nil
		}
		absent := absentProgram.FindAllStringSubmatch(err.Error(), -1)
		if len(absent) == 0 {
			return nil, err
		}
		for _, m := range absent {
			if err := os.MkdirAll(filepath.Dir(m[1]), 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile(m[1], []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
				return nil, err
			}
		}
	}
	return nil, fmt.Errorf("still absent programs after 50 rounds of stubs")
}

// sideBySide runs keepalived and lbd on one file and its conversion: the
// VRRP addresses (each daemon alone on its LANs) when it has instances,
// and the IPVS tables when it has virtual servers and converts
// faithfully.
func sideBySide(t *testing.T, path string, ids []string, res Result, cfg *conf.Config) {
	if ns := cfg.Global.NetNamespace; ns != "" {
		// keepalived would enter a namespace the lab does not have;
		// internal/daemon's TestLabNetNamespace covers lbd's side.
		t.Run(path, func(t *testing.T) { t.Skipf("runs in the network namespace %q", ns) })
		return
	}
	if len(cfg.VRRPInstances) > 0 {
		t.Run("vrrp/"+path, func(t *testing.T) {
			if why := vrrpUnusual(res); why != "" {
				t.Skip(why)
			}
			testVRRPImport(t, path, ids, res.YAML, cfg)
		})
	}
	// Only faithful conversions must match.
	if len(cfg.VirtualServers) == 0 || ChangesBehaviour(withoutStopAndPacing(res.Findings)) {
		return
	}
	services := 0
	for i := range cfg.VirtualServers {
		services += len(cfg.VirtualServers[i].Services(cfg.GroupIndex()))
	}
	settle := settleTime(cfg)
	t.Run(path, func(t *testing.T) {
		abs, _ := filepath.Abs(path)
		var want []string
		{
			n := vmLab(t, cfg)
			dir := t.TempDir()
			args := []string{"-n", "--check", "-f", abs, "-p", dir + "/k.pid", "-c", dir + "/c.pid"}
			for _, id := range ids {
				args = append(args, "-i", id)
			}
			p := n.Start("keepalived", args...)
			want = stableRules(t, n, services, settle)
			p.Signal(syscall.SIGTERM)
			p.Wait(10 * time.Second)
		}
		n := vmLab(t, cfg)
		var client *ipvs.Client
		if err := n.Do(func() (err error) { client, err = ipvs.Open(); return err }); err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		std := lb.NewCheckerFactory(healthcheck.NewPinger())
		eng, err := lb.New(cfg, lb.Options{
			Kernel: client,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			NewChecker: func(s lb.CheckSpec) (healthcheck.Checker, error) {
				c, err := std(s)
				return lab.NodeChecker[healthcheck.Result]{Node: n, Inner: c}, err
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); eng.Run(ctx) }()
		defer func() { cancel(); <-done }()
		got := stableRules(t, n, services, settle)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("lbd's table:\n%s\nkeepalived's:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}
