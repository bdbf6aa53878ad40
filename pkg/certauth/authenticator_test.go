package certauth

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/authenticatorfactory"
	"k8s.io/apiserver/pkg/authentication/request/headerrequest"
	"k8s.io/apiserver/pkg/authentication/user"
)

// refuseAll stands for the rest of the delegating authenticator (tokens,
// the anonymous user) in tests that look at the certificates alone.
type refuseAll struct{ calls int }

func (r *refuseAll) AuthenticateRequest(*http.Request) (*authenticator.Response, bool, error) {
	r.calls++
	return nil, false, nil
}

// frontProxyConfig is kube-apiserver's usual front-proxy configuration
// with a CA bundle of its own and the allowed names given.
func frontProxyConfig(ca *bundleFile, allowed headerrequest.StringSliceProvider) *authenticatorfactory.RequestHeaderConfig {
	return &authenticatorfactory.RequestHeaderConfig{
		CAContentProvider:   ca.provider,
		AllowedClientNames:  allowed,
		UsernameHeaders:     headerrequest.StaticStringSlice{"X-Remote-User"},
		UIDHeaders:          headerrequest.StaticStringSlice{"X-Remote-Uid"},
		GroupHeaders:        headerrequest.StaticStringSlice{"X-Remote-Group"},
		ExtraHeaderPrefixes: headerrequest.StaticStringSlice{"X-Remote-Extra-"},
	}
}

// upstream is the authenticator k8s.io/apiserver builds for the same
// providers, with anonymous requests allowed as in cluster mode.
func upstream(t testing.TB, clientCA *bundleFile, rh *authenticatorfactory.RequestHeaderConfig) authenticator.Request {
	t.Helper()
	cfg := authenticatorfactory.DelegatingAuthenticatorConfig{RequestHeaderConfig: rh}
	if clientCA != nil {
		cfg.ClientCertificateCAContentProvider = clientCA.provider
	}
	a, _, err := cfg.New()
	require.NoError(t, err)
	return a
}

// answer is what an authenticator said, in a comparable form.
type answer struct {
	OK     bool
	Err    bool
	Name   string
	UID    string
	Groups []string
	Extra  map[string][]string
}

func ask(a authenticator.Request, req *http.Request) answer {
	resp, ok, err := a.AuthenticateRequest(req)
	out := answer{OK: ok, Err: err != nil}
	if ok {
		u := resp.User
		out.Name, out.UID, out.Groups, out.Extra = u.GetName(), u.GetUID(), u.GetGroups(), u.GetExtra()
	}
	return out
}

// TestSameAnswersAsUpstream asks k8s.io/apiserver's delegating
// authenticator and the same one behind New the same requests, three
// times each on one connection (the second and third from memory), and
// expects the same answer every time.
func TestSameAnswersAsUpstream(t *testing.T) {
	now := time.Now()
	from, until := now.Add(-time.Hour), now.Add(time.Hour)
	clientRoot := newCA(t, "client-ca", from, until.Add(time.Hour))
	clientInter := clientRoot.intermediate(t, "client-intermediate")
	proxyRoot := newCA(t, "front-proxy-ca", from, until.Add(time.Hour))
	foreign := newCA(t, "foreign-ca", from, until.Add(time.Hour))
	clientCA, proxyCA := newBundleFile(t, clientRoot), newBundleFile(t, proxyRoot)
	rh := frontProxyConfig(proxyCA, headerrequest.StaticStringSlice{"front-proxy-client"})

	asUser := map[string]string{"X-Remote-User": "alice", "X-Remote-Group": "devs", "X-Remote-Extra-Scopes": "a"}
	cases := []struct {
		name    string
		certs   func() []*x509.Certificate
		headers map[string]string
	}{
		{"client certificate", func() []*x509.Certificate {
			return []*x509.Certificate{clientRoot.client(t, "bob", []string{"system:masters", "ops"}, from, until)}
		}, nil},
		{"client certificate with an intermediate", func() []*x509.Certificate {
			return []*x509.Certificate{clientInter.client(t, "carol", nil, from, until), clientInter.cert}
		}, nil},
		{"client certificate without a common name", func() []*x509.Certificate {
			return []*x509.Certificate{clientRoot.client(t, "", []string{"ops"}, from, until)}
		}, nil},
		{"client certificate with front-proxy headers", func() []*x509.Certificate {
			return []*x509.Certificate{clientRoot.client(t, "dave", nil, from, until)}
		}, asUser},
		{"expired client certificate", func() []*x509.Certificate {
			return []*x509.Certificate{clientRoot.client(t, "erin", nil, from.Add(-time.Hour), from)}
		}, nil},
		{"client certificate not yet valid", func() []*x509.Certificate {
			return []*x509.Certificate{clientRoot.client(t, "frank", nil, until, until.Add(time.Hour))}
		}, nil},
		{"certificate of a foreign CA", func() []*x509.Certificate {
			return []*x509.Certificate{foreign.client(t, "mallory", []string{"system:masters"}, from, until)}
		}, nil},
		{"front proxy naming a user", func() []*x509.Certificate {
			return []*x509.Certificate{proxyRoot.client(t, "front-proxy-client", nil, from, until)}
		}, asUser},
		{"front proxy without headers", func() []*x509.Certificate {
			return []*x509.Certificate{proxyRoot.client(t, "front-proxy-client", nil, from, until)}
		}, nil},
		{"front proxy with a name not allowed", func() []*x509.Certificate {
			return []*x509.Certificate{proxyRoot.client(t, "someone-else", nil, from, until)}
		}, asUser},
		{"front-proxy headers with a certificate of a foreign CA", func() []*x509.Certificate {
			return []*x509.Certificate{foreign.client(t, "front-proxy-client", nil, from, until)}
		}, asUser},
		{"no certificate", func() []*x509.Certificate { return nil }, asUser},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := upstream(t, clientCA, rh)
			got := New(upstream(t, clientCA, rh), Config{ClientCA: clientCA.provider, RequestHeader: rh})
			state := conn(tc.certs()...)
			expected := ask(want, request(state, tc.headers))
			for i := range 3 {
				assert.Equal(t, expected, ask(got, request(state, tc.headers)), "answer %d", i+1)
			}
		})
	}
}

