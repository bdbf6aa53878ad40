package storage

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/endpoints/handlers/negotiation"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/warning"
	"k8s.io/client-go/tools/events"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/scheme"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"
)

// vmKind is what every storage of the actions reports as its kind. The
// objects are kubevirt.io VMs while the storages are installed in another
// group, so the installer cannot infer the kind from New() (it looks for a
// kind in the group being installed) and must be told.
var vmKind = kubevirtv1.SchemeGroupVersion.WithKind("VirtualMachine")

// vmResource is the resource an action's write is admitted on: the action
// is its subresource, so that a policy can name virtualmachines/stop alone.
var vmResource = kubevirtv1.SchemeGroupVersion.WithResource("virtualmachines")

// ActionREST serves PUT virtualmachines/{name}/{action} in
// subresources.kubevirt.io: it decodes the optional options body, applies
// the transition table (virtualmachine.Decide) to the VM and writes the
// result in one optimistic update of the VM store, admitted as an UPDATE of
// kubevirt.io virtualmachines/{action}. It answers 202 with the VM as stored.
type ActionREST struct {
	action virtualmachine.Action
	store  rest.Updater        // the VM store with the action strategy
	admit  admission.Interface // nil: no admission plugins
	fields fieldTracker
	events events.EventRecorder // nil: no Events
}

var (
	_ rest.Storage                  = &ActionREST{}
	_ rest.Connecter                = &ActionREST{}
	_ rest.GroupVersionKindProvider = &ActionREST{}
)

// New returns an empty VirtualMachine, the object an action answers with.
func (r *ActionREST) New() runtime.Object { return &kubevirt.VirtualMachine{} }

// Destroy does nothing: the store is shared with the main resource, which owns it.
func (r *ActionREST) Destroy() {}

// GroupVersionKind reports kubevirt.io/v1 VirtualMachine whatever group the action is installed in.
func (r *ActionREST) GroupVersionKind(schema.GroupVersion) schema.GroupVersionKind { return vmKind }

// ConnectMethods is PUT only, so that no GET can ever trigger an action.
func (r *ActionREST) ConnectMethods() []string { return []string{http.MethodPut} }

// NewConnectOptions is nil: the options come in the body, which Connect decodes itself.
func (r *ActionREST) NewConnectOptions() (runtime.Object, bool, string) { return nil, false, "" }

// Connect returns the handler that performs the action on the VM name in
// the namespace of ctx.
func (r *ActionREST) Connect(ctx context.Context, name string, _ runtime.Object, _ rest.Responder) (http.Handler, error) {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		vm, err := r.perform(ctx, name, req)
		if err != nil {
			responsewriters.ErrorNegotiated(err, scheme.Codecs, kubevirtv1.SchemeGroupVersion, w, req)
			return
		}
		responsewriters.WriteObjectNegotiated(scheme.Codecs, negotiation.DefaultEndpointRestrictions,
			kubevirtv1.SchemeGroupVersion, w, req, http.StatusAccepted, vm, false)
	}), nil
}

// perform decodes the options and applies the action in one optimistic
// update. ctx is the one Connect got: it carries the namespace and the user.
func (r *ActionREST) perform(ctx context.Context, name string, req *http.Request) (_ runtime.Object, err error) {
	started := time.Now()
	// denied is set when an admission plugin refuses the write.
	var dryRun, denied bool
	defer func() { observeAction(r.action, started, dryRun, denied, err) }()
	if req.Method != http.MethodPut {
		// The route is PUT-only; this guards direct use of the handler.
		return nil, apierrors.NewMethodNotSupported(kubevirt.Resource("virtualmachines/"+string(r.action)), req.Method)
	}
	body, err := readBody(req.Body)
	if err != nil {
		return nil, err
	}
	opts, warnings, err := decodeOptions(r.action, body, dryRunQuery(req), req.URL.Query().Get("fieldValidation"))
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		warning.AddWarning(ctx, "", w)
	}
	dryRun = len(opts.DryRun) > 0
	options := &metav1.UpdateOptions{DryRun: opts.DryRun}
	manager := managerFromUserAgent(req.UserAgent())
	namespace, _ := request.NamespaceFrom(ctx)
	userInfo, _ := request.UserFrom(ctx)
	admit := admission.WithAudit(r.admit)
	attributes := func(obj, old runtime.Object) admission.Attributes {
		return admission.NewAttributesRecord(obj, old, vmKind, namespace, name, vmResource, string(r.action),
			admission.Update, options, dryRun, userInfo)
	}
	objects := admission.NewObjectInterfacesFromScheme(scheme.Scheme)

	// The store calls transform with the object it just read and, when the
	// write loses a race (or the read came from a stale cache), again with the
	// fresh object: the decision, the field tracking and the mutating
	// admission always see the state that is written.
	transform := func(ctx context.Context, _, old runtime.Object) (runtime.Object, error) {
		vm, ok := old.(*kubevirt.VirtualMachine)
		if !ok {
			return nil, apierrors.NewInternalError(fmt.Errorf("the store returned %T, not a VirtualMachine", old))
		}
		out, err := virtualmachine.Decide(vm, r.action, opts)
		if err != nil {
			return nil, err
		}
		result := r.fields.UpdateNoErrors(vm, out, manager)
		tracked, ok := result.(*kubevirt.VirtualMachine)
		if !ok {
			return nil, apierrors.NewInternalError(fmt.Errorf("the field manager returned %T, not a VirtualMachine", result))
		}
		mutated, err := r.mutate(ctx, admit, attributes(tracked, vm), objects, tracked)
		denied = denied || err != nil
		return mutated, err
	}
	validate := rest.AdmissionToValidateObjectUpdateFunc(admit, attributes(nil, nil), objects)
	validateUpdate := func(ctx context.Context, obj, old runtime.Object) error {
		err := validate(ctx, obj, old)
		denied = denied || err != nil
		return err
	}
	obj, _, err := r.store.Update(asVirtualMachineRequest(ctx), name, rest.DefaultUpdatedObjectInfo(nil, transform),
		rest.AdmissionToValidateObjectFunc(admit, attributes(nil, nil), objects),
		validateUpdate, false, options)
	if err != nil {
		return nil, err
	}
	if !dryRun {
		r.recordAction(obj, userInfo)
	}
	return obj, nil
}

