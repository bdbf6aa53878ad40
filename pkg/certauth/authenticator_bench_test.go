package certauth

import (
	"testing"
	"time"

	"k8s.io/apiserver/pkg/authentication/authenticator"
)

// BenchmarkAuthenticate is one request's client-certificate authentication
// on an open connection: k8s.io/apiserver's delegating authenticator, and
// the same behind New.
func BenchmarkAuthenticate(b *testing.B) {
	now := time.Now()
	root := newCA(b, "client-ca", now.Add(-time.Hour), now.Add(2*time.Hour))
	ca := newBundleFile(b, root)
	state := conn(root.client(b, "bob", []string{"system:masters"}, now.Add(-time.Hour), now.Add(time.Hour)))
	for _, bc := range []struct {
		name string
		a    authenticator.Request
	}{
		{"upstream", upstream(b, ca, nil)},
		{"remembered", New(upstream(b, ca, nil), Config{ClientCA: ca.provider})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := request(state, nil)
			b.ReportAllocs()
			for b.Loop() {
				if _, ok, err := bc.a.AuthenticateRequest(req); !ok || err != nil {
					b.Fatalf("refused: %v", err)
				}
			}
		})
	}
}
