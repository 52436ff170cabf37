package lb

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCheckerFactorySSLVerify runs SSL_GET checks against a server with a
// certificate of its own CA: keepalived's default accepts it unverified;
// verify: true accepts it only with that CA (and the right name).
func TestCheckerFactorySSLVerify(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	dir := t.TempDir()
	writePEM := func(name string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// httptest's certificate is its own CA, for example.com and 127.0.0.1.
	goodCA := writePEM("good.pem", srv.Certificate().Raw)
	wrongCA := writePEM("wrong.pem", selfSignedCA(t))

	addr := strings.TrimPrefix(srv.URL, "https://")
	cases := []struct {
		name, check string
		want        string // "" passes, else in the reason
	}{
		{"no verification", "{type: SSL_GET, urls: [{path: /}]}", ""},
		{"right CA", "{type: SSL_GET, verify: true, ca_file: " + goodCA + ", urls: [{path: /}]}", ""},
		{"right CA and name", "{type: SSL_GET, verify: true, ca_file: " + goodCA + ", server_name: example.com, urls: [{path: /}]}", ""},
		{"system roots", "{type: SSL_GET, verify: true, urls: [{path: /}]}", "certificate signed by unknown authority"},
		{"wrong CA", "{type: SSL_GET, verify: true, ca_file: " + wrongCA + ", urls: [{path: /}]}", "certificate signed by unknown authority"},
		{"wrong name", "{type: SSL_GET, verify: true, ca_file: " + goodCA + ", server_name: wrong.invalid, urls: [{path: /}]}", "not wrong.invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := mustParse(t, "virtual_servers:\n  - address: 127.0.0.1:443\n    real_servers:\n      - {address: "+addr+", check: "+c.check+"}\n")
			vs := &cfg.VirtualServers[0]
			rs := &vs.RealServers[0]
			chk := vs.EffectiveCheck(rs)
			checker, err := NewCheckerFactory(nil)(CheckSpec{Check: chk, Target: chk.CheckTarget(rs, vs.Services(nil)[0])})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			r := checker.Check(ctx)
			switch {
			case c.want == "" && !r.OK:
				t.Errorf("failed: %s", r.Reason)
			case c.want != "" && (r.OK || !strings.Contains(r.Reason, c.want)):
				t.Errorf("got OK %v, reason %q; want a failure with %q", r.OK, r.Reason, c.want)
			}
		})
	}
}

// selfSignedCA returns the DER of a CA certificate that signed nothing.
func selfSignedCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
