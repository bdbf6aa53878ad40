// Package fuzzer generates random kubevirt.io VirtualMachines that are valid:
// they pass the validation of this server and survive a trip through JSON
// and kubevirt.io/api's types unchanged. Across a few hundred objects every
// field of the VM, spec and status, is set at least once.
//
// Funcs plugs into k8s.io/apimachinery's fuzzing helpers, for round-trip
// tests; ValidVirtualMachine and ValidVirtualMachineStatus give the i-th
// object of a seed directly, for end-to-end tests against a server.
package fuzzer

import (
	"math/rand"

	"k8s.io/apimachinery/pkg/api/apitesting/fuzzer"
	metafuzzer "k8s.io/apimachinery/pkg/apis/meta/fuzzer"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	runtimeserializer "k8s.io/apimachinery/pkg/runtime/serializer"
	virtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/randfill"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	kubevirtv1 "github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/v1"
)

// Funcs returns the fuzzer functions of kubevirt.io, to merge with
// k8s.io/apimachinery/pkg/apis/meta/fuzzer.Funcs. They replace the generic
// filling of a VirtualMachine, internal or kubevirt.io/v1, by the generator
// of this package, so that every fuzzed VM is valid and JSON-stable.
func Funcs(codecs runtimeserializer.CodecFactory) []interface{} {
	return []interface{}{
		func(vm *kubevirt.VirtualMachine, c randfill.Continue) {
			g := newGenerator(c.Rand, codecs)
			vm.TypeMeta = metav1.TypeMeta{}
			g.objectMeta(c, &vm.ObjectMeta)
			vm.Spec = g.vmSpec(vm.Namespace)
			vm.Status = g.status()
		},
		func(vm *virtv1.VirtualMachine, c randfill.Continue) {
			g := newGenerator(c.Rand, codecs)
			vm.TypeMeta = metav1.TypeMeta{}
			g.objectMeta(c, &vm.ObjectMeta)
			vm.Spec = g.vmSpec(vm.Namespace)
			vm.Status = g.status()
		},
	}
}

// ValidVirtualMachine returns the i-th VirtualMachine of seed: valid for a
// create, with TypeMeta set to kubevirt.io/v1 and without the metadata a
// server assigns (uid, resourceVersion, timestamps, managed fields, owners,
// finalizers). Its status is filled as well; a create drops it, but it can
// be written through the status subresource afterwards. The same seed and
// index always give the same object.
func ValidVirtualMachine(seed int64, i int) *virtv1.VirtualMachine {
	f := newFiller(seed, i)
	vm := &virtv1.VirtualMachine{}
	f.Fill(vm)
	vm.TypeMeta = metav1.TypeMeta{APIVersion: virtv1.GroupVersion.String(), Kind: "VirtualMachine"}
	m := &vm.ObjectMeta
	m.GenerateName, m.UID, m.ResourceVersion, m.Generation = "", "", "", 0
	m.CreationTimestamp = metav1.Time{}
	m.DeletionTimestamp, m.DeletionGracePeriodSeconds = nil, nil
	m.OwnerReferences, m.Finalizers, m.ManagedFields = nil, nil, nil
	m.SelfLink = "" //nolint:staticcheck // cleared because a server sets it
	return vm
}

// ValidVirtualMachineStatus returns the i-th random valid status of seed,
// for a write through the status subresource.
func ValidVirtualMachineStatus(seed int64, i int) *virtv1.VirtualMachineStatus {
	// A different stream from ValidVirtualMachine's, still deterministic.
	src := rand.New(rand.NewSource(mixSeed(seed, i) ^ 0x5eed))
	status := newGenerator(src, codecFactory()).status()
	return &status
}

// newFiller returns the apimachinery filler of this package and the meta
// fuzzer for the i-th object of seed.
func newFiller(seed int64, i int) *randfill.Filler {
	funcs := fuzzer.MergeFuzzerFuncs(metafuzzer.Funcs, Funcs)
	return fuzzer.FuzzerFor(funcs, rand.NewSource(mixSeed(seed, i)), codecFactory())
}

// mixSeed spreads (seed, i) over the seed space so that neighbouring
// indexes do not give correlated streams.
func mixSeed(seed int64, i int) int64 {
	x := uint64(seed)*0x9E3779B97F4A7C15 + uint64(i)*0xBF58476D1CE4E5B9 //nolint:gosec // wrap-around intended
	x ^= x >> 31
	return int64(x) //nolint:gosec // any value is a seed
}

// codecFactory is a codec factory over the kubevirt.io types, which the meta
// fuzzer needs for embedded raw objects.
func codecFactory() runtimeserializer.CodecFactory {
	scheme := runtime.NewScheme()
	if err := kubevirt.AddToScheme(scheme); err != nil {
		panic(err)
	}
	if err := kubevirtv1.AddToScheme(scheme); err != nil {
		panic(err)
	}
	return runtimeserializer.NewCodecFactory(scheme)
}