// recordAction records an Event on the VM that says who asked for the
// action, as "stop requested by alice".
func (r *ActionREST) recordAction(obj runtime.Object, requester user.Info) {
	vm, ok := obj.(*kubevirt.VirtualMachine)
	if r.events == nil || !ok {
		return
	}
	name := "an unknown user"
	if requester != nil {
		name = requester.GetName()
	}
	verb := string(r.action)
	r.events.Eventf(&corev1.ObjectReference{
		APIVersion: kubevirtv1.SchemeGroupVersion.String(), Kind: "VirtualMachine",
		Namespace: vm.Namespace, Name: vm.Name, UID: vm.UID, ResourceVersion: vm.ResourceVersion,
	}, nil, corev1.EventTypeNormal, strings.ToUpper(verb[:1])+verb[1:]+"Requested", strings.ToUpper(verb[:1])+verb[1:],
		"%s requested by %s", verb, name)
}

// mutate runs the mutating admission plugins on the action's result, and
// refuses their changes to anything the action does not own.
func (r *ActionREST) mutate(ctx context.Context, admit admission.Interface, attrs admission.Attributes, objects admission.ObjectInterfaces, decided *kubevirt.VirtualMachine) (runtime.Object, error) {
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
	if errs := mutationsOutsideAction(before, after, r.action); len(errs) > 0 {
		return nil, apierrors.NewInvalid(kubevirt.Kind("VirtualMachine"), before.Name, errs)
	}
	return after, nil
}

// mutationsOutsideAction lists what a mutating admission changed in the
// VM besides the fields an action owns: spec.running, spec.runStrategy and
// status.stateChangeRequests.
func mutationsOutsideAction(before, after *kubevirt.VirtualMachine, action virtualmachine.Action) field.ErrorList {
	strip := func(vm *kubevirt.VirtualMachine) *kubevirt.VirtualMachine {
		vm = vm.DeepCopy()
		vm.Spec.Running = nil
		vm.Spec.RunStrategy = nil
		vm.Status.StateChangeRequests = nil
		return vm
	}
	b, a := strip(before), strip(after)
	detail := fmt.Sprintf("a mutating admission plugin changed this during a %s; an action may change only spec.running, spec.runStrategy and status.stateChangeRequests", action)
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

// managerFromUserAgent names the field manager of an action after the
// product in the User-Agent ("kubectl-vm/v0.1.0 ..." is "kubectl-vm"), with
// unprintable characters dropped and at most 128 bytes, as the generic
// handlers of k8s.io/apiserver do for updates without ?fieldManager.
func managerFromUserAgent(userAgent string) string {
	product, _, _ := strings.Cut(userAgent, "/")
	var b strings.Builder
	for _, r := range product {
		if !unicode.IsPrint(r) {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > maxFieldManagerLength {
			break
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}

// maxFieldManagerLength is the longest manager name Kubernetes accepts.
const maxFieldManagerLength = 128

// ActionsParentREST is the parent of the actions in subresources.kubevirt.io.
// The installer requires a subresource's parent in the same group-version;
// this one implements no verb, so it gets no routes of its own and shows in
// discovery with an empty verb list. VMs are served by kubevirt.io.
type ActionsParentREST struct{}

var (
	_ rest.Storage                  = &ActionsParentREST{}
	_ rest.Scoper                   = &ActionsParentREST{}
	_ rest.SingularNameProvider     = &ActionsParentREST{}
	_ rest.GroupVersionKindProvider = &ActionsParentREST{}
)

// New returns an empty VirtualMachine.
func (r *ActionsParentREST) New() runtime.Object { return &kubevirt.VirtualMachine{} }

// Destroy does nothing: the parent holds no resources.
func (r *ActionsParentREST) Destroy() {}

// NamespaceScoped is true: VMs, and so their actions, live in namespaces.
func (r *ActionsParentREST) NamespaceScoped() bool { return true }

// GetSingularName is "virtualmachine".
func (r *ActionsParentREST) GetSingularName() string { return "virtualmachine" }

// GroupVersionKind reports kubevirt.io/v1 VirtualMachine, the kind the actions act on.
func (r *ActionsParentREST) GroupVersionKind(schema.GroupVersion) schema.GroupVersionKind {
	return vmKind
}
