package virtualmachine

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/validation"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources"
)

var fuzzActions = []Action{ActionStart, ActionStop, ActionRestart}

// FuzzDecide runs Decide on arbitrary VMs and options: it never panics and
// never changes its input, it fails only with a 400 or 409, and a valid VM
// stays valid.
func FuzzDecide(f *testing.F) {
	f.Add(uint8(0), true, "Running", uint8(0), uint8(0), false, false, int64(0), "vm1")
	f.Add(uint8(1), true, "Stopped", uint8(1), uint8(0), true, false, int64(0), "vm1")
	f.Add(uint8(2), false, "", uint8(2), uint8(1), false, true, int64(30), "vm1")
	f.Add(uint8(3), true, "Stopping", uint8(3), uint8(1), false, true, int64(0), "vm1")
	f.Add(uint8(4), true, "Running", uint8(4), uint8(2), false, true, int64(0), "vm1")
	f.Add(uint8(5), false, "Stopped", uint8(5), uint8(0), true, false, int64(-3), "vm1")
	f.Add(uint8(6), true, "Paused", uint8(6), uint8(2), false, true, int64(7), "Not_A_Name")
	f.Add(uint8(7), true, "Running", uint8(0), uint8(1), false, false, int64(0), "vm1")

	f.Fuzz(func(t *testing.T, strategy uint8, created bool, printable string, scr uint8, which uint8,
		paused, hasGrace bool, grace int64, name string) {
		vm := testVM(sManual, none, false)
		vm.Name = name
		vm.Spec.RunStrategy = nil
		n := len(kubevirt.SupportedRunStrategies)
		switch i := int(strategy) % (n + 4); i - n {
		case 0:
			vm.Spec.Running = ptr.To(true)
		case 1:
			vm.Spec.Running = ptr.To(false)
		case 2:
			vm.Spec.RunStrategy = ptr.To(virtv1.VirtualMachineRunStrategy(printable))
		case 3: // neither field: invalid, and refused.
		default:
			vm.Spec.RunStrategy = &kubevirt.SupportedRunStrategies[i]
		}
		vm.Status.Created = created
		vm.Status.PrintableStatus = virtv1.VirtualMachinePrintableStatus(printable)
		// Bits of scr pick the pending requests and whether they carry data.
		for i := 0; i < int(scr%4); i++ {
			req := virtv1.VirtualMachineStateChangeRequest{Action: virtv1.StartRequest}
			if scr&(1<<(i+2)) != 0 {
				req = virtv1.VirtualMachineStateChangeRequest{Action: virtv1.StopRequest, Data: map[string]string{"gracePeriodSeconds": "1"}}
			}
			vm.Status.StateChangeRequests = append(vm.Status.StateChangeRequests, req)
		}
		opts := &subresources.ActionOptions{Paused: paused}
		if hasGrace {
			opts.GracePeriodSeconds = ptr.To(grace)
		}
		before := vm.DeepCopy()
		valid := len(validation.ValidateVirtualMachine(vm)) == 0 && len(validation.ValidateVirtualMachineStatus(&vm.Status, nil)) == 0

		out, err := Decide(vm, fuzzActions[int(which)%len(fuzzActions)], opts)

		require.Equal(t, before, vm, "Decide must not change its input")
		if err != nil {
			assert.Nil(t, out)
			status, ok := err.(apierrors.APIStatus)
			require.True(t, ok, "errors are API status errors, got %T: %v", err, err)
			assert.Contains(t, []int32{http.StatusBadRequest, http.StatusConflict}, status.Status().Code, err.Error())
			return
		}
		require.NotNil(t, out)
		if valid {
			assert.Empty(t, validation.ValidateVirtualMachine(out), "the result of a valid VM is valid")
			assert.Empty(t, validation.ValidateVirtualMachineUpdate(out, vm))
			assert.Empty(t, validation.ValidateVirtualMachineStatus(&out.Status, nil))
		}
		// The legacy field choice is kept: a VM is never migrated.
		assert.Equal(t, vm.Spec.Running != nil, out.Spec.Running != nil)
		assert.Equal(t, vm.Spec.RunStrategy != nil, out.Spec.RunStrategy != nil)
		assert.Equal(t, vm.ObjectMeta, out.ObjectMeta)
	})
}
