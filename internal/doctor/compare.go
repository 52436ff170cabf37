package doctor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/lbd-project/lbd/internal/control"
	"github.com/lbd-project/lbd/ipvs"
)

// This file is `lbd doctor --compare`: balancers that serve the same
// virtual servers at once (announce: bgp, behind the routers' ECMP) must
// build the same mh/sh table for each service, or a flow that ECMP moves
// from one to another reaches another real server. Each balancer's table
// fingerprints (ipvs.TableFingerprint) are read from its control socket or
// its metrics page and compared. The other side is not trusted: every
// fetch is bounded in time and size, and what it returns is checked.

// Limits of one fetch.
var (
	compareTimeout = 3 * time.Second
	// compareMaxBytes caps a metrics page; the control client caps a
	// status answer at 64 MiB of its own.
	compareMaxBytes int64 = 64 << 20
	// compareMaxLine caps one line of a metrics page.
	compareMaxLine = 64 << 10
)

// maxServiceName bounds a service name taken from another balancer.
const maxServiceName = 128

// Tables are one balancer's table fingerprints, or why they could not be
// read.
type Tables struct {
	// Balancer names the balancer: the control socket path or metrics
	// URL they were read from.
	Balancer string
	// Fingerprints maps each service (ipvs.ServiceKey.String(), e.g.
	// "TCP 192.0.2.10:80") in the kernel to its table fingerprint.
	Fingerprints map[string]string
	Err          error
}

// FetchTables reads the table fingerprints of the balancer at addr: a
// metrics URL (http:// or https://) or, otherwise, the path of its control
// socket. It gives up after 3 s.
func FetchTables(ctx context.Context, addr string) Tables {
	ctx, cancel := context.WithTimeout(ctx, compareTimeout)
	defer cancel()
	t := Tables{Balancer: addr}
	if strings.HasPrefix(addr, "http://") || strings.HasPrefix(addr, "https://") {
		t.Fingerprints, t.Err = fetchMetrics(ctx, addr)
	} else {
		t.Fingerprints, t.Err = fetchStatus(ctx, addr)
	}
	if t.Err != nil {
		// The message may come from the other side (a control error).
		t.Err = errors.New(printable(t.Err.Error(), 300))
	}
	return t
}

// printable shortens s to n bytes and replaces what a terminal would
// act on, for a message that may come from another balancer.
func printable(s string, n int) string {
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "..."
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '?'
	}, s)
}

// fetchStatus asks the daemon on the control socket at path for its
// status.
func fetchStatus(ctx context.Context, path string) (map[string]string, error) {
	c, err := control.DialContext(ctx, path)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var st control.StatusResult
	if err := c.Call(ctx, control.MethodStatus, nil, &st); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, vs := range st.VirtualServers {
		if vs.TableFingerprint == "" {
			continue // not in its kernel
		}
		name, err := serviceName(vs.Service)
		if err != nil {
			return nil, err
		}
		if err := add(out, name, vs.TableFingerprint); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// serviceName names a service of a status answer as the metrics do.
func serviceName(r control.ServiceRef) (string, error) {
	if r.FWMark != 0 {
		k := ipvs.ServiceKey{FWMark: r.FWMark, Family: ipvs.IPv4}
		if strings.EqualFold(r.Family, "ipv6") {
			k.Family = ipvs.IPv6
		}
		return k.String(), nil
	}
	name := r.Protocol + " " + r.Address + ":" + strconv.Itoa(int(r.Port))
	if strings.Contains(r.Address, ":") {
		name = r.Protocol + " [" + r.Address + "]:" + strconv.Itoa(int(r.Port))
	}
	return name, checkName(name)
}

// fetchMetrics reads the lbd_ipvs_service_table_info series of the
// metrics page at url.
func fetchMetrics(ctx context.Context, url string) (map[string]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP status %d", resp.StatusCode)
	}
	body := &io.LimitedReader{R: resp.Body, N: compareMaxBytes + 1}
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 4096), compareMaxLine)
	out := map[string]string{}
	const series = "lbd_ipvs_service_table_info{"
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if !strings.HasPrefix(line, series) {
			continue
		}
		labels, err := parseLabels(line[len(series):])
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: %w", n, err)
		}
		if err := add(out, labels["service"], labels["fingerprint"]); err != nil {
			return nil, fmt.Errorf("metrics line %d: %w", n, err)
		}
	}
	if body.N <= 0 {
		return nil, fmt.Errorf("metrics page larger than %d bytes", compareMaxBytes)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("metrics page has a line longer than %d bytes", compareMaxLine)
		}
		return nil, err
	}
	return out, nil
}

