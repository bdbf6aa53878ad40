// Package template is a stand-in for the virt-template engine: every
// function fails. See the README two directories up.
package template

import (
	"errors"

	"k8s.io/apimachinery/pkg/util/validation/field"

	virtv1 "kubevirt.io/api/core/v1"
	"kubevirt.io/virt-template-api/core/v1beta1"
)

// ErrNotBuilt is what every function returns.
var ErrNotBuilt = errors.New("this virtctl was built without the virt-template engine: the template commands do not work")

// MergeParameters returns ErrNotBuilt.
func MergeParameters(params []v1beta1.Parameter, _ map[string]string) ([]v1beta1.Parameter, error) {
	return params, ErrNotBuilt
}

// ValidateParameterReferences reports ErrNotBuilt as a field error.
func ValidateParameterReferences(*v1beta1.VirtualMachineTemplate) ([]string, field.ErrorList) {
	return nil, field.ErrorList{field.InternalError(field.NewPath("spec"), ErrNotBuilt)}
}

// Processor processes templates.
type Processor struct{}

// GetDefaultProcessor returns a Processor.
func GetDefaultProcessor() Processor { return Processor{} }

// Process returns ErrNotBuilt.
func (Processor) Process(*v1beta1.VirtualMachineTemplate) (*virtv1.VirtualMachine, string, error) {
	return nil, "", ErrNotBuilt
}
