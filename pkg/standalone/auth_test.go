package standalone

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
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
	authn, err := NewAuthenticator(mustClientCA(t, c))
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

func mustClientCA(t *testing.T, c Credentials) dynamiccertificates.CAContentProvider {
	t.Helper()
	ca, err := c.ClientCA()
	require.NoError(t, err)
	return ca
}

// TestAuthenticatorFollowsClientCA replaces the CA file and reloads the
// provider as the server's controller does: a certificate of the removed
// CA is refused from then on, and one of the new CA is accepted.
func TestAuthenticatorFollowsClientCA(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "client-ca.crt")
	issue := func(caName string) ([]byte, *x509.Certificate) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		ca, err := cert.NewSelfSignedCACert(cert.Config{CommonName: caName}, key)
		require.NoError(t, err)
		leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: caName + "-user"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, leafKey.Public(), key)
		require.NoError(t, err)
		leaf, err := x509.ParseCertificate(der)
		require.NoError(t, err)
		caPEM, err := cert.EncodeCertificates(ca)
		require.NoError(t, err)
		return caPEM, leaf
	}
	oldCA, oldUser := issue("old")
	newCA, newUser := issue("new")
	require.NoError(t, os.WriteFile(file, oldCA, 0o644))
	provider, err := ClientCAFromFile(file)
	require.NoError(t, err)
	authn, err := NewAuthenticator(provider)
	require.NoError(t, err)
	as := func(u *x509.Certificate) (string, bool) {
		req := httptest.NewRequest(http.MethodGet, "/apis", nil)
		req.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{u}}
		resp, ok, _ := authn.AuthenticateRequest(req)
		if !ok {
			return "", false
		}
		return resp.User.GetName(), true
	}
	name, ok := as(oldUser)
	assert.True(t, ok)
	assert.Equal(t, "old-user", name)
	_, ok = as(newUser)
	assert.False(t, ok, "a CA not yet in the file")

	require.NoError(t, os.WriteFile(file, newCA, 0o644))
	require.NoError(t, provider.RunOnce(context.Background()))
	_, ok = as(oldUser)
	assert.False(t, ok, "the removed CA is still trusted")
	name, ok = as(newUser)
	assert.True(t, ok)
	assert.Equal(t, "new-user", name)
}
