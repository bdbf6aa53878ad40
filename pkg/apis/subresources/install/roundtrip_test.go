package install

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/apitesting/roundtrip"

	kubevirtfuzzer "github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/fuzzer"
)

// TestRoundTripTypes fuzzes every subresources.kubevirt.io option kind and
// checks that it survives internal -> v1 and v1alpha3 -> JSON -> internal,
// unchanged. The option kinds need no fuzzer functions of their own; the
// kubevirt.io ones are harmless here and keep one fuzzer for the project.
func TestRoundTripTypes(t *testing.T) {
	roundtrip.RoundTripTestForAPIGroup(t, Install, kubevirtfuzzer.Funcs)
}
