// Package virtualmachine is the registry of kubevirt.io VirtualMachines:
// the strategies of the generic store and the run-strategy transition table
// of the lifecycle actions. Package storage, below it, builds the stores and
// the REST storages from them.
//
// There are three strategies, one per way of writing a VM:
//   - Strategy, for the main resource: it owns spec and metadata, never status.
//   - StatusStrategy, for virtualmachines/status: it owns status only.
//   - ActionStrategy, for the lifecycle actions (start, stop, restart), which
//     change spec and status in one update.
package virtualmachine

import (
	"context"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage/names"
	v1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/scheme"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	kubevirtv1 "github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/v1"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/validation"
)

// RunningDeprecatedWarning is the warning returned when a create or update
// sets the deprecated spec.running.
const RunningDeprecatedWarning = "spec.running is deprecated; use spec.runStrategy"

// resetFields names the same field paths in every served version of
// kubevirt.io: the field manager looks the set up by the version of the
// request, and v1alpha3 has the schema of v1.
func resetFields(paths ...fieldpath.Path) map[fieldpath.APIVersion]*fieldpath.Set {
	out := make(map[fieldpath.APIVersion]*fieldpath.Set, len(kubevirtv1.Versions))
	for _, gv := range kubevirtv1.Versions {
		out[fieldpath.APIVersion(gv.String())] = fieldpath.NewSet(paths...)
	}
	return out
}

// virtualMachineStrategy is the strategy of the main virtualmachines resource.
type virtualMachineStrategy struct {
	runtime.ObjectTyper
	names.NameGenerator
}

// virtualMachineStatusStrategy is the strategy of virtualmachines/status,
// which the runtime writes. It changes status only.
type virtualMachineStatusStrategy struct {
	virtualMachineStrategy
}

// virtualMachineActionStrategy is the update strategy of the lifecycle
// actions. An action rewrites spec.runStrategy (or spec.running) and
// status.stateChangeRequests in one update, so it keeps both the new spec and
// the new status; neither of the other strategies would.
type virtualMachineActionStrategy struct {
	virtualMachineStrategy
}

var (
	// Strategy is the strategy of the main resource: create, update, delete.
	Strategy = virtualMachineStrategy{scheme.Scheme, names.SimpleNameGenerator}
	// StatusStrategy is the update strategy of virtualmachines/status.
	StatusStrategy = virtualMachineStatusStrategy{Strategy}
	// ActionStrategy is the update strategy of the lifecycle actions.
	ActionStrategy = virtualMachineActionStrategy{Strategy}
)

// The generic store needs these interfaces; state them at compile time.
var (
	_ rest.RESTCreateStrategy  = Strategy
	_ rest.RESTUpdateStrategy  = Strategy
	_ rest.RESTDeleteStrategy  = Strategy
	_ rest.ResetFieldsStrategy = Strategy
	_ rest.RESTUpdateStrategy  = StatusStrategy
	_ rest.ResetFieldsStrategy = StatusStrategy
	_ rest.RESTUpdateStrategy  = ActionStrategy
	_ rest.ResetFieldsStrategy = ActionStrategy
)

// NamespaceScoped is true: VirtualMachines live in namespaces.
func (virtualMachineStrategy) NamespaceScoped() bool {
	return true
}

// GetResetFields names the fields that the main resource never writes: status.
func (virtualMachineStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return resetFields(fieldpath.MakePathOrDie("status"))
}

// PrepareForCreate drops any status the client sent and sets generation 1.
func (virtualMachineStrategy) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	vm := obj.(*kubevirt.VirtualMachine)
	vm.Status = v1.VirtualMachineStatus{}
	vm.Generation = 1
}

// Validate validates a new VirtualMachine.
func (virtualMachineStrategy) Validate(ctx context.Context, obj runtime.Object) field.ErrorList {
	return validation.ValidateVirtualMachine(obj.(*kubevirt.VirtualMachine))
}

// WarningsOnCreate warns when the new VM uses the deprecated spec.running.
func (virtualMachineStrategy) WarningsOnCreate(ctx context.Context, obj runtime.Object) []string {
	return runningWarnings(obj.(*kubevirt.VirtualMachine))
}

// Canonicalize does nothing: a valid VM is already in canonical form.
func (virtualMachineStrategy) Canonicalize(obj runtime.Object) {}

// AllowCreateOnUpdate is false: a PUT of a missing VM is a 404, not a create.
func (virtualMachineStrategy) AllowCreateOnUpdate(ctx context.Context) bool {
	return false
}

