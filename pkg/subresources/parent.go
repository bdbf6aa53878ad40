package subresources

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// VirtualMachinesREST is the parent of the actions in subresources.kubevirt.io.
// The installer requires a subresource's parent in the same group-version;
// this one implements no verb, so it gets no routes of its own and shows in
// discovery with an empty verb list. VMs are served by kubevirt.io.
type VirtualMachinesREST struct{}

var (
	_ rest.Storage                  = &VirtualMachinesREST{}
	_ rest.Scoper                   = &VirtualMachinesREST{}
	_ rest.SingularNameProvider     = &VirtualMachinesREST{}
	_ rest.GroupVersionKindProvider = &VirtualMachinesREST{}
)

// New returns an empty VirtualMachine.
func (r *VirtualMachinesREST) New() runtime.Object { return &kubevirt.VirtualMachine{} }

// Destroy does nothing: the parent holds no resources.
func (r *VirtualMachinesREST) Destroy() {}

// NamespaceScoped is true: VMs, and so their actions, live in namespaces.
func (r *VirtualMachinesREST) NamespaceScoped() bool { return true }

// GetSingularName is "virtualmachine".
func (r *VirtualMachinesREST) GetSingularName() string { return "virtualmachine" }

// GroupVersionKind reports kubevirt.io/v1 VirtualMachine, the kind the actions act on.
func (r *VirtualMachinesREST) GroupVersionKind(schema.GroupVersion) schema.GroupVersionKind {
	return vmKind
}
