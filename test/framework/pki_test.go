package framework

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

func TestPKI(t *testing.T) {
	ca := NewCA("test-ca")
	assert.True(t, ca.Cert.IsCA)
	assert.Equal(t, "test-ca", ca.Cert.Subject.CommonName)

	serving := ca.ServingCert("server", "localhost", "127.0.0.1", "svc.ns.svc")
	assert.Equal(t, []string{"localhost", "svc.ns.svc"}, serving.Cert.DNSNames)
	require.Len(t, serving.Cert.IPAddresses, 1)
	assert.Equal(t, "127.0.0.1", serving.Cert.IPAddresses[0].String())
	for _, host := range []string{"localhost", "127.0.0.1", "svc.ns.svc"} {
		_, err := serving.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: host})
		assert.NoError(t, err, host)
	}
	_, err := serving.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	assert.Error(t, err, "a serving certificate is no client certificate")

	client := ca.ClientCert("alice", "system:masters", "dev")
	assert.Equal(t, "alice", client.Cert.Subject.CommonName)
	assert.ElementsMatch(t, []string{"system:masters", "dev"}, client.Cert.Subject.Organization)
	_, err = client.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	assert.NoError(t, err)
	_, err = client.Cert.Verify(x509.VerifyOptions{Roots: NewCA("other").Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	assert.Error(t, err, "another CA does not verify it")

	expired := ca.Issue(CertConfig{Config: certutil.Config{CommonName: "old", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, NotAfter: time.Now().Add(-time.Hour)})
	_, err = expired.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	assert.Error(t, err, "expired")

	tlsCert := client.TLSCertificate()
	assert.Equal(t, client.Cert.Raw, tlsCert.Certificate[0])

	dir := t.TempDir()
	certFile, keyFile, err := ca.Write(dir, "ca")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "ca.crt"), certFile)
	info, err := os.Stat(keyFile)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	loaded, err := LoadCA(certFile, keyFile)
	require.NoError(t, err)
	assert.Equal(t, ca.Cert.Raw, loaded.Cert.Raw)
	_, err = loaded.ClientCert("bob").Cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	assert.NoError(t, err, "a loaded CA signs as the original")
}

func TestWriteServiceAccountKeys(t *testing.T) {
	pub, priv, err := WriteServiceAccountKeys(t.TempDir())
	require.NoError(t, err)
	keys, err := keyutil.PublicKeysFromFile(pub)
	require.NoError(t, err)
	require.Len(t, keys, 1)
	_, err = keyutil.PrivateKeyFromFile(priv)
	require.NoError(t, err)
}
