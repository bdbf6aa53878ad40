package storage

import (
	"context"
	"fmt"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	scalescheme "k8s.io/client-go/scale/scheme"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"
)

// scaleResource names virtualmachines/scale in the errors of a scale write
// that are about the Scale rather than the VM.
var scaleResource = kubevirt.Resource("virtualmachines/scale")

// ScaleREST serves virtualmachines/scale: an autoscaling/v1 Scale of at most
// one replica (virtualmachine.SpecReplicas). A write of spec.replicas is a
// start or a stop (virtualmachine.DecideScale) written in the same single
// optimistic update of the VM as an action: the Scale that the handler's
// mutating admission produced, the decision, the field tracking and the
// validating admission of the Scale all see the VM that is written, and run
// again on the fresh VM when the write loses a race.
//
// The generic handlers admit the write as an UPDATE of kubevirt.io
// virtualmachines/scale with Scale objects, as kube-apiserver does for
// deployments/scale.
type ScaleREST struct {
	store  *genericregistry.Store // the VM store with the action strategy
	fields fieldTracker
}

// ScaleWrite is what one write of a scale did, for the server's metrics and
// Events.
type ScaleWrite struct {
	// Action is the start or the stop that the new replicas asked for, or
	// "" when they equal the current ones and nothing was written.
	Action virtualmachine.Action
	// VM is the VM as stored (under dry-run, as it would be); nil when the
	// write failed.
	VM *kubevirt.VirtualMachine
	// Denied reports that an admission plugin refused the write: the
	// validating plugins, or a mutating one that answered 403 Forbidden.
	Denied bool
}

var (
	_ rest.Patcher                  = &ScaleREST{}
	_ rest.GroupVersionKindProvider = &ScaleREST{}
	_ rest.TableConvertor           = &ScaleREST{}
)

// New returns an empty Scale, in the internal version the handlers decode to.
func (r *ScaleREST) New() runtime.Object { return &scalescheme.Scale{} }

// Destroy does nothing: the store is shared with the main resource, which
// owns its shutdown.
func (r *ScaleREST) Destroy() {}

// GroupVersionKind is autoscaling/v1 Scale in every version of kubevirt.io,
// as for the scale of deployments and of custom resources.
func (r *ScaleREST) GroupVersionKind(schema.GroupVersion) schema.GroupVersionKind {
	return autoscalingv1.SchemeGroupVersion.WithKind("Scale")
}

// ConvertToTable prints the Scale in the default columns.
func (r *ScaleREST) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return rest.NewDefaultTableConvertor(scaleResource).ConvertToTable(ctx, object, tableOptions)
}

// Get returns the Scale of the VM name.
func (r *ScaleREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	obj, err := r.store.Get(ctx, name, options)
	if err != nil {
		return nil, err
	}
	vm, ok := obj.(*kubevirt.VirtualMachine)
	if !ok {
		return nil, apierrors.NewInternalError(fmt.Errorf("the store returned %T, not a VirtualMachine", obj))
	}
	return scaleFromVM(vm), nil
}

// Update writes the Scale objInfo makes, under the field manager the
// options name (or "unknown"); the server's own storage calls UpdateScale
// with the manager named after the client, as for the other writes.
func (r *ScaleREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, _ bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	manager := options.FieldManager
	if manager == "" {
		manager = "unknown"
	}
	obj, _, err := r.UpdateScale(ctx, name, objInfo, createValidation, updateValidation, options, manager)
	return obj, false, err
}

// UpdateScale writes the Scale objInfo makes from the current one: nothing
// when its replicas are the current ones, else the start or the stop they
// ask for, with manager owning what that changes. It returns the Scale as
// stored and what the write did. A Scale is never created: a missing VM is
// a 404.
func (r *ScaleREST) UpdateScale(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, options *metav1.UpdateOptions, manager string) (runtime.Object, ScaleWrite, error) {
	var write ScaleWrite
	info := &scaleUpdatedObjectInfo{request: objInfo, fields: r.fields, manager: manager, write: &write}
	validate := func(ctx context.Context, obj, old runtime.Object) error {
		if updateValidation == nil {
			return nil
		}
		newVM, okNew := obj.(*kubevirt.VirtualMachine)
		oldVM, okOld := old.(*kubevirt.VirtualMachine)
		if !okNew || !okOld {
			return apierrors.NewInternalError(fmt.Errorf("the store validates %T over %T, not VirtualMachines", obj, old))
		}
		err := updateValidation(ctx, scaleFromVM(newVM), scaleFromVM(oldVM))
		write.Denied = write.Denied || err != nil
		return err
	}
	create := func(ctx context.Context, obj runtime.Object) error {
		// The store never creates here (forceAllowCreate is false), but
		// a validation it is given must still see a Scale.
		vm, ok := obj.(*kubevirt.VirtualMachine)
		if createValidation == nil || !ok {
			return nil
		}
		return createValidation(ctx, scaleFromVM(vm))
	}
	obj, _, err := r.store.Update(ctx, name, info, create, validate, false, options)
	if err != nil {
		return nil, write, err
	}
	vm, ok := obj.(*kubevirt.VirtualMachine)
	if !ok {
		return nil, write, apierrors.NewInternalError(fmt.Errorf("the store returned %T, not a VirtualMachine", obj))
	}
	write.VM = vm
	return scaleFromVM(vm), write, nil
}

