package virtualmachine

import (
	"fmt"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// GetAttrs returns the labels and the selectable fields of a VirtualMachine,
// for list and watch selectors.
func GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	vm, ok := obj.(*kubevirt.VirtualMachine)
	if !ok {
		return nil, nil, fmt.Errorf("not a VirtualMachine: %T", obj)
	}
	return labels.Set(vm.Labels), SelectableFields(vm), nil
}

// SelectableFields returns the fields a field selector may use: metadata.name,
// metadata.namespace, spec.runStrategy (the field as written, empty for a
// legacy VM) and status.printableStatus. kubevirt.io/v1 accepts the same
// field labels.
func SelectableFields(vm *kubevirt.VirtualMachine) fields.Set {
	runStrategy := ""
	if vm.Spec.RunStrategy != nil {
		runStrategy = string(*vm.Spec.RunStrategy)
	}
	return generic.AddObjectMetaFieldsSet(fields.Set{
		"spec.runStrategy":       runStrategy,
		"status.printableStatus": string(vm.Status.PrintableStatus),
	}, &vm.ObjectMeta, true)
}

// MatchVirtualMachine returns the predicate that list and watch use to
// filter VirtualMachines by label and field selectors.
func MatchVirtualMachine(label labels.Selector, field fields.Selector) storage.SelectionPredicate {
	return storage.SelectionPredicate{
		Label:    label,
		Field:    field,
		GetAttrs: GetAttrs,
	}
}
