package storage

import (
	"context"
	"fmt"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/scheme"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources"
	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"
)

// vmKind is the kind an action's write is admitted and tracked as.
var vmKind = kubevirtv1.SchemeGroupVersion.WithKind("VirtualMachine")

// vmResource is the resource an action's write is admitted on: the action
// is its subresource, so that a policy can name virtualmachines/stop alone.
var vmResource = kubevirtv1.SchemeGroupVersion.WithResource("virtualmachines")

// objectInterfaces give admission plugins the scheme's conversions,
// defaults and versions.
var objectInterfaces = admission.NewObjectInterfacesFromScheme(scheme.Scheme)

// ActionStorage performs the lifecycle actions on the VM store: it applies
// the transition table (virtualmachine.Decide) to the VM and writes the
// result in one optimistic update, admitted as an UPDATE of kubevirt.io
// virtualmachines/{action}. The volume actions (virtualmachine.DecideVolume)
// write the same way. It knows nothing of HTTP: the server's action
// handler decodes the options and writes the answer.
type ActionStorage struct {
	store  rest.Updater        // the VM store with the action strategy
	admit  admission.Interface // nil: no admission plugins
	fields fieldTracker
	// hotplug is how volume requests are recorded; empty is declarative.
	hotplug virtualmachine.HotplugMode
}

// Act applies action with opts to the VM name in the namespace of ctx, as
// the user of ctx, and returns the VM as stored (or, under dry-run, as it
// would be). manager names the field manager that owns what the action
// changes. denied reports that an admission plugin refused the write; err
// is then its refusal.
func (r *ActionStorage) Act(ctx context.Context, name string, action virtualmachine.Action, opts *subresources.ActionOptions, manager string) (_ runtime.Object, denied bool, _ error) {
	return r.write(ctx, name, action, opts.DryRun, manager, func(vm *kubevirt.VirtualMachine) (*kubevirt.VirtualMachine, error) {
		return virtualmachine.Decide(vm, action, opts)
	})
}

// ActVolume records the volume request req (addvolume or removevolume, by
// which of its options is set) on the VM name in the namespace of ctx, in the
// storage's hotplug mode, as the user of ctx. dryRun is the request's dryRun
// values, ["All"] or none. It answers as Act does.
func (r *ActionStorage) ActVolume(ctx context.Context, name string, req *kubevirtv1.VirtualMachineVolumeRequest, dryRun []string, manager string) (_ runtime.Object, denied bool, _ error) {
	action := virtualmachine.ActionAddVolume
	if req.AddVolumeOptions == nil {
		action = virtualmachine.ActionRemoveVolume
	}
	mode := r.hotplug
	if mode == "" {
		mode = virtualmachine.HotplugDeclarative
	}
	return r.write(ctx, name, action, dryRun, manager, func(vm *kubevirt.VirtualMachine) (*kubevirt.VirtualMachine, error) {
		return virtualmachine.DecideVolume(vm, req, mode)
	})
}

// SetHotplugMode sets how volume requests are recorded, before the server
// serves: the server's --hotplug-volume-requests chooses requests.
func (r *ActionStorage) SetHotplugMode(mode virtualmachine.HotplugMode) { r.hotplug = mode }

// HotplugMode is how the storage records volume requests.
func (r *ActionStorage) HotplugMode() virtualmachine.HotplugMode {
	if r.hotplug == "" {
		return virtualmachine.HotplugDeclarative
	}
	return r.hotplug
}

// write is the one optimistic update of an action: decide computes the VM
// to store from the VM as read, and is called again on the fresh VM when the
// write loses a race. The write is admitted as an UPDATE of kubevirt.io
// virtualmachines/{action}.
func (r *ActionStorage) write(ctx context.Context, name string, action virtualmachine.Action, dryRunValues []string, manager string, decide func(*kubevirt.VirtualMachine) (*kubevirt.VirtualMachine, error)) (_ runtime.Object, denied bool, _ error) {
	dryRun := len(dryRunValues) > 0
	options := &metav1.UpdateOptions{DryRun: dryRunValues}
	namespace, _ := request.NamespaceFrom(ctx)
	userInfo, _ := request.UserFrom(ctx)
	admit := admission.WithAudit(r.admit)
	attributes := func(obj, old runtime.Object) admission.Attributes {
		return admission.NewAttributesRecord(obj, old, vmKind, namespace, name, vmResource, string(action),
			admission.Update, options, dryRun, userInfo)
	}
	// The store calls transform with the object it just read and, when the
	// write loses a race (or the read came from a stale cache), again with the
	// fresh object: the decision, the field tracking and the mutating
	// admission always see the state that is written.
	transform := func(ctx context.Context, _, old runtime.Object) (runtime.Object, error) {
		vm, ok := old.(*kubevirt.VirtualMachine)
		if !ok {
			return nil, apierrors.NewInternalError(fmt.Errorf("the store returned %T, not a VirtualMachine", old))
		}
		out, err := decide(vm)
		if err != nil {
			return nil, err
		}
		result := r.fields.UpdateNoErrors(vm, out, manager)
		tracked, ok := result.(*kubevirt.VirtualMachine)
		if !ok {
			return nil, apierrors.NewInternalError(fmt.Errorf("the field manager returned %T, not a VirtualMachine", result))
		}
		mutated, err := mutate(ctx, admit, attributes(tracked, vm), objectInterfaces, tracked, action)
		denied = denied || err != nil
		return mutated, err
	}
	// The store hands each validation a deep copy of the new and the old
	// VM; without a validating plugin for updates there is nothing to hand
	// them to, and no validation is passed.
	var validateCreate rest.ValidateObjectFunc
	var validateUpdate rest.ValidateObjectUpdateFunc
	if validatesUpdates(admit) {
		validateCreate = rest.AdmissionToValidateObjectFunc(admit, attributes(nil, nil), objectInterfaces)
		validate := rest.AdmissionToValidateObjectUpdateFunc(admit, attributes(nil, nil), objectInterfaces)
		validateUpdate = func(ctx context.Context, obj, old runtime.Object) error {
			err := validate(ctx, obj, old)
			denied = denied || err != nil
			return err
		}
	}
	obj, _, err := r.store.Update(asVirtualMachineRequest(ctx), name, rest.DefaultUpdatedObjectInfo(nil, transform),
		validateCreate, validateUpdate, false, options)
	if err != nil {
		return nil, denied, err
	}
	return obj, false, nil
}

