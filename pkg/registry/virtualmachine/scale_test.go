package virtualmachine

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
	virtv1 "kubevirt.io/api/core/v1"
)

// same is the outcome of a scale write whose replicas are the current
// ones: nothing is decided and nothing written.
var same = outcome{strategy: "unchanged"}

// scaleCase is one state of the VM: the replicas its Scale reads, and what
// a write of 0 and of 1 does to it.
type scaleCase struct {
	strategy     string
	inst         instance
	pending      bool // a Start request is pending
	spec, status int32
	want0, want1 outcome
}

// scaleCells lists every strategy row x instance x pending state.
var scaleCells = []scaleCase{
	// Always asks to run whatever its instance does; 0 is a stop, which
	// makes it Halted and drops what was pending.
	{sAlways, none, false, 1, 0, ok(sHalted), same},
	{sAlways, none, true, 1, 0, ok(sHalted), same},
	{sAlways, active, false, 1, 1, ok(sHalted), same},
	{sAlways, active, true, 1, 1, ok(sHalted), same},
	{sAlways, finished, false, 1, 0, ok(sHalted), same},
	{sAlways, finished, true, 1, 0, ok(sHalted), same},
	{sAlways, failed, false, 1, 0, ok(sHalted), same},
	{sAlways, failed, true, 1, 0, ok(sHalted), same},
	{sLegacyOn, none, false, 1, 0, ok(sLegacyOf), same},
	{sLegacyOn, none, true, 1, 0, ok(sLegacyOf), same},
	{sLegacyOn, active, false, 1, 1, ok(sLegacyOf), same},
	{sLegacyOn, active, true, 1, 1, ok(sLegacyOf), same},
	{sLegacyOn, finished, false, 1, 0, ok(sLegacyOf), same},
	{sLegacyOn, finished, true, 1, 0, ok(sLegacyOf), same},
	{sLegacyOn, failed, false, 1, 0, ok(sLegacyOf), same},
	{sLegacyOn, failed, true, 1, 0, ok(sLegacyOf), same},
	// Halted never asks to run, even while its instance shuts down; 1 is
	// a start, refused while that instance is still active.
	{sHalted, none, false, 0, 0, same, ok(sAlways)},
	{sHalted, none, true, 0, 0, same, keep(sAlways, true)},
	{sHalted, active, false, 0, 1, same, fail(msgAlreadyRunning)},
	{sHalted, active, true, 0, 1, same, fail(msgAlreadyRunning)},
	{sHalted, finished, false, 0, 0, same, ok(sAlways)},
	{sHalted, finished, true, 0, 0, same, keep(sAlways, true)},
	{sHalted, failed, false, 0, 0, same, ok(sAlways)},
	{sHalted, failed, true, 0, 0, same, keep(sAlways, true)},
	{sLegacyOf, none, false, 0, 0, same, ok(sLegacyOn)},
	{sLegacyOf, none, true, 0, 0, same, keep(sLegacyOn, true)},
	{sLegacyOf, active, false, 0, 1, same, fail(msgAlreadyRunning)},
	{sLegacyOf, active, true, 0, 1, same, fail(msgAlreadyRunning)},
	{sLegacyOf, finished, false, 0, 0, same, ok(sLegacyOn)},
	{sLegacyOf, finished, true, 0, 0, same, keep(sLegacyOn, true)},
	{sLegacyOf, failed, false, 0, 0, same, ok(sLegacyOn)},
	{sLegacyOf, failed, true, 0, 0, same, keep(sLegacyOn, true)},
	// Once asks to run until its instance finished, and takes no start.
	{sOnce, none, false, 1, 0, ok(sHalted), same},
	{sOnce, none, true, 1, 0, ok(sHalted), same},
	{sOnce, active, false, 1, 1, ok(sHalted), same},
	{sOnce, active, true, 1, 1, ok(sHalted), same},
	{sOnce, finished, false, 0, 0, same, fail(msgOnceNoStart)},
	{sOnce, finished, true, 0, 0, same, fail(msgOnceNoStart)},
	{sOnce, failed, false, 0, 0, same, fail(msgOnceNoStart)},
	{sOnce, failed, true, 0, 0, same, fail(msgOnceNoStart)},
	// WaitAsReceiver's instance is the migration's: it never asks to run,
	// and refuses a start.
	{sReceiver, none, false, 0, 0, same, fail(msgReceiverNoStart)},
	{sReceiver, none, true, 0, 0, same, fail(msgReceiverNoStart)},
	{sReceiver, active, false, 0, 1, same, fail(msgAlreadyRunning)},
	{sReceiver, active, true, 0, 1, same, fail(msgAlreadyRunning)},
	{sReceiver, finished, false, 0, 0, same, fail(msgReceiverNoStart)},
	{sReceiver, finished, true, 0, 0, same, fail(msgReceiverNoStart)},
	{sReceiver, failed, false, 0, 0, same, fail(msgReceiverNoStart)},
	{sReceiver, failed, true, 0, 0, same, fail(msgReceiverNoStart)},
	// Manual asks to run while it has an active instance, or a Start is
	// pending; a stop needs the active instance.
	{sManual, none, false, 0, 0, same, ok(sManual, reqStart)},
	{sManual, none, true, 1, 0, fail(msgNotRunning), same},
	{sManual, active, false, 1, 1, ok(sManual, reqStop), same},
	{sManual, active, true, 1, 1, ok(sManual, reqStop), same},
	{sManual, finished, false, 0, 0, same, ok(sManual, reqStop, reqStart)},
	{sManual, finished, true, 1, 0, fail(msgNotRunning), same},
	{sManual, failed, false, 0, 0, same, ok(sManual, reqStop, reqStart)},
	{sManual, failed, true, 1, 0, fail(msgNotRunning), same},
	// RerunOnFailure asks to run unless its instance finished without
	// failing (the runtime replaces only a failed one), or a Start is
	// pending.
	{sRerun, none, false, 1, 0, fail(msgNotRunning), same},
	{sRerun, none, true, 1, 0, fail(msgNotRunning), same},
	{sRerun, active, false, 1, 1, ok(sRerun, reqStop), same},
	{sRerun, active, true, 1, 1, ok(sRerun, reqStop), same},
	{sRerun, finished, false, 0, 0, same, ok(sRerun, reqStop, reqStart)},
	{sRerun, finished, true, 1, 0, fail(msgNotRunning), same},
	{sRerun, failed, false, 1, 0, fail(msgNotRunning), same},
	{sRerun, failed, true, 1, 0, fail(msgNotRunning), same},
}

func TestScaleTable(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range scaleCells {
		seen[fmt.Sprint(c.strategy, c.inst, c.pending)] = true
	}
	require.Len(t, seen, 8*4*2, "every state has a case")

	for _, c := range scaleCells {
		for _, desired := range []int32{0, 1} {
			want := c.want0
			if desired == 1 {
				want = c.want1
			}
			name := fmt.Sprintf("%s/%s/pending=%t/replicas=%d", c.strategy, c.inst, c.pending, desired)
			t.Run(name, func(t *testing.T) {
				in := testVM(c.strategy, c.inst, c.pending)
				before := in.DeepCopy()
				assert.Equal(t, c.spec, SpecReplicas(in), "spec.replicas")
				assert.Equal(t, c.status, StatusReplicas(in), "status.replicas")

				got, action, err := DecideScale(in, desired)

				assert.Equal(t, before, in, "DecideScale must not change its input")
				switch {
				case want.conflict != "":
					require.Error(t, err)
					assert.Nil(t, got)
					assert.Empty(t, action)
					status, isStatus := err.(apierrors.APIStatus)
					require.True(t, isStatus, "a typed API error")
					assert.Equal(t, int32(http.StatusConflict), status.Status().Code)
					// The very 409 that the action answers.
					wantAction := ActionStop
					if desired == 1 {
						wantAction = ActionStart
					}
					_, actionErr := Decide(before, wantAction, nil)
					assert.Equal(t, actionErr, err)
					assert.Equal(t, conflictMessage(want.conflict), status.Status().Message)
				case want.strategy == same.strategy:
					require.NoError(t, err)
					assert.Nil(t, got, "nothing to write")
					assert.Empty(t, action)
				default:
					require.NoError(t, err)
					assert.Equal(t, wantVM(before, want), got)
					assert.Equal(t, desired, SpecReplicas(got), "the written VM reads the replicas asked for")
					if desired == 1 {
						assert.Equal(t, ActionStart, action)
					} else {
						assert.Equal(t, ActionStop, action)
					}
				}
			})
		}
	}
}

// TestSpecReplicasLastRequestDecides: of the requests pending on a Manual
// or RerunOnFailure VM, the last says whether it is asked to run, so that
// a restart (Stop, Start) counts as running and a lone Stop as stopping.
func TestSpecReplicasLastRequestDecides(t *testing.T) {
	for _, tt := range []struct {
		strategy string
		inst     instance
		scr      []virtv1.VirtualMachineStateChangeRequest
		want     int32
	}{
		{sManual, active, []virtv1.VirtualMachineStateChangeRequest{reqStop}, 0},
		{sManual, active, []virtv1.VirtualMachineStateChangeRequest{reqStop, reqStart}, 1},
		{sManual, finished, []virtv1.VirtualMachineStateChangeRequest{reqStop, reqStart}, 1},
		{sManual, none, []virtv1.VirtualMachineStateChangeRequest{reqStartPaused}, 1},
		{sRerun, active, []virtv1.VirtualMachineStateChangeRequest{reqStopGrace(30)}, 0},
		{sRerun, finished, []virtv1.VirtualMachineStateChangeRequest{reqStop, reqStart}, 1},
		// The other strategies do not read the requests.
		{sAlways, active, []virtv1.VirtualMachineStateChangeRequest{reqStop}, 1},
		{sHalted, none, []virtv1.VirtualMachineStateChangeRequest{reqStart}, 0},
	} {
		t.Run(fmt.Sprintf("%s/%s/%v", tt.strategy, tt.inst, tt.scr), func(t *testing.T) {
			vm := testVM(tt.strategy, tt.inst, false)
			vm.Status.StateChangeRequests = tt.scr
			assert.Equal(t, tt.want, SpecReplicas(vm))
		})
	}
}

func TestSpecReplicasWithoutRunStrategy(t *testing.T) {
	vm := testVM(sHalted, active, false)
	vm.Spec.RunStrategy = nil
	assert.Equal(t, int32(0), SpecReplicas(vm))
	assert.Equal(t, int32(1), StatusReplicas(vm))
}

func TestValidateScaleReplicas(t *testing.T) {
	for _, tt := range []struct {
		replicas int32
		valid    bool
	}{
		{0, true}, {1, true}, {2, false}, {-1, false}, {100, false}, {-2147483648, false}, {2147483647, false},
	} {
		t.Run(fmt.Sprint(tt.replicas), func(t *testing.T) {
			errs := ValidateScaleReplicas(tt.replicas)
			if tt.valid {
				assert.Empty(t, errs)
				return
			}
			require.Len(t, errs, 1)
			assert.Equal(t, field.ErrorTypeInvalid, errs[0].Type)
			assert.Equal(t, "spec.replicas", errs[0].Field)
			assert.Equal(t, tt.replicas, errs[0].BadValue)

			// DecideScale refuses them too, as a client error.
			got, action, err := DecideScale(testVM(sHalted, none, false), tt.replicas)
			assert.Nil(t, got)
			assert.Empty(t, action)
			assert.True(t, apierrors.IsBadRequest(err), "a 400, got %v", err)
		})
	}
}

// TestLauncherSelector: the selector matches the labels KubeVirt puts on
// the VM's virt-launcher pods, and not the pods of another VM, nor KubeVirt's
// other pods of the same VM.
func TestLauncherSelector(t *testing.T) {
	long := strings.Repeat("a", 60) + "-long-virtual-machine-name"
	for _, tt := range []struct {
		name     string
		selector string
	}{
		{"vm1", "kubevirt.io=virt-launcher,vmi.kubevirt.io/id=vm1"},
		{strings.Repeat("b", 63), "kubevirt.io=virt-launcher,vmi.kubevirt.io/id=" + strings.Repeat("b", 63)},
		// Values of KubeVirt's own computation for longer names.
		{strings.Repeat("b", 64), "kubevirt.io=virt-launcher,vmi.kubevirt.io/id=" + strings.Repeat("b", 54) + "-9d682ff9"},
		{long, "kubevirt.io=virt-launcher,vmi.kubevirt.io/id=" + strings.Repeat("a", 54) + "-ee1cc02a"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			selector := LauncherSelector(tt.name)
			assert.Equal(t, tt.selector, selector.String())
			id := InstanceID(tt.name)
			assert.LessOrEqual(t, len(id), 63, "a label value")

			launcher := labels.Set{
				"kubevirt.io": "virt-launcher", "vmi.kubevirt.io/id": id,
				"kubevirt.io/created-by": "some-uid", "vm.kubevirt.io/name": "guest",
			}
			assert.True(t, selector.Matches(launcher), "the VM's launcher pod")
			other := labels.Set{"kubevirt.io": "virt-launcher", "vmi.kubevirt.io/id": InstanceID(tt.name + "x")}
			assert.False(t, selector.Matches(other), "another VM's launcher pod")
			hotplug := labels.Set{"kubevirt.io": "hotplug-disk", "vmi.kubevirt.io/id": id}
			assert.False(t, selector.Matches(hotplug), "another pod of the same VM")
		})
	}
}