// TestVerifiedOncePerConnection: a connection's requests cost one chain
// verification, another connection with the same certificate its own.
func TestVerifiedOncePerConnection(t *testing.T) {
	now := time.Now()
	root := newCA(t, "client-ca", now.Add(-time.Hour), now.Add(2*time.Hour))
	ca := newBundleFile(t, root)
	r := newRemembering(&refuseAll{}, Config{ClientCA: ca.provider})
	leaf := root.client(t, "bob", []string{"ops"}, now.Add(-time.Hour), now.Add(time.Hour))

	first := conn(leaf)
	for range 50 {
		a := ask(r, request(first, nil))
		require.True(t, a.OK)
		assert.Equal(t, "bob", a.Name)
		assert.Equal(t, []string{"ops", user.AllAuthenticated}, a.Groups)
	}
	assert.EqualValues(t, 1, r.client.chainsVerified.Load())

	second := conn(reparse(t, leaf))
	for range 10 {
		require.True(t, ask(r, request(second, nil)).OK)
	}
	assert.EqualValues(t, 2, r.client.chainsVerified.Load())
	assert.Equal(t, 2, r.client.size())
}

// TestAnswersAreCopies: a filter that changes the user it was given
// changes nothing another request gets.
func TestAnswersAreCopies(t *testing.T) {
	now := time.Now()
	root := newCA(t, "client-ca", now.Add(-time.Hour), now.Add(2*time.Hour))
	r := New(&refuseAll{}, Config{ClientCA: newBundleFile(t, root).provider})
	state := conn(root.client(t, "bob", []string{"ops"}, now.Add(-time.Hour), now.Add(time.Hour)))

	resp, ok, err := r.AuthenticateRequest(request(state, nil))
	require.NoError(t, err)
	require.True(t, ok)
	u := resp.User.(*user.DefaultInfo)
	want := answer{OK: true, Name: u.Name, Groups: append([]string(nil), u.Groups...), Extra: cloneExtra(u.Extra)}
	u.Name, u.Groups[0] = "root", "system:masters"
	for k := range u.Extra {
		u.Extra[k][0] = "forged"
	}
	u.Extra["more"] = []string{"x"}

	assert.Equal(t, want, ask(r, request(state, nil)))
}

// TestBundleChangeOnOpenConnection: removing a CA from the bundle refuses
// its certificates on a connection accepted before; adding it again
// accepts them after a new verification.
func TestBundleChangeOnOpenConnection(t *testing.T) {
	now := time.Now()
	oldRoot := newCA(t, "old-ca", now.Add(-time.Hour), now.Add(2*time.Hour))
	newRoot := newCA(t, "new-ca", now.Add(-time.Hour), now.Add(2*time.Hour))
	ca := newBundleFile(t, oldRoot)
	rest := &refuseAll{}
	r := newRemembering(rest, Config{ClientCA: ca.provider})
	state := conn(oldRoot.client(t, "bob", nil, now.Add(-time.Hour), now.Add(time.Hour)))
	require.True(t, ask(r, request(state, nil)).OK)

	ca.replace(t, oldRoot, newRoot)
	assert.True(t, ask(r, request(state, nil)).OK, "a CA still in the bundle")
	assert.EqualValues(t, 2, r.client.chainsVerified.Load(), "a new bundle, a new verification")

	ca.replace(t, newRoot)
	for range 3 {
		assert.False(t, ask(r, request(state, nil)).OK, "the removed CA on the connection accepted before")
	}
	assert.EqualValues(t, 5, r.client.chainsVerified.Load(), "a refusal is never remembered")
	assert.Equal(t, 3, rest.calls, "each refused request goes on to the rest of the chain")

	ca.replace(t, newRoot, oldRoot)
	assert.True(t, ask(r, request(state, nil)).OK)
}

