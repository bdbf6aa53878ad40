// Package storage builds the REST storages of VirtualMachines on the generic
// registry: virtualmachines and virtualmachines/status in kubevirt.io, and
// the writes of the start, stop and restart actions, all over one etcd
// store and its watch cache.
package storage

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"
)

// VirtualMachineStorage holds every REST storage of VirtualMachines.
type VirtualMachineStorage struct {
	// VirtualMachine serves kubevirt.io virtualmachines.
	VirtualMachine *REST
	// Status serves kubevirt.io virtualmachines/status.
	Status *StatusREST
	// Actions performs start, stop and restart, and records the volume
	// requests of addvolume and removevolume, which the server serves in
	// subresources.kubevirt.io.
	Actions *ActionStorage
}

// NewStorage builds the storages of VirtualMachines over one etcd store.
// admit is the server's admission chain, which an action's write passes as
// an UPDATE of kubevirt.io virtualmachines/{action}; nil runs none.
// typeConverter describes VirtualMachines for the actions' field manager.
func NewStorage(optsGetter generic.RESTOptionsGetter, admit admission.Interface, typeConverter managedfields.TypeConverter) (*VirtualMachineStorage, error) {
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &kubevirt.VirtualMachine{} },
		NewListFunc:               func() runtime.Object { return &kubevirt.VirtualMachineList{} },
		PredicateFunc:             virtualmachine.MatchVirtualMachine,
		DefaultQualifiedResource:  kubevirt.Resource("virtualmachines"),
		SingularQualifiedResource: kubevirt.Resource("virtualmachine"),

		CreateStrategy:      virtualmachine.Strategy,
		UpdateStrategy:      virtualmachine.Strategy,
		DeleteStrategy:      virtualmachine.Strategy,
		ResetFieldsStrategy: virtualmachine.Strategy,

		TableConvertor: tableConvertor{},
	}
	options := &generic.StoreOptions{RESTOptions: withEtcdErrors(optsGetter), AttrFunc: virtualmachine.GetAttrs}
	if err := store.CompleteWithOptions(options); err != nil {
		return nil, err
	}

	// The status and action stores are shallow copies that share the
	// underlying storage and watch cache; only the update rules differ.
	statusStore := *store
	statusStore.UpdateStrategy = virtualmachine.StatusStrategy
	statusStore.ResetFieldsStrategy = virtualmachine.StatusStrategy

	actionStore := *store
	actionStore.UpdateStrategy = virtualmachine.ActionStrategy
	actionStore.ResetFieldsStrategy = virtualmachine.ActionStrategy

	fields, err := newActionFieldTracker(typeConverter)
	if err != nil {
		return nil, err
	}
	return &VirtualMachineStorage{
		VirtualMachine: &REST{store},
		Status:         &StatusREST{store: &statusStore},
		Actions:        &ActionStorage{store: &actionStore, admit: admit, fields: fields},
	}, nil
}

// REST serves the virtualmachines resource.
type REST struct {
	*genericregistry.Store
}

var (
	_ rest.ShortNamesProvider   = &REST{}
	_ rest.CategoriesProvider   = &REST{}
	_ rest.SingularNameProvider = &REST{}
)

// Update writes a new VM; errors in making it from the request are the
// client's (requestInputErrors).
func (r *REST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	return r.Store.Update(ctx, name, requestInputErrors{objInfo}, createValidation, updateValidation, forceAllowCreate, options)
}

// ShortNames lets kubectl accept "vm" and "vms".
func (r *REST) ShortNames() []string { return []string{"vm", "vms"} }

// Categories puts virtualmachines in "kubectl get all".
func (r *REST) Categories() []string { return []string{"all"} }

// StatusREST serves virtualmachines/status.
type StatusREST struct {
	store *genericregistry.Store
}

var (
	_ rest.Patcher                = &StatusREST{}
	_ rest.ResetFieldsStrategy    = &StatusREST{}
	_ rest.TableConvertor         = &StatusREST{}
	_ rest.SingularNameProvider   = &StatusREST{}
	_ rest.StorageVersionProvider = &StatusREST{}
)

// New returns an empty VirtualMachine.
func (r *StatusREST) New() runtime.Object { return &kubevirt.VirtualMachine{} }

// Destroy does nothing: the store is shared with the main resource, which
// owns its shutdown.
func (r *StatusREST) Destroy() {}

// GetSingularName returns "virtualmachine".
func (r *StatusREST) GetSingularName() string { return r.store.GetSingularName() }

// Get returns the VirtualMachine, so that clients can read the status.
func (r *StatusREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	return r.store.Get(ctx, name, options)
}

// Update writes the status only; the status strategy keeps spec and metadata.
func (r *StatusREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	// Status writes never create a VM, whatever the caller asks for.
	return r.store.Update(ctx, name, requestInputErrors{objInfo}, createValidation, updateValidation, false, options)
}

// GetResetFields names the fields the status subresource never writes.
func (r *StatusREST) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return r.store.GetResetFields()
}

// ConvertToTable prints the VM as the main resource does.
func (r *StatusREST) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return r.store.ConvertToTable(ctx, object, tableOptions)
}

// StorageVersion reports the version objects are stored in.
func (r *StatusREST) StorageVersion() runtime.GroupVersioner { return r.store.StorageVersion() }
