package subresources

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/endpoints/handlers/negotiation"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// NewStorage returns the storages of subresources.kubevirt.io, the same for
// v1 and v1alpha3: the parent "virtualmachines" (no verbs of its own) and the
// PUT-only actions "virtualmachines/start", "/stop" and "/restart".
//
// actions must be the VM store whose update strategy lets one write change
// both spec and status (the registry's Storage.Action). codecs must encode
// the internal VirtualMachine as kubevirt.io/v1 and metav1.Status, i.e. come
// from a scheme with kubevirt.io and subresources.kubevirt.io installed.
// Wire it as
//
//	info.VersionedResourcesStorageMap["v1"] = subresources.NewStorage(vmStorage.Action, codecs)
//	info.VersionedResourcesStorageMap["v1alpha3"] = subresources.NewStorage(vmStorage.Action, codecs)
//
// and add WithActionDryRun to the handler chain so that ?dryRun=All works.
func NewStorage(actions rest.Updater, codecs runtime.NegotiatedSerializer, opts ...StorageOption) map[string]rest.Storage {
	var cfg storageConfig
	for _, o := range opts {
		o(&cfg)
	}
	newREST := func(action Action, decode decodeFunc) *actionREST {
		return &actionREST{action: action, updater: actions, codecs: codecs, decode: decode, fields: cfg.fields}
	}
	return map[string]rest.Storage{
		"virtualmachines":         &VirtualMachinesREST{},
		"virtualmachines/start":   &StartREST{newREST(ActionStart, decodeStart)},
		"virtualmachines/stop":    &StopREST{newREST(ActionStop, decodeStop)},
		"virtualmachines/restart": &RestartREST{newREST(ActionRestart, decodeRestart)},
	}
}

// FieldTracker records in metadata.managedFields which manager changed which
// fields; *managedfields.FieldManager is one.
type FieldTracker interface {
	UpdateNoErrors(liveObj, newObj runtime.Object, manager string) runtime.Object
}

// StorageOption configures NewStorage.
type StorageOption func(*storageConfig)

type storageConfig struct {
	fields FieldTracker
}

// WithFieldTracker makes every action record the fields it changes under the
// caller's manager name (the User-Agent's product, as Kubernetes does for
// updates), so that a later server-side apply of spec.runStrategy by another
// manager conflicts instead of silently undoing the action.
func WithFieldTracker(t FieldTracker) StorageOption {
	return func(c *storageConfig) { c.fields = t }
}

// vmKind is what every storage of this package reports as its kind. The
// objects are kubevirt.io VMs while the storages are installed in another
// group, so the installer cannot infer the kind from New() (it looks for a
// kind in the group being installed) and must be told.
var vmKind = kubevirtv1.SchemeGroupVersion.WithKind("VirtualMachine")

// decodeFunc turns a request body and its dryRun query values into the
// options of one action.
type decodeFunc func(body []byte, dryRunQuery []string) (opts Options, dryRun []string, err error)

// actionREST is what the three action storages share: everything but the
// action and its body's decoding.
type actionREST struct {
	action  Action
	updater rest.Updater
	codecs  runtime.NegotiatedSerializer
	decode  decodeFunc
	fields  FieldTracker // nil: managedFields are left as they are
}

// New returns an empty VirtualMachine, the object an action answers with.
func (r *actionREST) New() runtime.Object { return &kubevirt.VirtualMachine{} }

// Destroy does nothing: the store is shared with the main resource, which owns it.
func (r *actionREST) Destroy() {}

// GroupVersionKind reports kubevirt.io/v1 VirtualMachine whatever group the action is installed in.
func (r *actionREST) GroupVersionKind(schema.GroupVersion) schema.GroupVersionKind { return vmKind }

// ConnectMethods is PUT only, so that no GET can ever trigger an action.
func (r *actionREST) ConnectMethods() []string { return []string{http.MethodPut} }

// NewConnectOptions is nil: the options come in the body, which Connect decodes itself.
func (r *actionREST) NewConnectOptions() (runtime.Object, bool, string) { return nil, false, "" }

// Connect returns the handler that performs the action on the VM name in
// the namespace of ctx and answers 202 with the VM as stored.
func (r *actionREST) Connect(ctx context.Context, name string, _ runtime.Object, _ rest.Responder) (http.Handler, error) {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		vm, err := r.perform(ctx, name, req)
		if err != nil {
			responsewriters.ErrorNegotiated(err, r.codecs, kubevirtv1.SchemeGroupVersion, w, req)
			return
		}
		responsewriters.WriteObjectNegotiated(r.codecs, negotiation.DefaultEndpointRestrictions,
			kubevirtv1.SchemeGroupVersion, w, req, http.StatusAccepted, vm, false)
	}), nil
}

// perform decodes the options and applies the action in one optimistic
// update. ctx is the one Connect got: it carries the namespace.
func (r *actionREST) perform(ctx context.Context, name string, req *http.Request) (runtime.Object, error) {
	if req.Method != http.MethodPut {
		// The route is PUT-only; this guards direct use of the handler.
		return nil, apierrors.NewMethodNotSupported(kubevirt.Resource("virtualmachines/"+string(r.action)), req.Method)
	}
	body, err := readBody(req.Body)
	if err != nil {
		return nil, err
	}
	opts, dryRun, err := r.decode(body, dryRunQuery(req))
	if err != nil {
		return nil, err
	}
	manager := managerFromUserAgent(req.UserAgent())
	// The store calls transform with the object it just read and, when the
	// write loses a race (or the read came from a stale cache), again with the
	// fresh object: the decision is always made on the state that is written.
	transform := func(_ context.Context, _, old runtime.Object) (runtime.Object, error) {
		vm, ok := old.(*kubevirt.VirtualMachine)
		if !ok {
			return nil, apierrors.NewInternalError(fmt.Errorf("the store returned %T, not a VirtualMachine", old))
		}
		out, err := Decide(vm, r.action, opts)
		if err != nil || r.fields == nil {
			return out, err
		}
		return r.fields.UpdateNoErrors(vm, out, manager), nil
	}
	obj, _, err := r.updater.Update(asVirtualMachineRequest(ctx), name, rest.DefaultUpdatedObjectInfo(nil, transform),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{DryRun: dryRun})
	if err != nil {
		return nil, err
	}
	return obj, nil
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
