package standalone

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/util/cert"
)

// Authorizer builds the authorizer of AuthorizationOptions, as the server's
// RecommendedOptions.ApplyTo does.
func Authorizer() (authorizer.Authorizer, error) {
	var info genericapiserver.AuthorizationInfo
	if err := AuthorizationOptions().ApplyTo(&info); err != nil {
		return nil, err
	}
	return info.Authorizer, nil
}

func TestAuthorizerProbePaths(t *testing.T) {
	authz, err := Authorizer()
	require.NoError(t, err)
	someone := &user.DefaultInfo{Name: user.Anonymous, Groups: []string{user.AllUnauthenticated}}
	for path, want := range map[string]authorizer.Decision{
		"/healthz":                       authorizer.DecisionAllow,
		"/livez/ping":                    authorizer.DecisionAllow,
		"/readyz/poststarthook/anything": authorizer.DecisionAllow,
		"/readyzz":                       authorizer.DecisionNoOpinion,
		"/version":                       authorizer.DecisionNoOpinion,
		"/":                              authorizer.DecisionNoOpinion,
	} {
		got, _, err := authz.Authorize(context.Background(), authorizer.AttributesRecord{User: someone, Verb: "get", Path: path})
		require.NoError(t, err)
		assert.Equal(t, want, got, path)
	}
}

func TestAuthenticatorProbeSubPaths(t *testing.T) {
	c, err := Ensure(t.TempDir(), []string{"127.0.0.1"})
	require.NoError(t, err)
	authn, err := c.Authenticator()
	require.NoError(t, err)

	for path, anonymous := range map[string]bool{
		"/readyz":                  true,
		"/readyz/":                 true,
		"/readyz/etcd":             true,
		"/healthz/poststarthook/x": true,
		"/readyzz":                 false,
		"/apis":                    false,
		"/version":                 false,
	} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		resp, ok, err := authn.AuthenticateRequest(req)
		require.NoError(t, err, path)
		assert.Equal(t, anonymous, ok, path)
		if ok {
			assert.Equal(t, user.Anonymous, resp.User.GetName(), path)
		}
		assert.Equal(t, path, req.URL.Path, "the caller's request is not changed")
	}

	admin, err := cert.CertsFromFile(c.Path(AdminCertFile))
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodGet, "/readyz/etcd", nil)
	req.TLS = &tls.ConnectionState{PeerCertificates: admin}
	resp, ok, err := authn.AuthenticateRequest(req)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, AdminUser, resp.User.GetName())
	assert.Contains(t, resp.User.GetGroups(), user.SystemPrivilegedGroup)

	// A certificate the CA did not sign fails even on a probe.
	foreignPEM, _, err := cert.GenerateSelfSignedCertKey("foreign", nil, nil)
	require.NoError(t, err)
	foreign, err := cert.ParseCertsPEM(foreignPEM)
	require.NoError(t, err)
	req = httptest.NewRequest(http.MethodGet, "/readyz", nil)
	req.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{foreign[0]}}
	_, ok, err = authn.AuthenticateRequest(req)
	assert.Error(t, err)
	assert.False(t, ok)
}