// TestExpiryOnOpenConnection: a client certificate, an intermediate or a
// CA that expires while the connection is open is refused from then on;
// so is any of them when the clock is set back before it was valid.
func TestExpiryOnOpenConnection(t *testing.T) {
	from, until := epoch.Add(-time.Hour), epoch.Add(time.Hour)
	cases := []struct {
		name   string
		chain  func(*testing.T) (*testCA, []*x509.Certificate)
		expiry time.Time
	}{
		{"client certificate", func(t *testing.T) (*testCA, []*x509.Certificate) {
			root := newCA(t, "root", from, until.Add(time.Hour))
			return root, []*x509.Certificate{root.client(t, "bob", nil, from, until)}
		}, until},
		{"intermediate", func(t *testing.T) (*testCA, []*x509.Certificate) {
			root := newCA(t, "root", from, until.Add(time.Hour))
			inter := root.intermediate(t, "inter")
			inter.cert = issue(t, &x509.Certificate{
				Subject: inter.cert.Subject, NotBefore: from, NotAfter: epoch.Add(10 * time.Minute),
				KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
			}, root.cert, inter.key.Public(), root.key)
			return root, []*x509.Certificate{inter.client(t, "bob", nil, from, until), inter.cert}
		}, epoch.Add(10 * time.Minute)},
		{"CA", func(t *testing.T) (*testCA, []*x509.Certificate) {
			root := newCA(t, "root", from, epoch.Add(5*time.Minute))
			return root, []*x509.Certificate{root.client(t, "bob", nil, from, until)}
		}, epoch.Add(5 * time.Minute)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root, certs := tc.chain(t)
			clk := &clock{t: epoch}
			r := newRemembering(&refuseAll{}, Config{ClientCA: newBundleFile(t, root).provider, Now: clk.now})
			state := conn(certs...)
			require.True(t, ask(r, request(state, nil)).OK)

			clk.t = tc.expiry
			assert.True(t, ask(r, request(state, nil)).OK, "valid up to its last instant")
			assert.EqualValues(t, 1, r.client.chainsVerified.Load())
			clk.t = tc.expiry.Add(time.Second)
			assert.False(t, ask(r, request(state, nil)).OK, "expired on the connection accepted before")

			clk.t = from.Add(-time.Second)
			assert.False(t, ask(r, request(state, nil)).OK, "not yet valid after the clock was set back")
			clk.t = epoch
			assert.True(t, ask(r, request(state, nil)).OK)
		})
	}
}

// TestForeignCANeverAccepted: a certificate of a CA not in the bundle is
// refused on every request of its connection, each verified anew, and
// the request goes on to the rest of the chain.
func TestForeignCANeverAccepted(t *testing.T) {
	now := time.Now()
	trusted := newCA(t, "trusted", now.Add(-time.Hour), now.Add(2*time.Hour))
	foreign := newCA(t, "foreign", now.Add(-time.Hour), now.Add(2*time.Hour))
	rest := &refuseAll{}
	r := newRemembering(rest, Config{ClientCA: newBundleFile(t, trusted).provider})
	// The same subject and key usage as a trusted user's certificate.
	state := conn(foreign.client(t, "admin", []string{"system:masters"}, now.Add(-time.Hour), now.Add(time.Hour)))
	for range 3 {
		assert.False(t, ask(r, request(state, nil)).OK)
	}
	assert.EqualValues(t, 3, r.client.chainsVerified.Load())
	assert.Equal(t, 3, rest.calls)
	assert.Zero(t, r.client.size())
}