// scaleFromVM is the Scale of vm. Its metadata is the VM's identity and
// resourceVersion only, so that a client can write it back as a precondition.
func scaleFromVM(vm *kubevirt.VirtualMachine) *scalescheme.Scale {
	selector, _ := metav1.ParseToLabelSelector(virtualmachine.LauncherSelector(vm.Name).String())
	return &scalescheme.Scale{
		ObjectMeta: metav1.ObjectMeta{
			Name:              vm.Name,
			Namespace:         vm.Namespace,
			UID:               vm.UID,
			ResourceVersion:   vm.ResourceVersion,
			CreationTimestamp: vm.CreationTimestamp,
		},
		Spec: scalescheme.ScaleSpec{Replicas: virtualmachine.SpecReplicas(vm)},
		Status: scalescheme.ScaleStatus{
			Replicas: virtualmachine.StatusReplicas(vm),
			Selector: selector,
		},
	}
}

// scaleUpdatedObjectInfo turns the VM the store read into the VM to write:
// VM to current Scale, current Scale to requested Scale (the handler's
// objInfo: the body or the patch, and the mutating admission), requested
// Scale to the decided VM.
type scaleUpdatedObjectInfo struct {
	request rest.UpdatedObjectInfo
	fields  fieldTracker
	manager string
	// write is where the decided action and an admission's refusal are
	// reported; the last call, the one whose result is written, decides.
	write *ScaleWrite
}

// Preconditions are those of the request.
func (i *scaleUpdatedObjectInfo) Preconditions() *metav1.Preconditions {
	return i.request.Preconditions()
}

// UpdatedObject is the VM to write in place of old.
func (i *scaleUpdatedObjectInfo) UpdatedObject(ctx context.Context, old runtime.Object) (runtime.Object, error) {
	vm, ok := old.(*kubevirt.VirtualMachine)
	if !ok {
		return nil, apierrors.NewInternalError(fmt.Errorf("the store returned %T, not a VirtualMachine", old))
	}
	i.write.Action = ""
	obj, err := i.request.UpdatedObject(ctx, scaleFromVM(vm))
	if err != nil {
		// The request's objInfo applies the body or the patch, then the
		// mutating admission; only the latter refuses with a 403.
		i.write.Denied = apierrors.IsForbidden(err)
		return nil, err
	}
	scale, ok := obj.(*scalescheme.Scale)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("expected a Scale, got %T", obj))
	}
	if errs := virtualmachine.ValidateScaleReplicas(scale.Spec.Replicas); len(errs) > 0 {
		return nil, apierrors.NewInvalid(scalescheme.Kind("Scale"), vm.Name, errs)
	}
	if scale.UID != "" && scale.UID != vm.UID {
		return nil, apierrors.NewConflict(scaleResource, vm.Name,
			fmt.Errorf("precondition failed: UID in precondition: %v, UID in object meta: %v", scale.UID, vm.UID))
	}
	// A Scale that names a resourceVersion is a precondition: the store
	// refuses the write with a 409 unless the VM it read has that version.
	// Checked first, so that a stale Scale is a conflict whatever the
	// transition table would say of the VM as it is now.
	if scale.ResourceVersion != "" && scale.ResourceVersion != vm.ResourceVersion {
		return nil, apierrors.NewConflict(kubevirt.Resource("virtualmachines"), vm.Name, fmt.Errorf(genericregistry.OptimisticLockErrorMsg))
	}
	out, action, err := virtualmachine.DecideScale(vm, scale.Spec.Replicas)
	if err != nil {
		return nil, err
	}
	if out == nil {
		// The same replicas: the VM is written back unchanged, which the
		// store recognizes and does not write.
		return vm.DeepCopy(), nil
	}
	tracked, ok := i.fields.UpdateNoErrors(vm, out, i.manager).(*kubevirt.VirtualMachine)
	if !ok {
		return nil, apierrors.NewInternalError(fmt.Errorf("the field manager did not return a VirtualMachine"))
	}
	i.write.Action = action
	return tracked, nil
}