// parseLabels reads the labels of a series up to the closing brace, in
// the text exposition format: name="value" pairs, values with \", \\
// and \n escapes.
func parseLabels(s string) (map[string]string, error) {
	labels := map[string]string{}
	for {
		s = strings.TrimLeft(s, " ,")
		if strings.HasPrefix(s, "}") {
			return labels, nil
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 || eq+1 >= len(s) || s[eq+1] != '"' {
			return nil, errors.New("malformed labels")
		}
		name := strings.TrimSpace(s[:eq])
		var v strings.Builder
		i := eq + 2
		for ; i < len(s) && s[i] != '"'; i++ {
			c := s[i]
			if c == '\\' && i+1 < len(s) {
				i++
				c = map[byte]byte{'n': '\n'}[s[i]]
				if c == 0 {
					c = s[i]
				}
			}
			v.WriteByte(c)
		}
		if i >= len(s) {
			return nil, errors.New("unterminated label value")
		}
		if _, dup := labels[name]; dup {
			return nil, fmt.Errorf("label %q twice", name)
		}
		labels[name] = v.String()
		s = s[i+1:]
	}
}

// add records fp as the fingerprint of service name in m, after checking
// both: another balancer's answer is not trusted.
func add(m map[string]string, name, fp string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if len(fp) != 16 || strings.Trim(fp, "0123456789abcdef") != "" {
		return fmt.Errorf("service %s: fingerprint %q is not 16 hex digits", name, printable(fp, 40))
	}
	if old, ok := m[name]; ok && old != fp {
		return fmt.Errorf("service %s listed twice with different fingerprints", name)
	}
	m[name] = fp
	return nil
}

// checkName accepts a short, printable service name.
func checkName(name string) error {
	if name == "" || len(name) > maxServiceName || strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return fmt.Errorf("bad service name %q", printable(name, 40))
	}
	return nil
}

// CompareTables compares the fingerprints of balancers, the first being
// the local one: a FAIL finding per service whose fingerprint differs
// between balancers, naming them; a WARN per service some balancers lack;
// a FAIL per balancer that could not be read; OK when every service agrees
// everywhere.
func CompareTables(ts []Tables) []Finding {
	const check = "tables across balancers"
	var out []Finding
	var read []Tables
	for _, t := range ts {
		if t.Err != nil {
			out = append(out, Finding{Check: check, Status: Fail,
				Detail: fmt.Sprintf("cannot read the tables of %s: %v", t.Balancer, t.Err),
				Fix:    "check that lbd runs there and that the address is its control socket or http://host:port/metrics"})
			continue
		}
		read = append(read, t)
	}
	if len(read) < 2 {
		return out
	}
	services := map[string]bool{}
	for _, t := range read {
		for s := range t.Fingerprints {
			services[s] = true
		}
	}
	agree := 0
	for _, s := range slices.Sorted(maps.Keys(services)) {
		byFP := map[string][]string{}
		var lacking []string
		for _, t := range read {
			if fp, ok := t.Fingerprints[s]; ok {
				byFP[fp] = append(byFP[fp], t.Balancer)
			} else {
				lacking = append(lacking, t.Balancer)
			}
		}
		if len(byFP) > 1 {
			var parts []string
			for _, fp := range slices.Sorted(maps.Keys(byFP)) {
				parts = append(parts, fp+" on "+strings.Join(byFP[fp], ", "))
			}
			out = append(out, Finding{Check: check, Status: Fail,
				Detail: fmt.Sprintf("%s: tables differ: %s", s, strings.Join(parts, "; ")),
				Fix:    "compare `ipvsadm -Ln` on them: same scheduler, flags, real servers, weights and order; a flow ECMP moves between them changes real server"})
		}
		if len(lacking) > 0 {
			out = append(out, Finding{Check: check, Status: Warn,
				Detail: fmt.Sprintf("%s: not in the kernel of %s", s, strings.Join(lacking, ", "))})
		}
		if len(byFP) == 1 && len(lacking) == 0 {
			agree++
		}
	}
	if agree == len(services) {
		var names []string
		for _, t := range read {
			names = append(names, t.Balancer)
		}
		out = append(out, Finding{Check: check, Status: OK,
			Detail: fmt.Sprintf("%d services with the same tables on %s", agree, strings.Join(names, ", "))})
	}
	return out
}

// Compare reads the table fingerprints of the local balancer (its control
// socket at local) and of the others (each a control socket path or a
// metrics URL), all at once, and compares them (CompareTables).
func Compare(ctx context.Context, local string, others []string) []Finding {
	addrs := append([]string{local}, others...)
	ts := make([]Tables, len(addrs))
	done := make(chan struct{})
	for i, a := range addrs {
		go func() {
			ts[i] = FetchTables(ctx, a)
			done <- struct{}{}
		}()
	}
	for range addrs {
		<-done
	}
	return CompareTables(ts)
}
