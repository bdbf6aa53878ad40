// Package fuzzer holds the fuzzer functions of the kubevirt.io types, for
// round-trip tests with k8s.io/apimachinery/pkg/api/apitesting/roundtrip.
package fuzzer

import (
	runtimeserializer "k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/randfill"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	v1 "github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/v1"
)

// Funcs returns the fuzzer functions of kubevirt.io. They keep a fuzzed
// object equal to itself after a trip through kubevirt.io/v1 and JSON; that
// is, they apply what decoding would default. Quantities, times and object
// metadata are left to the generic fuzzers of apimachinery, which the
// round-trip helpers merge in.
func Funcs(codecs runtimeserializer.CodecFactory) []interface{} {
	return []interface{}{
		// Decoding defaults an empty port protocol to TCP.
		func(p *kubevirt.Port, c randfill.Continue) {
			c.FillNoCustom(p)
			if p.Protocol == "" {
				p.Protocol = "TCP"
			}
		},
		func(p *v1.Port, c randfill.Continue) {
			c.FillNoCustom(p)
			if p.Protocol == "" {
				p.Protocol = "TCP"
			}
		},
	}
}