// PrepareForUpdate keeps the stored status and bumps the generation only when
// the spec changed.
func (virtualMachineStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	newVM := obj.(*kubevirt.VirtualMachine)
	oldVM := old.(*kubevirt.VirtualMachine)
	newVM.Status = oldVM.Status
	updateGeneration(newVM, oldVM)
}

// ValidateUpdate validates the whole new spec and what an update may not
// change in it; rest.BeforeUpdate validates the metadata and its change
// before, for every strategy.
func (virtualMachineStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidateVirtualMachineUpdate(obj.(*kubevirt.VirtualMachine), old.(*kubevirt.VirtualMachine))
}

// WarningsOnUpdate warns when the updated VM uses the deprecated spec.running.
func (virtualMachineStrategy) WarningsOnUpdate(ctx context.Context, obj, old runtime.Object) []string {
	return runningWarnings(obj.(*kubevirt.VirtualMachine))
}

// AllowUnconditionalUpdate is true: an update without a resourceVersion
// overwrites, as for most Kubernetes resources.
func (virtualMachineStrategy) AllowUnconditionalUpdate(ctx context.Context) bool {
	return true
}

// GetResetFields names what a status update never writes: spec, labels and
// annotations.
func (virtualMachineStatusStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return resetFields(
		fieldpath.MakePathOrDie("spec"),
		fieldpath.MakePathOrDie("metadata", "labels"),
		fieldpath.MakePathOrDie("metadata", "annotations"),
	)
}

// PrepareForUpdate keeps the stored spec, labels, annotations and generation,
// so that only the status changes.
func (virtualMachineStatusStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	newVM := obj.(*kubevirt.VirtualMachine)
	oldVM := old.(*kubevirt.VirtualMachine)
	newVM.Spec = oldVM.Spec
	newVM.Labels = oldVM.Labels
	newVM.Annotations = oldVM.Annotations
	newVM.Generation = oldVM.Generation
}

// ValidateUpdate validates the new status.
func (virtualMachineStatusStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidateVirtualMachineStatusUpdate(obj.(*kubevirt.VirtualMachine), old.(*kubevirt.VirtualMachine))
}

// WarningsOnUpdate returns nothing: the runtime cannot act on spec warnings.
func (virtualMachineStatusStrategy) WarningsOnUpdate(ctx context.Context, obj, old runtime.Object) []string {
	return nil
}

// GetResetFields names what an action never writes: labels and annotations.
func (virtualMachineActionStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return resetFields(
		fieldpath.MakePathOrDie("metadata", "labels"),
		fieldpath.MakePathOrDie("metadata", "annotations"),
	)
}

// PrepareForUpdate keeps the new spec and status and the stored labels and
// annotations, and bumps the generation when the spec changed.
func (virtualMachineActionStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	newVM := obj.(*kubevirt.VirtualMachine)
	oldVM := old.(*kubevirt.VirtualMachine)
	newVM.Labels = oldVM.Labels
	newVM.Annotations = oldVM.Annotations
	updateGeneration(newVM, oldVM)
}

// ValidateUpdate validates the whole new spec and the new status: an
// action's result must pass both of the other strategies.
func (virtualMachineActionStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	newVM, oldVM := obj.(*kubevirt.VirtualMachine), old.(*kubevirt.VirtualMachine)
	allErrs := validation.ValidateVirtualMachineUpdate(newVM, oldVM)
	return append(allErrs, validation.ValidateVirtualMachineStatusUpdate(newVM, oldVM)...)
}

// WarningsOnUpdate returns nothing: an action on a legacy VM rewrites the
// spec.running it already had, which is no news to the caller.
func (virtualMachineActionStrategy) WarningsOnUpdate(ctx context.Context, obj, old runtime.Object) []string {
	return nil
}

// updateGeneration sets newVM's generation to oldVM's, plus one when the spec
// changed. Only the spec is the user's intent that a runtime must act on.
func updateGeneration(newVM, oldVM *kubevirt.VirtualMachine) {
	newVM.Generation = oldVM.Generation
	if !apiequality.Semantic.DeepEqual(newVM.Spec, oldVM.Spec) {
		newVM.Generation = oldVM.Generation + 1
	}
}

func runningWarnings(vm *kubevirt.VirtualMachine) []string {
	if vm.Spec.Running != nil {
		return []string{RunningDeprecatedWarning}
	}
	return nil
}
