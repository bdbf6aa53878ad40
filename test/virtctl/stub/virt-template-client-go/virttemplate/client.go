// Package virttemplate is a stand-in for the virt-template clientset: its
// NewForConfig always fails. See the README two directories up.
package virttemplate

import (
	"context"
	"errors"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"kubevirt.io/virt-template-api/core/subresourcesv1beta1"
	"kubevirt.io/virt-template-api/core/v1beta1"
)

// ErrNotBuilt is what NewForConfig returns.
var ErrNotBuilt = errors.New("this virtctl was built without the virt-template client: the template commands do not work")

// Interface is the clientset.
type Interface interface {
	TemplateV1beta1() TemplateV1beta1Interface
}

// TemplateV1beta1Interface is the clientset's template.kubevirt.io/v1beta1.
type TemplateV1beta1Interface interface {
	RESTClient() rest.Interface
	VirtualMachineTemplates(namespace string) VirtualMachineTemplateInterface
	VirtualMachineTemplateRequests(namespace string) VirtualMachineTemplateRequestInterface
}

// VirtualMachineTemplateInterface is the client of VirtualMachineTemplates.
type VirtualMachineTemplateInterface interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*v1beta1.VirtualMachineTemplate, error)
	Process(ctx context.Context, name string, opts subresourcesv1beta1.ProcessOptions) (*subresourcesv1beta1.ProcessedVirtualMachineTemplate, error)
	CreateVirtualMachine(ctx context.Context, name string, opts subresourcesv1beta1.ProcessOptions) (*subresourcesv1beta1.ProcessedVirtualMachineTemplate, error)
}

// VirtualMachineTemplateRequestInterface is the client of
// VirtualMachineTemplateRequests.
type VirtualMachineTemplateRequestInterface interface {
	Create(ctx context.Context, req *v1beta1.VirtualMachineTemplateRequest, opts metav1.CreateOptions) (*v1beta1.VirtualMachineTemplateRequest, error)
}

// NewForConfig returns ErrNotBuilt.
func NewForConfig(*rest.Config) (Interface, error) { return nil, ErrNotBuilt }
