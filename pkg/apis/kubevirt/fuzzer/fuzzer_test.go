package fuzzer

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/apitesting/roundtrip"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/install"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/validation"
)

// objectsPerSeed is how many VMs each test draws from a seed.
const objectsPerSeed = 200

var seeds = []int64{1, 7, 42, 1234567}

// toInternal converts a kubevirt.io/v1 VM into the internal shell.
func toInternal(vm *virtv1.VirtualMachine) *kubevirt.VirtualMachine {
	return &kubevirt.VirtualMachine{ObjectMeta: vm.ObjectMeta, Spec: vm.Spec, Status: vm.Status}
}

func TestValidVirtualMachinesPassValidation(t *testing.T) {
	for _, seed := range seeds {
		for i := range objectsPerSeed {
			vm := ValidVirtualMachine(seed, i)
			errs := validation.ValidateVirtualMachine(toInternal(vm))
			require.Empty(t, errs, "seed %d object %d: %v", seed, i, errs)

			// The status is written through the status subresource of the
			// stored VM, which has a resource version by then.
			old := toInternal(vm)
			old.ResourceVersion = "1"
			updated := old.DeepCopy()
			updated.Status = *ValidVirtualMachineStatus(seed, i)
			errs = validation.ValidateVirtualMachineStatusUpdate(updated, old)
			require.Empty(t, errs, "seed %d status %d: %v", seed, i, errs)
		}
	}
}

// TestFuzzedVirtualMachinesPassValidation fills VMs through the
// apimachinery filler, as the round-trip tests do, with the metadata the
// meta fuzzer makes, and validates them as a create and as an update.
func TestFuzzedVirtualMachinesPassValidation(t *testing.T) {
	f := newFiller(99, 0)
	for i := range objectsPerSeed {
		vm := &kubevirt.VirtualMachine{}
		f.Fill(vm)
		require.Empty(t, validation.ValidateVirtualMachine(vm), "object %d", i)
		require.Empty(t, validation.ValidateVirtualMachineStatus(&vm.Status, nil), "object %d", i)
		old := vm.DeepCopy()
		vm.Generation = old.Generation + 1
		require.Empty(t, validation.ValidateVirtualMachineUpdate(vm, old), "object %d", i)
	}
}

func TestValidVirtualMachinesSurviveJSON(t *testing.T) {
	for _, seed := range seeds {
		for i := range objectsPerSeed {
			vm := ValidVirtualMachine(seed, i)
			vm.Status = *ValidVirtualMachineStatus(seed, i)
			data, err := json.Marshal(vm)
			require.NoError(t, err)
			decoded := &virtv1.VirtualMachine{}
			require.NoError(t, json.Unmarshal(data, decoded))
			if !apiequality.Semantic.DeepEqual(vm, decoded) {
				// Equal shows where they differ.
				require.Equal(t, vm, decoded, "seed %d object %d changed in JSON", seed, i)
			}

			// A second encoding is byte-identical, so a store never sees a
			// spurious change.
			again, err := json.Marshal(decoded)
			require.NoError(t, err)
			assert.JSONEq(t, string(data), string(again))
		}
	}
}

func TestValidVirtualMachineIsDeterministic(t *testing.T) {
	for i := range 20 {
		assert.Equal(t, ValidVirtualMachine(5, i), ValidVirtualMachine(5, i), "object %d", i)
		assert.Equal(t, ValidVirtualMachineStatus(5, i), ValidVirtualMachineStatus(5, i), "status %d", i)
	}
	assert.NotEqual(t, ValidVirtualMachine(5, 0), ValidVirtualMachine(6, 0))
	assert.NotEqual(t, ValidVirtualMachine(5, 0), ValidVirtualMachine(5, 1))
}

func TestValidVirtualMachineIsReadyToSend(t *testing.T) {
	vm := ValidVirtualMachine(3, 0)
	assert.Equal(t, "kubevirt.io/v1", vm.APIVersion)
	assert.Equal(t, "VirtualMachine", vm.Kind)
	assert.NotEmpty(t, vm.Name)
	assert.NotEmpty(t, vm.Namespace)
	assert.Empty(t, vm.UID)
	assert.Empty(t, vm.ResourceVersion)
	assert.True(t, vm.CreationTimestamp.IsZero())
	assert.Nil(t, vm.ManagedFields)
}

// TestRoundTrip runs apimachinery's round-trip test of the group with these
// functions: internal -> v1 -> JSON -> v1 -> internal, and v1 alone.
func TestRoundTrip(t *testing.T) {
	if *roundtrip.FuzzIters < objectsPerSeed {
		*roundtrip.FuzzIters = objectsPerSeed
	}
	scheme := runtime.NewScheme()
	install.Install(scheme)
	roundtrip.RoundTripTestForScheme(t, scheme, Funcs)
}
