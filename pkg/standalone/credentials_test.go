package standalone

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

func TestEnsureIsIdempotentAndReissuesForNewHosts(t *testing.T) {
	dir := t.TempDir()
	_, err := Ensure(dir, []string{"localhost", "127.0.0.1"})
	require.NoError(t, err)
	ca1, err := os.ReadFile(dir + "/" + CAFile)
	require.NoError(t, err)
	admin1, err := os.ReadFile(dir + "/" + AdminCertFile)
	require.NoError(t, err)
	serving1, err := os.ReadFile(dir + "/" + ServingCertFile)
	require.NoError(t, err)

	_, err = Ensure(dir, []string{"localhost", "127.0.0.1"})
	require.NoError(t, err)
	serving2, _ := os.ReadFile(dir + "/" + ServingCertFile)
	assert.Equal(t, serving1, serving2, "a covering serving certificate is kept")

	c, err := Ensure(dir, []string{"localhost", "vm.example.test"})
	require.NoError(t, err)
	ca2, _ := os.ReadFile(dir + "/" + CAFile)
	admin2, _ := os.ReadFile(dir + "/" + AdminCertFile)
	serving3, _ := os.ReadFile(dir + "/" + ServingCertFile)
	assert.Equal(t, ca1, ca2, "the CA is kept, so clients keep working")
	assert.Equal(t, admin1, admin2)
	assert.NotEqual(t, serving1, serving3, "a new host gets a new serving certificate")
	assert.True(t, certCovers(c.Path(ServingCertFile), []string{"vm.example.test"}))

	info, err := os.Stat(dir + "/" + caKeyFile)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "private keys are owner-only")
}

func TestKubeconfigAuthenticatesAsAdmin(t *testing.T) {
	c, err := Ensure(t.TempDir(), []string{"127.0.0.1"})
	require.NoError(t, err)
	authn, err := NewAuthenticator(mustClientCA(t, c))
	require.NoError(t, err)

	// A TLS server that asks for client certificates and runs the authenticator.
	ca, err := os.ReadFile(c.Path(CAFile))
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(ca))
	var seen user.Info
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, ok, err := authn.AuthenticateRequest(r)
		if err != nil || !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		seen = resp.User
	}))
	serving, err := tls.LoadX509KeyPair(c.Path(ServingCertFile), c.Path(ServingKeyFile))
	require.NoError(t, err)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{serving}, ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	defer srv.Close()

	require.NoError(t, c.WriteKubeconfig(srv.URL))
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Path(KubeconfigFile))
	require.NoError(t, err)
	client, err := restClient(cfg)
	require.NoError(t, err)
	resp, err := client.Get(srv.URL + "/apis")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotNil(t, seen)
	assert.Equal(t, AdminUser, seen.GetName())
	assert.Contains(t, seen.GetGroups(), user.SystemPrivilegedGroup)

	// Without a certificate: anonymous only on the probe paths.
	plain := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	for path, want := range map[string]int{"/apis": http.StatusUnauthorized, "/readyz": http.StatusOK, "/livez/etcd": http.StatusOK} {
		resp, err := plain.Get(srv.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode, path)
	}
}

func TestAuthorizer(t *testing.T) {
	authz, err := Authorizer()
	require.NoError(t, err)
	admin := &user.DefaultInfo{Name: AdminUser, Groups: []string{user.SystemPrivilegedGroup}}
	someone := &user.DefaultInfo{Name: "someone", Groups: []string{user.AllAuthenticated}}
	for _, tc := range []struct {
		name  string
		attrs authorizer.AttributesRecord
		want  authorizer.Decision
	}{
		{"masters may act", authorizer.AttributesRecord{User: admin, Verb: "update", Resource: "virtualmachines", Subresource: "start", ResourceRequest: true}, authorizer.DecisionAllow},
		{"others may not", authorizer.AttributesRecord{User: someone, Verb: "get", Resource: "virtualmachines", ResourceRequest: true}, authorizer.DecisionNoOpinion},
		{"anyone may probe", authorizer.AttributesRecord{User: someone, Verb: "get", Path: "/readyz"}, authorizer.DecisionAllow},
		{"metrics need masters", authorizer.AttributesRecord{User: someone, Verb: "get", Path: "/metrics"}, authorizer.DecisionNoOpinion},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := authz.Authorize(context.Background(), tc.attrs)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func restClient(cfg *rest.Config) (*http.Client, error) {
	transport, err := rest.TransportFor(cfg)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: transport}, nil
}
