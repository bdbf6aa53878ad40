package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// directRequest calls vm-apiserver itself, bypassing kube-apiserver, with an
// optional client certificate and any headers.
func directRequest(ctx context.Context, clientCert *framework.KeyPair, method, path string, headers http.Header) (rawResponse, error) {
	req, err := http.NewRequestWithContext(ctx, method, env.vmURL+path, nil)
	if err != nil {
		return rawResponse{}, err
	}
	for k, vs := range headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Accept", "application/json")
	resp, err := env.vmHTTPClient(clientCert).Do(req)
	if err != nil {
		return rawResponse{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	return rawResponse{code: resp.StatusCode, body: body}, err
}

// asAdmin are the headers with which the front proxy asserts a cluster admin.
var asAdmin = http.Header{"X-Remote-User": {"system:admin"}, "X-Remote-Group": {"system:masters"}}

func TestFrontProxyTrust(t *testing.T) {
	suite.Require(t)
	ns := newNamespace(t)
	path := "/apis/kubevirt.io/v1/namespaces/" + ns + "/virtualmachines"

	fromClientCA := env.clientCA.ClientCert(frontProxyClientName)
	wrongName := env.frontProxyCA.ClientCert("not-the-front-proxy")
	fromOtherCA := framework.NewCA("untrusted-ca").ClientCert(frontProxyClientName)

	tests := []struct {
		name    string
		cert    *framework.KeyPair
		trusted bool
	}{
		{"headers without a client certificate", nil, false},
		{"front-proxy name signed by the client CA, not the front-proxy CA", fromClientCA, false},
		{"front-proxy CA but a name that is not allowed", wrongName, false},
		{"front-proxy name signed by an unknown CA", fromOtherCA, false},
		{"the front proxy's own certificate", env.frontProxy, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := directRequest(t.Context(), tt.cert, http.MethodGet, path, asAdmin)
			require.NoError(t, err)
			if tt.trusted {
				assert.Equal(t, http.StatusOK, resp.code, string(resp.body))
				return
			}
			assert.Contains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, resp.code, string(resp.body))
			assert.NotContains(t, string(resp.body), `"system:admin"`, "the asserted user was believed")
		})
	}
}

// TestRotatedClientCA adds new CAs to kube-system/extension-apiserver-
// authentication, as a CA rotation does, and checks that vm-apiserver
// trusts certificates from them without a restart.
func TestRotatedClientCA(t *testing.T) {
	suite.Require(t)
	ns := newNamespace(t)
	path := "/apis/kubevirt.io/v1/namespaces/" + ns + "/virtualmachines"

	tests := []struct {
		name    string
		key     string // the configmap key that carries the CA
		cn      string
		orgs    []string
		headers http.Header
	}{
		{"front-proxy CA", "requestheader-client-ca-file", frontProxyClientName, nil, asAdmin},
		{"client CA", "client-ca-file", "rotated-admin", []string{"system:masters"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca := framework.NewCA("rotated-" + tt.key)
			cert := ca.ClientCert(tt.cn, tt.orgs...)

			resp, err := directRequest(t.Context(), cert, http.MethodGet, path, tt.headers)
			require.NoError(t, err)
			require.Contains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, resp.code,
				"trusted before the rotation: %s", resp.body)

			restore := appendAuthCA(t, tt.key, ca.CertPEM)
			t.Cleanup(restore)

			err = framework.Poll(t.Context(), pollInterval, 2*time.Minute, "vm-apiserver to trust the new CA", func(ctx context.Context) (bool, error) {
				resp, err := directRequest(ctx, cert, http.MethodGet, path, tt.headers)
				if err != nil {
					return false, err
				}
				if resp.code != http.StatusOK {
					return false, fmt.Errorf("%d: %s", resp.code, resp.body)
				}
				return true, nil
			})
			require.NoError(t, err)
		})
	}
}

// appendAuthCA adds a CA to one key of extension-apiserver-authentication and
// returns a function that puts the old value back.
func appendAuthCA(t *testing.T, key string, caPEM []byte) func() {
	t.Helper()
	cms := env.kube.CoreV1().ConfigMaps(metav1.NamespaceSystem)
	var old string
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cm, err := cms.Get(t.Context(), "extension-apiserver-authentication", metav1.GetOptions{})
		if err != nil {
			return err
		}
		old = cm.Data[key]
		require.NotEmpty(t, old, "kube-apiserver publishes %s", key)
		cm.Data[key] = old + string(caPEM)
		_, err = cms.Update(t.Context(), cm, metav1.UpdateOptions{})
		return err
	})
	require.NoError(t, err)
	return func() {
		// Not t.Context(): it is already done when cleanups run.
		ctx := context.Background()
		_ = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cm, err := cms.Get(ctx, "extension-apiserver-authentication", metav1.GetOptions{})
			if err != nil {
				return err
			}
			cm.Data[key] = old
			_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
			return err
		})
	}
}

// TestCertificateVerificationsCounted: in cluster mode both the front
// proxy's certificate and a client certificate of the cluster's client CA
// go through the per-connection verification (pkg/certauth), as
// vm-apiserver's /metrics counts them.
func TestCertificateVerificationsCounted(t *testing.T) {
	suite.Require(t)
	user := env.clientCA.ClientCert("certificate-user")
	resp, err := directRequest(t.Context(), user, http.MethodGet, "/apis/kubevirt.io/v1", nil)
	require.NoError(t, err)
	// Discovery is open to every authenticated user.
	assert.Equal(t, http.StatusOK, resp.code, string(resp.body))

	resp, err = directRequest(t.Context(), env.frontProxy, http.MethodGet, "/metrics", asAdmin)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.code, string(resp.body))
	for _, authn := range []string{"front-proxy", "client-cert"} {
		re := regexp.MustCompile(`(?m)^vm_apiserver_certificate_verifications_total\{authenticator="` + authn + `",result="verified"\} ([0-9.e+]+)$`)
		m := re.FindSubmatch(resp.body)
		if assert.NotNil(t, m, "no verified %s certificates counted", authn) {
			n, err := strconv.ParseFloat(string(m[1]), 64)
			require.NoError(t, err)
			assert.Positive(t, n, authn)
		}
	}
}
