package standalone

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/request/anonymous"
	"k8s.io/apiserver/pkg/authentication/request/union"
	x509request "k8s.io/apiserver/pkg/authentication/request/x509"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	"k8s.io/apiserver/pkg/authorization/path"
	authzunion "k8s.io/apiserver/pkg/authorization/union"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
)

// ProbePaths may be read without credentials, so that process supervisors
// can probe the server; everything else needs the admin certificate.
var ProbePaths = []string{"/healthz", "/healthz/*", "/livez", "/livez/*", "/readyz", "/readyz/*"}

// ClientCA returns the CA whose client certificates the server accepts.
func (c Credentials) ClientCA() (dynamiccertificates.CAContentProvider, error) {
	return dynamiccertificates.NewDynamicCAContentFromFile("standalone-client-ca", c.Path(CAFile))
}

// Authenticator accepts client certificates signed by the data dir's CA and,
// on the probe paths only, anonymous requests. Any other request without a
// valid certificate is a 401.
func (c Credentials) Authenticator() (authenticator.Request, error) {
	data, err := os.ReadFile(c.Path(CAFile))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s holds no certificate", c.Path(CAFile))
	}
	opts := x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	certs := x509request.New(opts, x509request.CommonNameUserConversion)
	return union.New(certs, probeOnly{anonymous.NewAuthenticator(nil)}), nil
}

// Authorizer allows system:masters everything and everyone the probe paths.
func Authorizer() (authorizer.Authorizer, error) {
	probes, err := path.NewAuthorizer(ProbePaths)
	if err != nil {
		return nil, err
	}
	return authzunion.New(
		authzunion.NamedAuthorizer{AuthorizerName: "probes", Authorizer: probes},
		authzunion.NamedAuthorizer{AuthorizerName: "system-masters", Authorizer: authorizerfactory.NewPrivilegedGroups(user.SystemPrivilegedGroup)},
	)
}

// probeOnly limits an authenticator to the probe paths.
type probeOnly struct{ authenticator.Request }

func (p probeOnly) AuthenticateRequest(req *http.Request) (*authenticator.Response, bool, error) {
	if !isProbePath(req.URL.Path) {
		return nil, false, nil
	}
	return p.Request.AuthenticateRequest(req)
}

func isProbePath(p string) bool {
	for _, probe := range []string{"/healthz", "/livez", "/readyz"} {
		if p == probe || strings.HasPrefix(p, probe+"/") {
			return true
		}
	}
	return false
}
