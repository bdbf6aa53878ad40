package integration

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// TestGenCertsScript checks hack/gen-certs.sh, with which docs/deploy.md
// has an operator make the kit's certificates (the rest of the suite makes
// the same files with writeKitCerts): the serving certificate names the
// Service and chains to the CA, the kit's APIServices get that CA as their
// caBundle, running it again renews the certificate and keeps the CA, and
// --new-ca replaces the CA.
func TestGenCertsScript(t *testing.T) {
	suite.Require(t)
	dir := filepath.Join(t.TempDir(), "kit")
	certs, err := copyKit(env.root, dir)
	require.NoError(t, err)
	genCerts := func(args ...string) {
		t.Helper()
		script := filepath.Join(env.root, "hack", "gen-certs.sh")
		_, err := framework.RunCommand(env.root, "bash", append([]string{script, "-o", certs}, args...)...)
		require.NoError(t, err)
	}
	read := func(name string) []byte {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(certs, name))
		require.NoError(t, err)
		return data
	}
	verifyServing := func(caPEM []byte) {
		t.Helper()
		block, _ := pem.Decode(read("tls.crt"))
		require.NotNil(t, block)
		cert, err := x509.ParseCertificate(block.Bytes)
		require.NoError(t, err)
		pool := x509.NewCertPool()
		require.True(t, pool.AppendCertsFromPEM(caPEM))
		for _, name := range kitServiceNames {
			_, err = cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: name})
			assert.NoError(t, err, name)
		}
	}

	genCerts()
	ca := read("ca.crt")
	verifyServing(ca)
	objs, err := kustomize(env.kubectlBin, dir)
	require.NoError(t, err)
	svcs := objectsOfKind(objs, "APIService")
	require.Len(t, svcs, len(kitAPIServices))
	for _, s := range svcs {
		bundle, _, _ := unstructured.NestedString(s.Object, "spec", "caBundle")
		assert.Equal(t, base64.StdEncoding.EncodeToString(ca), bundle, s.GetName())
	}
	secrets := objectsOfKind(objs, "Secret")
	require.Len(t, secrets, 1)
	secret := &corev1.Secret{}
	fromUnstructured(t, secrets[0], secret)
	assert.Equal(t, read("tls.crt"), secret.Data["tls.crt"])

	serial := leafSerial(t, filepath.Join(certs, "tls.crt"))
	genCerts()
	require.Equal(t, ca, read("ca.crt"), "renewal keeps the CA")
	assert.NotEqual(t, serial, leafSerial(t, filepath.Join(certs, "tls.crt")), "renewal issues a new certificate")
	verifyServing(ca)

	genCerts("--new-ca")
	assert.NotEqual(t, ca, read("ca.crt"), "--new-ca replaces the CA")
	verifyServing(read("ca.crt"))
}
