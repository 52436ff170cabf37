package statuspage_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/lbd-project/lbd/internal/control"
	"github.com/lbd-project/lbd/internal/ipvsadm"
	"github.com/lbd-project/lbd/internal/ipvsctl"
	"github.com/lbd-project/lbd/internal/lab"
	"github.com/lbd-project/lbd/internal/lab/lbdrole"
)

// The lab tests run lbd as this test binary run again (lab.Main).
func TestMain(m *testing.M) { lab.Main(m, lab.Roles{"lbd": lbdrole.Run}) }

// UpdateScreenshotEnv=1 makes the browser test copy its screenshot to
// docs/status-page.png (`make screenshot`).
const UpdateScreenshotEnv = "LBD_UPDATE_SCREENSHOT"

// metricsPort is lb1's metrics port, forwarded from the VM to the host.
const metricsPort = 9274

// lb1YAML is the balancer whose page the browser loads: master of VI_1
// (its virtual servers follow it), backup of VI_2 (lb2's), one real
// server up and one down, and a virtual server with a hostile name.
const lb1YAML = `global:
  router_id: lb1
  control_socket: DIR/lb1.sock
  state_dir: DIR/lb1
  metrics_address: 127.0.0.1:9274
vrrp_instances:
  - {name: VI_1, interface: eth0, virtual_router_id: 51, priority: 150, virtual_ipaddresses: [198.51.100.10/32]}
  - {name: VI_2, interface: eth0, virtual_router_id: 52, priority: 50, virtual_ipaddresses: [198.51.100.20/32]}
virtual_servers:
  - name: web
    address: 198.51.100.10:80
    scheduler: mh
    forwarding: NAT
    vrrp_instance: VI_1
    check: {type: HTTP_GET, delay_loop: 1s, connect_timeout: 1s, retry: 0, warmup: 0s, urls: [{path: /health}]}
    real_servers:
      - {address: 192.0.2.15:8080, weight: WEIGHT}
      - {address: 192.0.2.16:8080, weight: 3}
  - name: "<script>alert(1)</script>"
    address: 198.51.100.10:443
    scheduler: rr
    forwarding: NAT
    vrrp_instance: VI_1
    check: {type: TCP, delay_loop: 1s, connect_timeout: 1s, retry: 0, warmup: 0s}
    real_servers: [192.0.2.15:8443]
`

const lb2YAML = `global:
  router_id: lb2
  control_socket: DIR/lb2.sock
  state_dir: DIR/lb2
vrrp_instances:
  - {name: VI_1, interface: eth0, virtual_router_id: 51, priority: 100, virtual_ipaddresses: [198.51.100.10/32]}
  - {name: VI_2, interface: eth0, virtual_router_id: 52, priority: 150, virtual_ipaddresses: [198.51.100.20/32]}
`

