// Package v1beta1 is a stand-in for the virt-template API types: it
// declares only what virtctl refers to. See the README three directories up.
package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kubevirt.io/virt-template-api/core"
)

// GroupVersion is the group and version of the types.
var GroupVersion = schema.GroupVersion{Group: core.GroupName, Version: "v1beta1"}

// Parameter is a template parameter.
type Parameter struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	Description string `json:"description,omitempty"`
	Value       string `json:"value,omitempty"`
	Generate    string `json:"generate,omitempty"`
	From        string `json:"from,omitempty"`
	Required    bool   `json:"required,omitempty"`
}

// VirtualMachineTemplateSpec is a template's VM and parameters.
type VirtualMachineTemplateSpec struct {
	Message        string                `json:"message,omitempty"`
	Parameters     []Parameter           `json:"parameters,omitempty"`
	VirtualMachine *runtime.RawExtension `json:"virtualMachine,omitempty"`
}

// VirtualMachineTemplate is a template.
type VirtualMachineTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              VirtualMachineTemplateSpec `json:"spec"`
}

// DeepCopyObject makes VirtualMachineTemplate a runtime.Object.
func (in *VirtualMachineTemplate) DeepCopyObject() runtime.Object {
	if in == nil {
		return nil
	}
	out := &VirtualMachineTemplate{TypeMeta: in.TypeMeta, Spec: in.Spec}
	in.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	out.Spec.Parameters = append([]Parameter(nil), in.Spec.Parameters...)
	out.Spec.VirtualMachine = in.Spec.VirtualMachine.DeepCopy()
	return out
}

// VirtualMachineReference names a VM.
type VirtualMachineReference struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// VirtualMachineTemplateRequestSpec asks for a template made from a VM.
type VirtualMachineTemplateRequestSpec struct {
	VirtualMachineRef VirtualMachineReference `json:"virtualMachineRef"`
	TemplateName      string                  `json:"templateName,omitempty"`
}

// VirtualMachineTemplateRequest asks for a template made from a VM.
type VirtualMachineTemplateRequest struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              VirtualMachineTemplateRequestSpec `json:"spec"`
}
