// Package core is a stand-in for the virt-template API group: see the
// README two directories up.
package core

// GroupName is the API group of virtual machine templates.
const GroupName = "template.kubevirt.io"

// The resource names of VirtualMachineTemplates.
const (
	SingularResourceName = "virtualmachinetemplate"
	PluralResourceName   = "virtualmachinetemplates"
)

// SingularRequestResourceName names a VirtualMachineTemplateRequest.
const SingularRequestResourceName = "virtualmachinetemplaterequest"
