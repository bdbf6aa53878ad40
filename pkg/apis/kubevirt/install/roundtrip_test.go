package install

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/apitesting/roundtrip"

	kubevirtfuzzer "github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/fuzzer"
)

// TestRoundTripTypes fuzzes every kubevirt.io kind and checks that it
// survives internal -> v1 -> JSON -> v1 -> internal, and v1 -> JSON -> v1,
// unchanged.
func TestRoundTripTypes(t *testing.T) {
	// The default of 20 objects seldom reaches rare values, such as the empty
	// port protocol that decoding defaults; a few hundred take well under a
	// second.
	if *roundtrip.FuzzIters < 200 {
		*roundtrip.FuzzIters = 200
	}
	roundtrip.RoundTripTestForAPIGroup(t, Install, kubevirtfuzzer.Funcs)
}
