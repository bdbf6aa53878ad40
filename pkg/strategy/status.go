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

// VirtualMachineStatusStrategy is the strategy of virtualmachines/status,
// which the runtime writes. It changes status only.
type VirtualMachineStatusStrategy struct {
	VirtualMachineStrategy
}

var (
	_ rest.RESTUpdateStrategy  = StatusStrategy
	_ rest.ResetFieldsStrategy = StatusStrategy
)

// GetResetFields names what a status update never writes: spec, labels and
// annotations.
func (VirtualMachineStatusStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		resetFieldsVersion: fieldpath.NewSet(
			fieldpath.MakePathOrDie("spec"),
			fieldpath.MakePathOrDie("metadata", "labels"),
			fieldpath.MakePathOrDie("metadata", "annotations"),
		),
	}
}

// PrepareForUpdate keeps the stored spec, labels, annotations and generation,
// so that only the status changes.
func (VirtualMachineStatusStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	newVM := obj.(*kubevirt.VirtualMachine)
	oldVM := old.(*kubevirt.VirtualMachine)
	newVM.Spec = oldVM.Spec
	newVM.Labels = oldVM.Labels
	newVM.Annotations = oldVM.Annotations
	newVM.Generation = oldVM.Generation
}

// ValidateUpdate validates the metadata change and the new status.
func (VirtualMachineStatusStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidateVirtualMachineStatusUpdate(obj.(*kubevirt.VirtualMachine), old.(*kubevirt.VirtualMachine))
}

// WarningsOnUpdate returns nothing: the runtime cannot act on spec warnings.
func (VirtualMachineStatusStrategy) WarningsOnUpdate(ctx context.Context, obj, old runtime.Object) []string {
	return nil
}
