package certauth

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"slices"
	"time"

	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/authenticatorfactory"
	"k8s.io/apiserver/pkg/authentication/group"
	"k8s.io/apiserver/pkg/authentication/request/headerrequest"
	"k8s.io/apiserver/pkg/authentication/request/union"
	x509request "k8s.io/apiserver/pkg/authentication/request/x509"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
)

// Config names the certificate authenticators of a server's delegating
// authenticator, the ones whose verification is remembered per connection.
type Config struct {
	// ClientCA verifies client certificates, whose common name is the
	// user and whose organizations are its groups. Nil: none.
	ClientCA dynamiccertificates.CAContentProvider
	// RequestHeader verifies the front proxy's certificate, after which the
	// user is the one its headers name. Nil: none.
	RequestHeader *authenticatorfactory.RequestHeaderConfig
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// New returns an authenticator that answers as delegate does, with the
// certificate verifications of cfg remembered per connection.
//
// delegate must be the authenticator k8s.io/apiserver builds for the same
// providers (authenticatorfactory.DelegatingAuthenticatorConfig.New):
// the front proxy first, then client certificates, then tokens and the
// anonymous user. New tries the first two in that order, remembering what
// they verified, and hands every request neither accepts to delegate
// unchanged; delegate's own certificate checks then refuse it as they
// always do, or its token and anonymous authenticators decide.
func New(delegate authenticator.Request, cfg Config) authenticator.Request {
	r := newRemembering(delegate, cfg)
	if r.certs == nil {
		return delegate
	}
	return r
}

func newRemembering(delegate authenticator.Request, cfg Config) *remembering {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	r := &remembering{delegate: delegate}
	var certs []authenticator.Request
	if rh := cfg.RequestHeader; rh != nil {
		r.proxy = newVerifier(rh.CAContentProvider.VerifyOptions, now, countVerification("front-proxy"))
		certs = append(certs, &frontProxy{
			verifier:     r.proxy,
			allowedNames: rh.AllowedClientNames,
			headers:      headerrequest.NewDynamic(rh.UsernameHeaders, rh.UIDHeaders, rh.GroupHeaders, rh.ExtraHeaderPrefixes),
		})
	}
	if cfg.ClientCA != nil {
		r.client = newVerifier(cfg.ClientCA.VerifyOptions, now, countVerification("client-cert"))
		certs = append(certs, &clientCert{verifier: r.client})
	}
	if len(certs) > 0 {
		r.certs = group.NewAuthenticatedGroupAdder(union.New(certs...))
	}
	return r
}

// remembering asks the certificate authenticators first and delegate for
// everything they do not accept.
type remembering struct {
	certs, delegate authenticator.Request
	// proxy and client verify the front proxy's and the clients'
	// certificates; nil when not configured.
	proxy, client *verifier
}

func (r *remembering) AuthenticateRequest(req *http.Request) (*authenticator.Response, bool, error) {
	if req.TLS != nil && len(req.TLS.PeerCertificates) > 0 {
		if resp, ok, err := r.certs.AuthenticateRequest(req); ok && err == nil {
			return resp, true, nil
		}
	}
	return r.delegate.AuthenticateRequest(req)
}

// clientCert accepts a certificate of the client CA as the user its common
// name names, as x509.CommonNameUserConversion makes it.
type clientCert struct{ verifier *verifier }

// certUser is what a client certificate's chains make of it, kept with
// its verification.
type certUser struct {
	user user.Info
	err  error
}

func (c *clientCert) AuthenticateRequest(req *http.Request) (*authenticator.Response, bool, error) {
	v, err := c.verifier.verify(req.TLS.PeerCertificates, userOf)
	if v == nil || err != nil {
		return nil, false, err
	}
	found := v.derived.(certUser)
	if found.user == nil {
		return nil, false, found.err
	}
	// Each request gets its own copy: later filters may change what they
	// were given.
	u := found.user
	return &authenticator.Response{User: &user.DefaultInfo{
		Name: u.GetName(), UID: u.GetUID(), Groups: slices.Clone(u.GetGroups()), Extra: cloneExtra(u.GetExtra()),
	}}, true, nil
}

// userOf converts the first chain that names a user, as k8s.io/apiserver's
// x509 authenticator does.
func userOf(chains [][]*x509.Certificate) any {
	var errs []error
	for _, chain := range chains {
		resp, ok, err := x509request.CommonNameUserConversion.User(chain)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			// Kept as converted: only copies of it leave (AuthenticateRequest).
			return certUser{user: resp.User}
		}
	}
	return certUser{err: utilerrors.NewAggregate(errs)}
}

func cloneExtra(extra map[string][]string) map[string][]string {
	if extra == nil {
		return nil
	}
	out := make(map[string][]string, len(extra))
	for k, v := range extra {
		out[k] = slices.Clone(v)
	}
	return out
}

// frontProxy accepts a certificate of the front-proxy CA whose common name
// is an allowed client name, and then the user its headers name. Only the
// chain is remembered: the allowed names and the headers are read on
// every request, since the former may change at any time and the latter
// differ per request.
type frontProxy struct {
	verifier     *verifier
	allowedNames headerrequest.StringSliceProvider
	headers      authenticator.Request
}

func (f *frontProxy) AuthenticateRequest(req *http.Request) (*authenticator.Response, bool, error) {
	v, err := f.verifier.verify(req.TLS.PeerCertificates, nil)
	if v == nil || err != nil {
		return nil, false, err
	}
	if allowed := f.allowedNames.Value(); len(allowed) > 0 {
		cn := req.TLS.PeerCertificates[0].Subject.CommonName
		if !slices.Contains(allowed, cn) {
			return nil, false, fmt.Errorf("x509: subject with cn=%s is not in the allowed list", cn)
		}
	}
	return f.headers.AuthenticateRequest(req)
}
