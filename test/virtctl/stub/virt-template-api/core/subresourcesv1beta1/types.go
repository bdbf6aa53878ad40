// Package subresourcesv1beta1 is a stand-in for the virt-template
// subresource types. See the README three directories up.
package subresourcesv1beta1

import (
	virtv1 "kubevirt.io/api/core/v1"
)

// ProcessOptions are the parameters of a process request.
type ProcessOptions struct {
	Parameters map[string]string `json:"parameters,omitempty"`
}

// ProcessedVirtualMachineTemplate is the result of a process request.
type ProcessedVirtualMachineTemplate struct {
	VirtualMachine *virtv1.VirtualMachine `json:"virtualMachine,omitempty"`
	Message        string                 `json:"message,omitempty"`
}
