package certauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
)

// epoch is the instant the test certificates are issued around.
var epoch = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// testCA is a certificate authority for the tests.
type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

var serial int64 = 1

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return key
}

func issue(t testing.TB, tmpl *x509.Certificate, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) *x509.Certificate {
	t.Helper()
	serial++
	tmpl.SerialNumber = big.NewInt(serial)
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return c
}

// newCA is a self-signed CA valid from notBefore to notAfter.
func newCA(t testing.TB, name string, notBefore, notAfter time.Time) *testCA {
	t.Helper()
	key := newKey(t)
	c := issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: name}, NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true,
	}, nil, key.Public(), key)
	return &testCA{cert: c, key: key}
}

// intermediate is a CA signed by ca.
func (ca *testCA) intermediate(t testing.TB, name string) *testCA {
	t.Helper()
	key := newKey(t)
	c := issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: name}, NotBefore: ca.cert.NotBefore, NotAfter: ca.cert.NotAfter,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true,
	}, ca.cert, key.Public(), ca.key)
	return &testCA{cert: c, key: key}
}

// client issues a client certificate for cn in groups, valid from
// notBefore to notAfter, parsed anew as TLS parses it for each connection.
func (ca *testCA) client(t testing.TB, cn string, groups []string, notBefore, notAfter time.Time) *x509.Certificate {
	t.Helper()
	key := newKey(t)
	return issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: cn, Organization: groups}, NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca.cert, key.Public(), ca.key)
}

// reparse is the same certificate as another connection would present
// it: equal bytes, another object.
func reparse(t testing.TB, c *x509.Certificate) *x509.Certificate {
	t.Helper()
	again, err := x509.ParseCertificate(c.Raw)
	require.NoError(t, err)
	return again
}

func pemOf(cas ...*testCA) []byte {
	var out []byte
	for _, ca := range cas {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})...)
	}
	return out
}

// bundleFile is a CA bundle file and the provider that follows it, as the
// server runs it.
type bundleFile struct {
	path     string
	provider *dynamiccertificates.DynamicFileCAContent
}

func newBundleFile(t testing.TB, cas ...*testCA) *bundleFile {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.crt")
	require.NoError(t, os.WriteFile(path, pemOf(cas...), 0o600))
	p, err := dynamiccertificates.NewDynamicCAContentFromFile("test-ca", path)
	require.NoError(t, err)
	return &bundleFile{path: path, provider: p}
}

// replace writes cas to the file and reloads the provider, as its
// controller does when the file changes.
func (b *bundleFile) replace(t testing.TB, cas ...*testCA) {
	t.Helper()
	require.NoError(t, os.WriteFile(b.path, pemOf(cas...), 0o600))
	require.NoError(t, b.provider.RunOnce(context.Background()))
}

// conn is one TLS connection's state: every request on it carries the
// same certificate objects.
func conn(certs ...*x509.Certificate) *tls.ConnectionState {
	return &tls.ConnectionState{PeerCertificates: certs}
}

// request is a GET on the connection with headers.
func request(state *tls.ConnectionState, headers map[string]string) *http.Request {
	req := httptest.NewRequest(http.MethodGet, "/apis/kubevirt.io/v1/virtualmachines", nil)
	req.TLS = state
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return req
}

// clock is a settable clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }
