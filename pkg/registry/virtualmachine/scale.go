package virtualmachine

import (
	"crypto/sha1"
	"encoding/hex"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	virtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources"
)

// The scale subresource presents a VM as a workload of at most one replica:
// spec.replicas says whether the VM is asked to run, status.replicas whether
// it has an active instance. Writing spec.replicas is a start (1) or a stop
// (0), decided by the transition table like the actions.

// launcherAppValue is the value of KubeVirt's kubevirt.io label on the
// virt-launcher pod that runs a VM's instance.
const launcherAppValue = "virt-launcher"

// instanceIDHashLength is how many hex digits of the name's SHA-1 end an
// instance ID that had to be shortened.
const instanceIDHashLength = 8

// SpecReplicas is the scale's spec.replicas of vm: 1 when the VM is asked to
// run, 0 otherwise.
//
// Always (and spec.running true) asks to run, whatever its instance does.
// Once asks to run until its instance has finished. Halted (and spec.running
// false), WaitAsReceiver, and a VM without a run strategy do not ask to run.
// Manual and RerunOnFailure run what the user asks: a pending state change
// request says what that is (the last one decides, so the Stop and Start of
// a restart count as running); without one, Manual asks to run while it has
// an active instance, and RerunOnFailure unless its instance finished
// without failing (its runtime restarts only failed instances).
func SpecReplicas(vm *kubevirt.VirtualMachine) int32 {
	strategy, _ := kubevirt.EffectiveRunStrategy(&vm.Spec)
	switch strategy {
	case virtv1.RunStrategyAlways:
		return 1
	case virtv1.RunStrategyOnce:
		return replicasOf(!kubevirt.InstanceFinished(&vm.Status))
	case virtv1.RunStrategyManual, virtv1.RunStrategyRerunOnFailure:
		if reqs := vm.Status.StateChangeRequests; len(reqs) > 0 {
			return replicasOf(reqs[len(reqs)-1].Action == virtv1.StartRequest)
		}
		if strategy == virtv1.RunStrategyManual {
			return replicasOf(kubevirt.InstanceActive(&vm.Status))
		}
		succeeded := kubevirt.InstanceFinished(&vm.Status) && !kubevirt.InstanceFailed(&vm.Status)
		return replicasOf(!succeeded)
	}
	return 0
}

// StatusReplicas is the scale's status.replicas of vm: 1 while the runtime
// reports an active instance (docs/runtime.md), 0 otherwise.
func StatusReplicas(vm *kubevirt.VirtualMachine) int32 {
	return replicasOf(kubevirt.InstanceActive(&vm.Status))
}

func replicasOf(running bool) int32 {
	if running {
		return 1
	}
	return 0
}

// LauncherSelector is the scale's status.selector of the VM name: the labels
// KubeVirt puts on the virt-launcher pods of that VM's instance (during a
// migration, the source's and the target's), and on no other pod. The
// kubevirt.io label tells launcher pods from the other pods KubeVirt makes
// for a VM; vmi.kubevirt.io/id names the instance, whose name is the VM's.
// The older vm.kubevirt.io/name label holds the guest's hostname, which
// spec.template.spec.hostname can change, and kubevirt.io/created-by the
// instance's UID, which changes at every start: neither would do.
func LauncherSelector(name string) labels.Selector {
	return labels.SelectorFromSet(labels.Set{
		virtv1.AppLabel:                      launcherAppValue,
		virtv1.VirtualMachineInstanceIDLabel: InstanceID(name),
	})
}

// InstanceID is the value of the vmi.kubevirt.io/id label of the instance
// name, as KubeVirt computes it: a label value holds at most 63 characters,
// so a longer name is cut to 54 and followed by a dash and the first eight
// hex digits of the SHA-1 of the whole name, which keeps long names that
// share a prefix apart.
func InstanceID(name string) string {
	if len(name) <= validation.DNS1035LabelMaxLength {
		return name
	}
	// SHA-1 because KubeVirt's label value is defined with it; nothing here is secret.
	sum := sha1.Sum([]byte(name))
	prefix := name[:validation.DNS1035LabelMaxLength-instanceIDHashLength-1]
	return prefix + "-" + hex.EncodeToString(sum[:])[:instanceIDHashLength]
}

// ValidateScaleReplicas checks the replicas a scale write asks for: a VM runs
// one instance or none.
func ValidateScaleReplicas(replicas int32) field.ErrorList {
	if replicas == 0 || replicas == 1 {
		return nil
	}
	return field.ErrorList{field.Invalid(field.NewPath("spec", "replicas"), replicas,
		"a VirtualMachine runs one instance or none: must be 0 or 1")}
}

// DecideScale applies a write of spec.replicas to vm. When replicas equal
// SpecReplicas, nothing changes: it returns nil and no action. Otherwise 1 is
// a start and 0 a stop, decided by Decide with no options, so that a refusal
// is the same 409 the action answers; it returns the VM to store and the
// action. Replicas other than 0 and 1 are for ValidateScaleReplicas to
// refuse first; here they are a 400.
func DecideScale(vm *kubevirt.VirtualMachine, replicas int32) (*kubevirt.VirtualMachine, Action, error) {
	var action Action
	switch replicas {
	case SpecReplicas(vm):
		return nil, "", nil
	case 1:
		action = ActionStart
	case 0:
		action = ActionStop
	default:
		return nil, "", apierrors.NewBadRequest(ValidateScaleReplicas(replicas).ToAggregate().Error())
	}
	out, err := Decide(vm, action, &subresources.ActionOptions{})
	if err != nil {
		return nil, "", err
	}
	return out, action, nil
}
