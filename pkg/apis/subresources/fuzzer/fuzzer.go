// Package fuzzer holds the fuzzer functions of the subresources.kubevirt.io
// option kinds, for round-trip tests.
package fuzzer

import (
	runtimeserializer "k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/randfill"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources"
)

// Funcs fills each internal option kind with the fields its wire form has,
// and leaves the others of the shared ActionOptions unset: a start has no
// grace period, a stop or restart is never paused.
func Funcs(runtimeserializer.CodecFactory) []interface{} {
	return []interface{}{
		func(o *subresources.StartOptions, c randfill.Continue) {
			c.FillNoCustom(o)
			o.GracePeriodSeconds = nil
		},
		func(o *subresources.StopOptions, c randfill.Continue) {
			c.FillNoCustom(o)
			o.Paused = false
		},
		func(o *subresources.RestartOptions, c randfill.Continue) {
			c.FillNoCustom(o)
			o.Paused = false
		},
	}
}
