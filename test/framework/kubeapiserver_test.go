package framework

import (
	"crypto/x509"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	certutil "k8s.io/client-go/util/cert"
)

// TestNewKubeAPIServer checks the PKI and flags that NewKubeAPIServer
// prepares; starting the program is left to the suites that have it.
func TestNewKubeAPIServer(t *testing.T) {
	dir := t.TempDir()
	k, err := NewKubeAPIServer("/bin/false", dir, "kas", "http://127.0.0.1:2379", "--etcd-prefix=/peer")
	require.NoError(t, err)

	assert.Equal(t, filepath.Join(dir, "kas-pki"), k.PKI)
	assert.Equal(t, filepath.Join(k.PKI, "ca.crt"), k.CAFile)
	assert.Equal(t, filepath.Join(k.PKI, "admin.crt"), k.CertFile)
	assert.Equal(t, filepath.Join(k.PKI, "admin.key"), k.KeyFile)
	assert.True(t, strings.HasPrefix(k.URL, "https://127.0.0.1:"))
	assert.Equal(t, filepath.Join(dir, "kas.log"), k.Log)
	assert.Contains(t, k.Args, "--etcd-servers=http://127.0.0.1:2379")
	assert.Contains(t, k.Args, "--bind-address=127.0.0.1")
	assert.Equal(t, "--etcd-prefix=/peer", k.Args[len(k.Args)-1], "extra flags come last")

	cas, err := certutil.CertsFromFile(k.CAFile)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	roots.AddCert(cas[0])
	serving, err := certutil.CertsFromFile(filepath.Join(k.PKI, "serving.crt"))
	require.NoError(t, err)
	_, err = serving[0].Verify(x509.VerifyOptions{Roots: roots, DNSName: "127.0.0.1"})
	assert.NoError(t, err, "the serving certificate is for 127.0.0.1, from ca.crt")

	admin, err := certutil.CertsFromFile(k.CertFile)
	require.NoError(t, err)
	assert.Equal(t, []string{"system:masters"}, admin[0].Subject.Organization)
	clientCAs, err := certutil.CertsFromFile(filepath.Join(k.PKI, "client-ca.crt"))
	require.NoError(t, err)
	clientRoots := x509.NewCertPool()
	clientRoots.AddCert(clientCAs[0])
	_, err = admin[0].Verify(x509.VerifyOptions{Roots: clientRoots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	assert.NoError(t, err, "the admin certificate is from the --client-ca-file")
	assert.Contains(t, k.Args, "--client-ca-file="+filepath.Join(k.PKI, "client-ca.crt"))

	cfg := k.AdminConfig()
	assert.Equal(t, k.URL, cfg.Host)
	assert.Equal(t, k.CertFile, cfg.CertFile)
}
