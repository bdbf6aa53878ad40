package install

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/apitesting/roundtrip"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources/fuzzer"
)

// TestRoundTripTypes fuzzes every subresources.kubevirt.io option kind and
// checks that it survives internal -> v1 and v1alpha3 -> JSON -> internal,
// unchanged.
func TestRoundTripTypes(t *testing.T) {
	roundtrip.RoundTripTestForAPIGroup(t, Install, fuzzer.Funcs)
}
