package integration

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// TestServingCertificateRenewal renews the serving certificate the way
// docs/deploy.md says (hack/gen-certs.sh again: same CA, new key and
// certificate in the same files; writeKitCerts does what it does, and
// TestGenCertsScript checks the script) while the server runs: vm-apiserver
// serves the new certificate without a restart, and the aggregator keeps
// trusting it through the unchanged caBundle.
func TestServingCertificateRenewal(t *testing.T) {
	suite.Require(t)
	certs := filepath.Join(env.dir, "kit", "certs")
	oldCA, err := os.ReadFile(filepath.Join(certs, "ca.crt"))
	require.NoError(t, err)
	oldSerial := leafSerial(t, filepath.Join(certs, "tls.crt"))

	_, err = writeKitCerts(certs)
	require.NoError(t, err)
	newCA, err := os.ReadFile(filepath.Join(certs, "ca.crt"))
	require.NoError(t, err)
	require.Equal(t, oldCA, newCA, "renewal keeps the CA")
	want := leafSerial(t, filepath.Join(certs, "tls.crt"))
	require.NotEqual(t, oldSerial, want, "renewal issues a new certificate")

	err = framework.Poll(t.Context(), pollInterval, 2*time.Minute, "vm-apiserver to serve the renewed certificate", func(ctx context.Context) (bool, error) {
		got, err := servedSerial(ctx)
		if err != nil {
			return false, err
		}
		if got != want {
			return false, fmt.Errorf("still serving serial %s", got)
		}
		return true, nil
	})
	require.NoError(t, err)

	// The proxy path still works: the aggregator dials anew and verifies
	// the renewed certificate against the same caBundle.
	ns := newNamespace(t)
	resp, err := do(t.Context(), env.admin, http.MethodGet, "/apis/kubevirt.io/v1/namespaces/"+ns+"/virtualmachines", nil, "")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.code, string(resp.body))
	for _, name := range kitAPIServices {
		svc, err := env.agg.ApiregistrationV1().APIServices().Get(t.Context(), name, metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, "all checks passed", availableCondition(svc).Message)
	}
}

func leafSerial(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	block, _ := pem.Decode(data)
	require.NotNil(t, block)
	cert, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	return strings.ToLower(cert.SerialNumber.Text(16))
}

// servedSerial opens a fresh TLS connection to vm-apiserver and returns the
// serial number of the certificate it presents.
func servedSerial(ctx context.Context) (string, error) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(env.vmServingCA)
	d := tls.Dialer{Config: &tls.Config{RootCAs: pool, ServerName: kitService + "." + kitNamespace + ".svc", MinVersion: tls.VersionTLS12}}
	conn, err := d.DialContext(ctx, "tcp", strings.TrimPrefix(env.vmURL, "https://"))
	if err != nil {
		return "", err
	}
	defer func() { _ = conn.Close() }()
	state := conn.(*tls.Conn).ConnectionState()
	return strings.ToLower(state.PeerCertificates[0].SerialNumber.Text(16)), nil
}