// TestIntegrationVMStatusPageInChromium runs two lbd balancers in the lab
// VM, with kernel IPVS, and loads lb1's status page in headless Chromium
// on the host through a forwarded port: after the page's script has
// refreshed it, what it shows (instance states and masters, real server
// health and weights) must be what `ipvsctl status --json` says, the
// hostile virtual server name must be text, and a screenshot is taken
// (docs/status-page.png with LBD_UPDATE_SCREENSHOT=1).
func TestIntegrationVMStatusPageInChromium(t *testing.T) {
	var chromium string
	if !lab.InVM() {
		lab.RequireRoot(t)
		lab.RequireCommand(t, "chromium")
		chromium, _ = exec.LookPath("chromium")
	}
	loaded := false
	host := func(t *testing.T, h lab.HostSide) {
		loaded = true
		checkInChromium(t, chromium, fmt.Sprintf("http://127.0.0.1:%d/", h.Ports[metricsPort]), h.Message)
	}
	if !lab.RunInVM(t, lab.VMOptions{Forward: []int{metricsPort}, Host: host, Timeout: 8 * time.Minute}) {
		if !loaded && !t.Failed() {
			t.Error("the guest never had the host load the page")
		}
		return
	}

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	l := lab.New(t)
	front, back := l.LAN("front"), l.LAN("back")
	lb1, lb2, client := l.Node("lb1"), l.Node("lb2"), l.Node("client")
	lb1.Attach(front, "eth0", "198.51.100.1/24")
	lb1.Attach(back, "eth1", "192.0.2.1/24")
	lb1.Sysctl("net.ipv4.ip_forward", "1")
	lb2.Attach(front, "eth0", "198.51.100.2/24")
	client.Attach(front, "eth0", "198.51.100.3/24")
	for i, name := range []string{"rs1", "rs2"} {
		n := l.Node(name)
		n.Attach(back, "eth0", fmt.Sprintf("192.0.2.%d/24", 15+i))
		n.AddRoute("default", "192.0.2.1")
		if name == "rs1" { // rs2 listens on nothing: its check fails
			lab.Serve(t, n.Listen("tcp", "192.0.2.15:8080"), serveHTTP)
			lab.Serve(t, n.Listen("tcp", "192.0.2.15:8443"), nil)
		}
	}

	// lb1's file is where an operator has it (the VM is the test's own),
	// as the screenshot shows it.
	dir, file := t.TempDir(), "/etc/lbd/lbd.yaml"
	write := func(path, yaml string) string {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(strings.ReplaceAll(yaml, "DIR", dir)), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	write(file, strings.Replace(lb1YAML, "WEIGHT", "5", 1))
	procs := map[string]*lab.Process{
		"lb1": lb1.StartRole("lbd", "-f", file),
		"lb2": lb2.StartRole("lbd", "-f", write(filepath.Join(dir, "lb2.yaml"), lb2YAML)),
	}
	t.Cleanup(func() {
		if t.Failed() {
			for name, p := range procs {
				t.Logf("%s log:\n%s", name, p.Out.String())
			}
		}
	})
	sock := filepath.Join(dir, "lb1.sock")
	ipvsctlRun := func(args ...string) (string, int) {
		var out bytes.Buffer
		rc := ipvsctl.Run(ctx, ipvsctl.Env{Env: ipvsadm.Env{Stdout: &out, Stderr: &out}, Socket: sock}, append([]string{"ipvsctl"}, args...))
		return out.String(), rc
	}
	// ready: VI_1 master, VI_2 following lb2, rs1 up with its weight in
	// the kernel, rs2 down, each with a check done.
	ready := func(weight int32) bool {
		var st control.StatusResult
		if out, rc := ipvsctlRun("status", "--json"); rc != 0 || json.Unmarshal([]byte(out), &st) != nil {
			return false
		}
		if len(st.VRRPInstances) != 2 || st.VRRPInstances[0].State != "MASTER" || st.VRRPInstances[1].State != "BACKUP" ||
			st.VRRPInstances[1].Master != "198.51.100.2" || len(st.VirtualServers) != 2 {
			return false
		}
		rs := st.VirtualServers[0].RealServers
		return len(rs) == 2 && rs[0].Up && rs[0].KernelWeight != nil && *rs[0].KernelWeight == weight && rs[0].LastCheck != nil &&
			!rs[1].Up && rs[1].LastCheck != nil && st.VirtualServers[1].RealServers[0].Up
	}
	lab.WaitFor(t, time.Minute, 200*time.Millisecond, "VI_1 master, VI_2 following lb2, rs1 up, rs2 down",
		func() bool { return ready(5) })

	// A reload that fails, then one that changes a weight: both are events.
	write(file, strings.Replace(lb1YAML, "WEIGHT", "five", 1))
	if out, rc := ipvsctlRun("reload"); rc == 0 {
		t.Fatalf("a bad reload succeeded: %s", out)
	}
	write(file, strings.Replace(lb1YAML, "WEIGHT", "4", 1))
	if out, rc := ipvsctlRun("reload"); rc != 0 {
		t.Fatalf("reload: %s", out)
	}
	lab.WaitFor(t, 10*time.Second, 100*time.Millisecond, "rs1's new weight", func() bool { return ready(4) })

	// Some traffic, for the connection counts.
	c := client.HTTPClient(3 * time.Second)
	for range 5 {
		if resp, err := c.Get("http://198.51.100.10/"); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}

	out, rc := ipvsctlRun("status", "--json")
	if rc != 0 {
		t.Fatalf("ipvsctl status --json: %s", out)
	}
	lb1.Expose(metricsPort, "127.0.0.1:"+strconv.Itoa(metricsPort))
	lab.CallHost(t, []byte(out))
}

// serveHTTP answers one HTTP request on c: 200, as a real server's
// /health does.
func serveHTTP(c net.Conn) {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	http.ReadRequest(bufio.NewReader(c))
	io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nrs1\n")
}

// checkInChromium loads url in headless Chromium on the host and checks
// the page against want, the `ipvsctl status --json` of the same lbd.
func checkInChromium(t *testing.T, chromium, url string, want []byte) {
	var st control.StatusResult
	if err := json.Unmarshal(want, &st); err != nil {
		t.Fatalf("the guest's status: %v", err)
	}
	dir := t.TempDir()
	// The page's script refreshes the content after 2 s: the DOM is
	// dumped after 3 s of the page's (virtual) time.
	dom := runChromium(t, chromium, dir, "--virtual-time-budget=3000", "--dump-dom", url)
	doc, err := html.Parse(strings.NewReader(dom))
	if err != nil {
		t.Fatal(err)
	}
	if body := find(doc, func(n *html.Node) bool { return n.Data == "body" }); len(body) != 1 || attr(body[0], "data-refreshes") == "" {
		t.Errorf("the page's script did not refresh the content:\n%s", dom)
	}
	if n := len(find(doc, func(n *html.Node) bool { return n.Data == "script" })); n != 1 {
		t.Errorf("%d script elements in the page, want its one", n)
	}

	rows := map[string]*html.Node{}
	for _, n := range find(doc, func(n *html.Node) bool { return attr(n, "data-instance") != "" }) {
		rows[attr(n, "data-instance")] = n
	}
	for _, in := range st.VRRPInstances {
		n := rows[in.Name]
		if n == nil {
			t.Errorf("instance %s not on the page", in.Name)
			continue
		}
		master := in.Master
		if in.State == "MASTER" {
			master = "this node"
		}
		if attr(n, "data-state") != in.State || attr(n, "data-priority") != strconv.Itoa(in.Priority) || !strings.Contains(text(n), master) {
			t.Errorf("instance %s on the page: state %s priority %s %q; ipvsctl: %s %d master %q",
				in.Name, attr(n, "data-state"), attr(n, "data-priority"), text(n), in.State, in.Priority, master)
		}
	}

	rows = map[string]*html.Node{}
	for _, n := range find(doc, func(n *html.Node) bool { return attr(n, "data-rs") != "" }) {
		rows[attr(n, "data-rs")] = n
	}
	for _, vs := range st.VirtualServers {
		for _, rs := range vs.RealServers {
			addr := fmt.Sprintf("%s:%d", rs.Address, rs.Port)
			n := rows[addr]
			kw := "—"
			if rs.KernelWeight != nil {
				kw = strconv.Itoa(int(*rs.KernelWeight))
			}
			switch {
			case n == nil:
				t.Errorf("real server %s not on the page", addr)
			case attr(n, "data-up") != strconv.FormatBool(rs.Up) || attr(n, "data-kernel-weight") != kw ||
				attr(n, "data-weight") != strconv.Itoa(int(rs.Weight)):
				t.Errorf("real server %s on the page: up %s kernel weight %s weight %s; ipvsctl: up %v kernel weight %s weight %d",
					addr, attr(n, "data-up"), attr(n, "data-kernel-weight"), attr(n, "data-weight"), rs.Up, kw, rs.Weight)
			}
		}
	}

	hostile := find(doc, func(n *html.Node) bool { return attr(n, "data-service") == "TCP 198.51.100.10:443" })
	if len(hostile) != 1 || !strings.Contains(text(hostile[0]), "<script>alert(1)</script>") {
		t.Errorf("the virtual server named <script>alert(1)</script> is not shown as text")
	}
	kinds := map[string]bool{}
	for _, n := range find(doc, func(n *html.Node) bool { return attr(n, "data-kind") != "" }) {
		kinds[attr(n, "data-kind")] = true
	}
	for _, k := range []string{control.EventVRRP, control.EventHealth, control.EventReload} {
		if !kinds[k] {
			t.Errorf("no %s event on the page", k)
		}
	}
	if t.Failed() {
		t.Logf("page:\n%s", dom)
	}

	shot := filepath.Join(dir, "status-page.png")
	runChromium(t, chromium, dir, "--window-size=1280,900", "--virtual-time-budget=3000", "--screenshot="+shot, url)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil || img.Bounds().Dx() != 1280 || img.Bounds().Dy() != 900 {
		t.Fatalf("screenshot: %v, %v", err, img.Bounds())
	}
	if os.Getenv(UpdateScreenshotEnv) == "1" {
		b, err := os.ReadFile(shot)
		if err == nil {
			err = os.WriteFile(filepath.Join("..", "..", "docs", "status-page.png"), b, 0o644)
		}
		if err != nil {
			t.Fatalf("updating docs/status-page.png: %v", err)
		}
		t.Log("docs/status-page.png updated")
	}
}

// runChromium runs headless Chromium with args, in a profile and home of
// its own under dir, bounded in time; its whole process group is killed
// afterwards, so no renderer outlives it. It returns the standard output.
func runChromium(t *testing.T, chromium, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	home, err := os.MkdirTemp(dir, "chromium-")
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
		"--disable-sync", "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
		"--hide-scrollbars", "--user-data-dir=" + filepath.Join(home, "profile")}
	if os.Geteuid() == 0 {
		base = append(base, "--no-sandbox") // Chromium refuses to run as root with its sandbox
	}
	cmd := exec.CommandContext(ctx, chromium, append(base, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "XDG_CACHE_HOME="+home)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// find returns the elements under n for which match holds.
func find(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := range n.Descendants() {
		if c.Type == html.ElementNode && match(c) {
			out = append(out, c)
		}
	}
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// text is n's text, as the browser shows it (unescaped).
func text(n *html.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}
