package reliability

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/util/keyutil"
)

// authority is a CA the suite controls: the standalone CA read back from a
// data dir, or a CA of its own (a foreign CA, kube-apiserver's CAs).
type authority struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
}

// newAuthority creates a self-signed CA.
func newAuthority(t testing.TB, cn string) *authority {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          serialNumber(t),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &authority{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// loadAuthority reads the CA that vm-apiserver keeps in its data dir.
func loadAuthority(t testing.TB, certFile, keyFile string) *authority {
	t.Helper()
	certPEM, err := os.ReadFile(certFile)
	require.NoError(t, err)
	block, _ := pem.Decode(certPEM)
	require.NotNil(t, block, "%s holds no PEM block", certFile)
	cert, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	keyPEM, err := os.ReadFile(keyFile)
	require.NoError(t, err)
	key, err := keyutil.ParsePrivateKeyPEM(keyPEM)
	require.NoError(t, err)
	signer, ok := key.(crypto.Signer)
	require.True(t, ok, "%s is not a signing key", keyFile)
	return &authority{cert: cert, key: signer, certPEM: certPEM}
}

// pool is a cert pool holding this CA.
func (a *authority) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(a.cert)
	return p
}

// leaf is a certificate issued by an authority, with its key.
type leaf struct {
	certPEM, keyPEM []byte
	tls             tls.Certificate
}

// clientCert issues a client certificate for user cn in groups orgs.
func (a *authority) clientCert(t testing.TB, cn string, orgs ...string) *leaf {
	t.Helper()
	return a.issue(t, clientTemplate(cn, orgs...))
}

// clientTemplate is a client certificate for user cn in groups orgs.
func clientTemplate(cn string, orgs ...string) *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn, Organization: orgs},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
}

// servingCert issues a serving certificate for localhost and 127.0.0.1.
func (a *authority) servingCert(t testing.TB, cn string) *leaf {
	t.Helper()
	return a.issue(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	})
}

func (a *authority) issue(t testing.TB, tmpl *x509.Certificate) *leaf {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl.SerialNumber = serialNumber(t)
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	}
	tmpl.NotBefore = tmpl.NotAfter.Add(-48 * time.Hour)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, key.Public(), a.key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	l := &leaf{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}
	l.tls, err = tls.X509KeyPair(l.certPEM, l.keyPEM)
	require.NoError(t, err)
	return l
}

// write stores the certificate and key as <dir>/<name>.crt and .key.
func (l *leaf) write(t testing.TB, dir, name string) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	require.NoError(t, os.WriteFile(certFile, l.certPEM, 0o644))
	require.NoError(t, os.WriteFile(keyFile, l.keyPEM, 0o600))
	return certFile, keyFile
}

// writeCA stores the CA certificate as <dir>/<name>.crt.
func (a *authority) writeCA(t testing.TB, dir, name string) string {
	t.Helper()
	path := filepath.Join(dir, name+".crt")
	require.NoError(t, os.WriteFile(path, a.certPEM, 0o644))
	return path
}

func serialNumber(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	require.NoError(t, err)
	return n
}
