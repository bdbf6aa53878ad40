package standalone

import (
	"net/http"
	"strings"

	apiserverapi "k8s.io/apiserver/pkg/apis/apiserver"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/authenticatorfactory"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	genericoptions "k8s.io/apiserver/pkg/server/options"

	"github.com/vm-apiserver/vm-apiserver/pkg/certauth"
)

// probes, and every path below them, may be read without credentials, so
// that process supervisors can probe the server; everything else needs the
// admin certificate.
var probes = []string{"/healthz", "/livez", "/readyz"}

// ClientCA returns the data dir's CA as a client CA bundle that follows the
// file: the server runs it (as SecureServingInfo.ClientCA), and a replaced
// file takes effect on the next request without a restart.
func (c Credentials) ClientCA() (*dynamiccertificates.DynamicFileCAContent, error) {
	return ClientCAFromFile(c.Path(CAFile))
}

// ClientCAFromFile is the client CA bundle in file (the data dir's CA, or
// --client-ca-file), reloaded by the server when the file changes.
func ClientCAFromFile(file string) (*dynamiccertificates.DynamicFileCAContent, error) {
	return dynamiccertificates.NewDynamicCAContentFromFile("client-ca-bundle", file)
}

// NewAuthenticator accepts client certificates signed by a CA of clientCA
// and, on the probes only, anonymous requests. Any other request without a
// valid certificate is a 401, and so is a request with an invalid one.
//
// clientCA must be the provider the server runs (the one given to
// AuthenticationInfo.ApplyClientCert): the certificate of every request,
// including one on a connection opened before a change, is verified
// against its current bundle. A provider of its own would never be
// reloaded, and a CA removed from the file would stay trusted.
func NewAuthenticator(clientCA dynamiccertificates.CAContentProvider) (authenticator.Request, error) {
	anonymous := &apiserverapi.AnonymousAuthConfig{Enabled: true}
	for _, p := range probes {
		anonymous.Conditions = append(anonymous.Conditions, apiserverapi.AnonymousAuthCondition{Path: p})
	}
	authn, _, err := authenticatorfactory.DelegatingAuthenticatorConfig{
		Anonymous:                          anonymous,
		ClientCertificateCAContentProvider: clientCA,
	}.New()
	if err != nil {
		return nil, err
	}
	// A connection's certificate is verified once, not on every request,
	// for as long as the bundle and the chain's validity stay the same.
	return probeSubPaths{certauth.New(authn, certauth.Config{ClientCA: clientCA})}, nil
}

// probeSubPaths authenticates a request for a path below a probe, such as
// /readyz/etcd, as one for the probe itself. Anonymous conditions match exact
// paths only, and the checks below the probes are added while the server is
// built and started, so they cannot be listed as conditions here.
type probeSubPaths struct{ authenticator.Request }

func (p probeSubPaths) AuthenticateRequest(req *http.Request) (*authenticator.Response, bool, error) {
	for _, probe := range probes {
		if strings.HasPrefix(req.URL.Path, probe+"/") {
			req = req.Clone(req.Context())
			req.URL.Path, req.URL.RawPath = probe, ""
			break
		}
	}
	return p.Request.AuthenticateRequest(req)
}

// AuthorizationOptions allow system:masters everything and everyone the
// probes. They name no kubeconfig and standalone mode runs outside a cluster,
// so there is no webhook to ask and everything else gets no opinion (403).
func AuthorizationOptions() *genericoptions.DelegatingAuthorizationOptions {
	o := genericoptions.NewDelegatingAuthorizationOptions()
	o.RemoteKubeConfigFileOptional = true
	o.AlwaysAllowGroups = []string{user.SystemPrivilegedGroup}
	o.AlwaysAllowPaths = nil
	for _, p := range probes {
		o.AlwaysAllowPaths = append(o.AlwaysAllowPaths, p, p+"/*")
	}
	return o
}
