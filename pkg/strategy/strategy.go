// Package strategy is the registry strategy of VirtualMachines: what the
// generic store does before it creates, updates or deletes one.
//
// There are three strategies, one per way of writing a VM:
//   - Strategy, for the main resource: it owns spec and metadata, never status.
//   - StatusStrategy, for virtualmachines/status: it owns status only.
//   - ActionStrategy, for the lifecycle actions (start, stop, restart), which
//     change spec and status in one update.
//
// The package-level values are ready to use. They name the kind of an object
// through a scheme of their own that holds the kubevirt.io types; a caller
// that wants its own scheme to do that uses NewStrategy instead.
package strategy

import (
	"context"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage/names"
	v1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/install"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/validation"
)

// RunningDeprecatedWarning is the warning returned when a create or update
// sets the deprecated spec.running.
const RunningDeprecatedWarning = "spec.running is deprecated; use spec.runStrategy"

// resetFieldsVersion is the version whose field paths GetResetFields names.
var resetFieldsVersion = fieldpath.APIVersion(v1.SchemeGroupVersion.String())

// VirtualMachineStrategy is the strategy of the main virtualmachines resource.
type VirtualMachineStrategy struct {
	runtime.ObjectTyper
	names.NameGenerator
}

// Strategies are the three strategies of VirtualMachines, built on one typer.
type Strategies struct {
	// Strategy is for create, update and delete of the main resource.
	Strategy VirtualMachineStrategy
	// StatusStrategy is for updates through virtualmachines/status.
	StatusStrategy VirtualMachineStatusStrategy
	// ActionStrategy is for the updates of the lifecycle actions.
	ActionStrategy VirtualMachineActionStrategy
}

// NewStrategy returns the strategies of VirtualMachines with typer naming
// the kinds of objects, for callers that want their own scheme to do that.
func NewStrategy(typer runtime.ObjectTyper) Strategies {
	s := VirtualMachineStrategy{ObjectTyper: typer, NameGenerator: names.SimpleNameGenerator}
	return Strategies{
		Strategy:       s,
		StatusStrategy: VirtualMachineStatusStrategy{s},
		ActionStrategy: VirtualMachineActionStrategy{s},
	}
}

// defaults are the package-level strategies. Their typer is a scheme with the
// kubevirt.io types only: a strategy is asked the kind of VMs and nothing
// else, and the server's scheme lives in pkg/apiserver, which imports this
// package through the registry.
var defaults = NewStrategy(newScheme())

func newScheme() *runtime.Scheme {
	scheme := runtime.NewScheme()
	install.Install(scheme)
	return scheme
}

var (
	// Strategy is the strategy of the main resource.
	Strategy = defaults.Strategy
	// StatusStrategy is the strategy of virtualmachines/status.
	StatusStrategy = defaults.StatusStrategy
	// ActionStrategy is the strategy of the lifecycle actions' updates.
	ActionStrategy = defaults.ActionStrategy
)

// The generic store needs these interfaces; state them at compile time.
var (
	_ rest.RESTCreateStrategy  = Strategy
	_ rest.RESTUpdateStrategy  = Strategy
	_ rest.RESTDeleteStrategy  = Strategy
	_ rest.ResetFieldsStrategy = Strategy
)

// NamespaceScoped is true: VirtualMachines live in namespaces.
func (VirtualMachineStrategy) NamespaceScoped() bool {
	return true
}

// GetResetFields names the fields that the main resource never writes: status.
func (VirtualMachineStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		resetFieldsVersion: fieldpath.NewSet(fieldpath.MakePathOrDie("status")),
	}
}

// PrepareForCreate drops any status the client sent and sets generation 1.
func (VirtualMachineStrategy) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	vm := obj.(*kubevirt.VirtualMachine)
	vm.Status = v1.VirtualMachineStatus{}
	vm.Generation = 1
}

// Validate validates a new VirtualMachine.
func (VirtualMachineStrategy) Validate(ctx context.Context, obj runtime.Object) field.ErrorList {
	return validation.ValidateVirtualMachine(obj.(*kubevirt.VirtualMachine))
}

// WarningsOnCreate warns when the new VM uses the deprecated spec.running.
func (VirtualMachineStrategy) WarningsOnCreate(ctx context.Context, obj runtime.Object) []string {
	return runningWarnings(obj.(*kubevirt.VirtualMachine))
}

// Canonicalize does nothing: a valid VM is already in canonical form.
func (VirtualMachineStrategy) Canonicalize(obj runtime.Object) {}

// AllowCreateOnUpdate is false: a PUT of a missing VM is a 404, not a create.
func (VirtualMachineStrategy) AllowCreateOnUpdate(ctx context.Context) bool {
	return false
}

// PrepareForUpdate keeps the stored status and bumps the generation only when
// the spec changed.
func (VirtualMachineStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	newVM := obj.(*kubevirt.VirtualMachine)
	oldVM := old.(*kubevirt.VirtualMachine)
	newVM.Status = oldVM.Status
	updateGeneration(newVM, oldVM)
}

// ValidateUpdate validates the metadata change and the whole new spec.
func (VirtualMachineStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidateVirtualMachineUpdate(obj.(*kubevirt.VirtualMachine), old.(*kubevirt.VirtualMachine))
}

// WarningsOnUpdate warns when the updated VM uses the deprecated spec.running.
func (VirtualMachineStrategy) WarningsOnUpdate(ctx context.Context, obj, old runtime.Object) []string {
	return runningWarnings(obj.(*kubevirt.VirtualMachine))
}

// AllowUnconditionalUpdate is true: an update without a resourceVersion
// overwrites, as for most Kubernetes resources.
func (VirtualMachineStrategy) AllowUnconditionalUpdate(ctx context.Context) bool {
	return true
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