// validatesUpdates reports whether admit has a validating plugin for
// updates: not in standalone mode, which runs no admission plugins.
func validatesUpdates(admit admission.Interface) bool {
	v, ok := admit.(admission.ValidationInterface)
	return ok && v.Handles(admission.Update)
}

// mutate runs the mutating admission plugins on the action's result, and
// refuses their changes to anything the action does not own.
func mutate(ctx context.Context, admit admission.Interface, attrs admission.Attributes, objects admission.ObjectInterfaces, decided *kubevirt.VirtualMachine, action virtualmachine.Action) (runtime.Object, error) {
	mutator, ok := admit.(admission.MutationInterface)
	if !ok || !mutator.Handles(admission.Update) {
		return decided, nil
	}
	before := decided.DeepCopy()
	if err := mutator.Admit(ctx, attrs, objects); err != nil {
		return nil, err
	}
	after, ok := attrs.GetObject().(*kubevirt.VirtualMachine)
	if !ok {
		return nil, apierrors.NewInternalError(fmt.Errorf("admission returned %T, not a VirtualMachine", attrs.GetObject()))
	}
	if errs := mutationsOutsideAction(before, after, action); len(errs) > 0 {
		return nil, apierrors.NewInvalid(kubevirt.Kind("VirtualMachine"), before.Name, errs)
	}
	return after, nil
}

// mutationsOutsideAction lists what a mutating admission changed in the
// VM besides the fields an action owns: for the lifecycle actions
// spec.running, spec.runStrategy and status.stateChangeRequests; for the
// volume actions the template's volumes and disks and status.volumeRequests.
func mutationsOutsideAction(before, after *kubevirt.VirtualMachine, action virtualmachine.Action) field.ErrorList {
	owned := "spec.running, spec.runStrategy and status.stateChangeRequests"
	strip := func(vm *kubevirt.VirtualMachine) *kubevirt.VirtualMachine {
		vm = vm.DeepCopy()
		vm.Spec.Running = nil
		vm.Spec.RunStrategy = nil
		vm.Status.StateChangeRequests = nil
		return vm
	}
	if virtualmachine.IsVolumeAction(action) {
		owned = "spec.template.spec.volumes, spec.template.spec.domain.devices.disks and status.volumeRequests"
		strip = func(vm *kubevirt.VirtualMachine) *kubevirt.VirtualMachine {
			vm = vm.DeepCopy()
			if vm.Spec.Template != nil {
				vm.Spec.Template.Spec.Volumes = nil
				vm.Spec.Template.Spec.Domain.Devices.Disks = nil
			}
			vm.Status.VolumeRequests = nil
			return vm
		}
	}
	b, a := strip(before), strip(after)
	detail := fmt.Sprintf("a mutating admission plugin changed this during a %s; this action may change only %s", action, owned)
	var errs field.ErrorList
	if !apiequality.Semantic.DeepEqual(b.ObjectMeta, a.ObjectMeta) {
		for _, part := range []struct {
			path  string
			equal bool
		}{
			{"metadata.labels", apiequality.Semantic.DeepEqual(b.Labels, a.Labels)},
			{"metadata.annotations", apiequality.Semantic.DeepEqual(b.Annotations, a.Annotations)},
		} {
			if !part.equal {
				errs = append(errs, field.Forbidden(field.NewPath(part.path), detail))
			}
		}
		b.Labels, a.Labels, b.Annotations, a.Annotations = nil, nil, nil, nil
		if !apiequality.Semantic.DeepEqual(b.ObjectMeta, a.ObjectMeta) {
			errs = append(errs, field.Forbidden(field.NewPath("metadata"), detail))
		}
	}
	if !apiequality.Semantic.DeepEqual(b.Spec, a.Spec) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"), detail))
	}
	if !apiequality.Semantic.DeepEqual(b.Status, a.Status) {
		errs = append(errs, field.Forbidden(field.NewPath("status"), detail))
	}
	return errs
}

// asVirtualMachineRequest makes the store see the request as one on
// kubevirt.io virtualmachines. The store names the resource in its errors
// after the request's group; without this, a missing VM would be reported as
// virtualmachines.subresources.kubevirt.io, a resource that does not exist.
func asVirtualMachineRequest(ctx context.Context) context.Context {
	info, ok := request.RequestInfoFrom(ctx)
	if !ok {
		return ctx
	}
	vmInfo := *info
	vmInfo.APIGroup = kubevirtv1.SchemeGroupVersion.Group
	vmInfo.APIVersion = kubevirtv1.SchemeGroupVersion.Version
	vmInfo.Subresource = ""
	return request.WithRequestInfo(ctx, &vmInfo)
}