// TestFrontProxyOnOpenConnection: the front proxy's chain is verified once
// per connection, but the user comes from each request's headers and the
// allowed names apply from the moment they change.
func TestFrontProxyOnOpenConnection(t *testing.T) {
	now := time.Now()
	root := newCA(t, "front-proxy-ca", now.Add(-time.Hour), now.Add(2*time.Hour))
	ca := newBundleFile(t, root)
	allowed := []string{"front-proxy-client"}
	rh := frontProxyConfig(ca, headerrequest.StringSliceProviderFunc(func() []string { return allowed }))
	rest := &refuseAll{}
	r := newRemembering(rest, Config{RequestHeader: rh})
	state := conn(root.client(t, "front-proxy-client", nil, now.Add(-time.Hour), now.Add(time.Hour)))

	for _, name := range []string{"alice", "bob", "carol"} {
		req := request(state, map[string]string{"X-Remote-User": name, "X-Remote-Group": "devs"})
		a := ask(r, req)
		require.True(t, a.OK)
		assert.Equal(t, name, a.Name)
		assert.Equal(t, []string{"devs", user.AllAuthenticated}, a.Groups)
		assert.Empty(t, req.Header.Get("X-Remote-User"), "the headers are cleared as upstream clears them")
	}
	assert.EqualValues(t, 1, r.proxy.chainsVerified.Load())
	assert.False(t, ask(r, request(state, nil)).OK, "no user named")

	allowed = []string{"another-proxy"}
	assert.False(t, ask(r, request(state, map[string]string{"X-Remote-User": "alice"})).OK, "the name is no longer allowed")

	allowed = nil
	ca.replace(t, newCA(t, "other-ca", now.Add(-time.Hour), now.Add(2*time.Hour)))
	assert.False(t, ask(r, request(state, map[string]string{"X-Remote-User": "alice"})).OK, "the CA was removed")
}

// TestConnectionsForgotten: once a connection's certificate is
// unreachable, its entry goes.
func TestConnectionsForgotten(t *testing.T) {
	now := time.Now()
	root := newCA(t, "client-ca", now.Add(-time.Hour), now.Add(2*time.Hour))
	r := newRemembering(&refuseAll{}, Config{ClientCA: newBundleFile(t, root).provider})
	leaf := root.client(t, "bob", nil, now.Add(-time.Hour), now.Add(time.Hour))
	func() {
		for range 20 {
			require.True(t, ask(r, request(conn(reparse(t, leaf)), nil)).OK)
		}
	}()
	require.Equal(t, 20, r.client.size())
	assert.Eventually(t, func() bool {
		runtime.GC()
		return r.client.size() == 0
	}, 10*time.Second, 10*time.Millisecond)
}

// TestConcurrentConnections authenticates from many goroutines on a few
// connections while the bundle changes (run with -race).
func TestConcurrentConnections(t *testing.T) {
	now := time.Now()
	root := newCA(t, "client-ca", now.Add(-time.Hour), now.Add(2*time.Hour))
	other := newCA(t, "other-ca", now.Add(-time.Hour), now.Add(2*time.Hour))
	ca := newBundleFile(t, root)
	r := New(&refuseAll{}, Config{ClientCA: ca.provider})
	leaf := root.client(t, "bob", nil, now.Add(-time.Hour), now.Add(time.Hour))
	states := []*tls.ConnectionState{conn(reparse(t, leaf)), conn(reparse(t, leaf)), conn(reparse(t, leaf))}

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				a := ask(r, request(states[(g+i)%len(states)], nil))
				if a.OK && a.Name != "bob" {
					errs <- fmt.Errorf("user %q", a.Name)
					return
				}
			}
		})
	}
	for range 5 {
		ca.replace(t, root, other)
		ca.replace(t, root)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	ca.replace(t, other)
	for _, s := range states {
		assert.False(t, ask(r, request(s, nil)).OK, "refused after the CA was removed")
	}
}

// TestSameLeafOtherIntermediates: a leaf object seen before with a valid
// intermediate is verified again when it comes with other intermediates,
// as a resumed TLS session could bring it.
func TestSameLeafOtherIntermediates(t *testing.T) {
	now := time.Now()
	root := newCA(t, "root", now.Add(-time.Hour), now.Add(2*time.Hour))
	inter := root.intermediate(t, "inter")
	stranger := newCA(t, "stranger", now.Add(-time.Hour), now.Add(2*time.Hour))
	r := newRemembering(&refuseAll{}, Config{ClientCA: newBundleFile(t, root).provider})
	leaf := inter.client(t, "bob", nil, now.Add(-time.Hour), now.Add(time.Hour))

	require.True(t, ask(r, request(conn(leaf, inter.cert), nil)).OK)
	assert.False(t, ask(r, request(conn(leaf, stranger.cert), nil)).OK, "verified with the other connection's intermediate")
	assert.False(t, ask(r, request(conn(leaf), nil)).OK, "verified without an intermediate")
	// The refusals left the first verification in place.
	assert.True(t, ask(r, request(conn(leaf, inter.cert), nil)).OK)
	assert.EqualValues(t, 3, r.client.chainsVerified.Load())
}
