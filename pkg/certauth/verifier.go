// Package certauth verifies a client certificate once per connection
// instead of once per request.
//
// k8s.io/apiserver checks the chain of the certificate on every request
// (x509.Certificate.Verify, then a SHA-256 of the certificate for the
// user's credential ID). A TLS connection presents one certificate for its
// whole life, and an HTTP/2 connection carries many requests, so the same
// chain is verified again and again. The verifier here remembers a
// successful verification for the connection's certificate, and answers
// from memory only while nothing that verification depended on has
// changed:
//
//   - the CA bundle in force: the provider's current bundle (its
//     *x509.CertPool) must be the one the chain was verified against, so a
//     reloaded bundle (a CA added or removed) means a new verification;
//   - time: every certificate of the verified chains must still be valid
//     (NotBefore ≤ now ≤ NotAfter), so an expiring client certificate or CA
//     is refused from the moment it expires;
//   - the connection: entries are keyed by the certificate object that TLS
//     parsed for the connection (connections that resume its TLS session
//     may share it), held weakly, and dropped once the connections and
//     their requests are gone; the intermediates the client sent with it
//     must be the same objects too.
//
// A failed verification is never remembered: every request of a refused
// certificate is verified again, and refused again.
package certauth

import (
	"crypto/x509"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"weak"
)

// maxEntries bounds the connections remembered at once. Beyond it a new
// connection's certificate is verified on every request, as upstream does,
// until entries of closed connections are dropped.
const maxEntries = 16384

// verifier remembers, per connection certificate, a verification against
// the bundle of one CA provider.
type verifier struct {
	// optionsFn returns the provider's current verify options, with the
	// bundle in force; false when there is none.
	optionsFn func() (x509.VerifyOptions, bool)
	now       func() time.Time
	// verified counts the chains verified and refused (not the answers
	// from memory), by result.
	verified func(ok bool)
	// chainsVerified counts the same, for tests.
	chainsVerified atomic.Int64

	mu      sync.Mutex
	entries map[weak.Pointer[x509.Certificate]]*verification
}

// verification is a successful verification of a connection's
// certificate: what it was checked against, until when it holds, and what
// the authenticator derived from it. It must not refer to the certificate
// (not even through the chains): the entry would keep its own key alive.
type verification struct {
	roots, intermediates *x509.CertPool
	// presented are the intermediates the client sent with the leaf, by
	// identity: a session resumed from a ticket can hand the same leaf
	// object to another connection, which may send others.
	presented []*x509.Certificate
	// notBefore and notAfter bound the instants at which every certificate
	// of every verified chain is valid.
	notBefore, notAfter time.Time
	// derived is what the authenticator computed from the chains (the
	// user of a client certificate); nil for the front proxy.
	derived any
}

func newVerifier(optionsFn func() (x509.VerifyOptions, bool), now func() time.Time, verified func(ok bool)) *verifier {
	return &verifier{
		optionsFn: optionsFn, now: now, verified: verified,
		entries: map[weak.Pointer[x509.Certificate]]*verification{},
	}
}

// verify returns the verification of certs (the leaf first, then the
// intermediates the client sent) against the provider's current bundle:
// from memory when a verification of this very certificate object against
// this bundle still holds, otherwise by verifying the chain and then
// calling derive on the chains. It returns nil and no error when the
// provider has no bundle.
func (v *verifier) verify(certs []*x509.Certificate, derive func([][]*x509.Certificate) any) (*verification, error) {
	opts, ok := v.optionsFn()
	if !ok {
		return nil, nil
	}
	leaf := certs[0]
	key := weak.Make(leaf)
	now := v.now()

	v.mu.Lock()
	known := v.entries[key]
	v.mu.Unlock()
	if known != nil && known.roots == opts.Roots && known.intermediates == opts.Intermediates &&
		slices.Equal(known.presented, certs[1:]) &&
		!now.Before(known.notBefore) && !now.After(known.notAfter) {
		return known, nil
	}

	// The verify options are a copy: adding the client's intermediates and
	// the clock changes nothing the provider holds.
	fresh := &verification{roots: opts.Roots, intermediates: opts.Intermediates, presented: slices.Clone(certs[1:])}
	if opts.Intermediates == nil && len(certs) > 1 {
		opts.Intermediates = x509.NewCertPool()
		for _, c := range certs[1:] {
			opts.Intermediates.AddCert(c)
		}
	}
	opts.CurrentTime = now
	chains, err := leaf.Verify(opts)
	v.verified(err == nil)
	v.chainsVerified.Add(1)
	if err != nil {
		return nil, err
	}
	fresh.notBefore, fresh.notAfter = validity(chains)
	if derive != nil {
		fresh.derived = derive(chains)
	}
	v.remember(key, leaf, fresh)
	return fresh, nil
}

// remember keeps fresh as the verification of leaf's connection. The first
// time a certificate object is seen, a cleanup is attached to it that
// forgets it once it is unreachable.
func (v *verifier) remember(key weak.Pointer[x509.Certificate], leaf *x509.Certificate, fresh *verification) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, seen := v.entries[key]; !seen {
		if len(v.entries) >= maxEntries {
			return
		}
		runtime.AddCleanup(leaf, v.forget, key)
	}
	v.entries[key] = fresh
}

func (v *verifier) forget(key weak.Pointer[x509.Certificate]) {
	v.mu.Lock()
	delete(v.entries, key)
	v.mu.Unlock()
}

// size is the number of connection certificates remembered.
func (v *verifier) size() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.entries)
}

// validity is the window in which every certificate of every chain is
// valid: the latest NotBefore and the earliest NotAfter. Outside it some
// chain would no longer verify, so the verification is done again.
func validity(chains [][]*x509.Certificate) (notBefore, notAfter time.Time) {
	first := true
	for _, chain := range chains {
		for _, c := range chain {
			if first || c.NotBefore.After(notBefore) {
				notBefore = c.NotBefore
			}
			if first || c.NotAfter.Before(notAfter) {
				notAfter = c.NotAfter
			}
			first = false
		}
	}
	return notBefore, notAfter
}
