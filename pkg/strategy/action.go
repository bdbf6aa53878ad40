package strategy

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/rest"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/validation"
)

// VirtualMachineActionStrategy is the update strategy of the lifecycle
// actions. An action rewrites spec.runStrategy (or spec.running) and
// status.stateChangeRequests in one update, so it keeps both the new spec and
// the new status; neither of the other strategies would.
type VirtualMachineActionStrategy struct {
	VirtualMachineStrategy
}

var (
	_ rest.RESTUpdateStrategy  = ActionStrategy
	_ rest.ResetFieldsStrategy = ActionStrategy
)

// GetResetFields names what an action never writes: labels and annotations.
func (VirtualMachineActionStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		resetFieldsVersion: fieldpath.NewSet(
			fieldpath.MakePathOrDie("metadata", "labels"),
			fieldpath.MakePathOrDie("metadata", "annotations"),
		),
	}
}

// PrepareForUpdate keeps the new spec and status and the stored labels and
// annotations, and bumps the generation when the spec changed.
func (VirtualMachineActionStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	newVM := obj.(*kubevirt.VirtualMachine)
	oldVM := old.(*kubevirt.VirtualMachine)
	newVM.Labels = oldVM.Labels
	newVM.Annotations = oldVM.Annotations
	updateGeneration(newVM, oldVM)
}

// ValidateUpdate validates the metadata change, the whole new spec and the
// new status: an action's result must pass both of the other strategies.
func (VirtualMachineActionStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	newVM := obj.(*kubevirt.VirtualMachine)
	allErrs := validation.ValidateVirtualMachineUpdate(newVM, old.(*kubevirt.VirtualMachine))
	return append(allErrs, validation.ValidateVirtualMachineStatus(&newVM.Status, field.NewPath("status"))...)
}

// WarningsOnUpdate returns nothing: an action on a legacy VM rewrites the
// spec.running it already had, which is no news to the caller.
func (VirtualMachineActionStrategy) WarningsOnUpdate(ctx context.Context, obj, old runtime.Object) []string {
	return nil
}
