package framework

import (
	"crypto/x509"
	"os"
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
	k, err := NewKubeAPIServer(KubeAPIServerOptions{Bin: "/bin/false", Dir: dir, Name: "kas",
		EtcdURL: "http://127.0.0.1:2379", Args: []string{"--etcd-prefix=/peer"}})
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

	assert.Nil(t, k.FrontProxyCA, "no front proxy unless asked")
	for _, a := range k.Args {
		assert.False(t, strings.HasPrefix(a, "--requestheader-") || strings.HasPrefix(a, "--proxy-client-"), a)
	}
}

// TestNewKubeAPIServerFrontProxy checks the front proxy's PKI and flags.
func TestNewKubeAPIServerFrontProxy(t *testing.T) {
	dir := t.TempDir()
	k, err := NewKubeAPIServer(KubeAPIServerOptions{Bin: "/bin/false", Dir: dir, EtcdURL: "http://127.0.0.1:2379", Port: 6443, FrontProxy: true})
	require.NoError(t, err)
	assert.Equal(t, "https://127.0.0.1:6443", k.URL)
	assert.Equal(t, filepath.Join(dir, "kube-apiserver.log"), k.Log, "the default name")
	require.NotNil(t, k.FrontProxyCA)
	require.NotNil(t, k.FrontProxyClient)
	assert.Equal(t, FrontProxyClientName, k.FrontProxyClient.Cert.Subject.CommonName)
	_, err = k.FrontProxyClient.Cert.Verify(x509.VerifyOptions{Roots: k.FrontProxyCA.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	assert.NoError(t, err)
	assert.Contains(t, k.Args, "--requestheader-client-ca-file="+filepath.Join(k.PKI, "front-proxy-ca.crt"))
	assert.Contains(t, k.Args, "--requestheader-allowed-names="+FrontProxyClientName)
	assert.Contains(t, k.Args, "--proxy-client-cert-file="+filepath.Join(k.PKI, "front-proxy-client.crt"))
	assert.Contains(t, k.Args, "--proxy-client-key-file="+filepath.Join(k.PKI, "front-proxy-client.key"))
}

// TestNewKubeAPIServerFrontProxyProjected checks that the front-proxy files
// are symlinks of a ProjectedDir, named in the flags.
func TestNewKubeAPIServerFrontProxyProjected(t *testing.T) {
	k, err := NewKubeAPIServer(KubeAPIServerOptions{Bin: "/bin/false", Dir: t.TempDir(), EtcdURL: "http://127.0.0.1:2379", Port: 6443, FrontProxy: true, FrontProxyProjected: true})
	require.NoError(t, err)
	require.NotNil(t, k.FrontProxyFiles)
	p := k.FrontProxyFiles
	assert.Contains(t, k.Args, "--requestheader-client-ca-file="+p.Path(FrontProxyCAFile))
	assert.Contains(t, k.Args, "--proxy-client-cert-file="+p.Path(FrontProxyCertFile))
	assert.Contains(t, k.Args, "--proxy-client-key-file="+p.Path(FrontProxyKeyFile))
	for name, want := range map[string][]byte{FrontProxyCAFile: k.FrontProxyCA.CertPEM, FrontProxyCertFile: k.FrontProxyClient.CertPEM, FrontProxyKeyFile: k.FrontProxyClient.KeyPEM} {
		link, err := os.Readlink(p.Path(name))
		require.NoError(t, err, name)
		assert.Equal(t, filepath.Join("..data", name), link)
		got, err := os.ReadFile(p.Path(name))
		require.NoError(t, err)
		assert.Equal(t, want, got, name)
	}
}
