package kubevirt

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	virtv1 "kubevirt.io/api/core/v1"
)

// The internal VirtualMachine is a shell around KubeVirt's published types:
// its spec and status are kubevirt.io/api's own structs, so that the internal
// form holds every field that kubevirt.io/v1 has and a conversion can never
// drop one. Only the object envelope is ours, because k8s.io/apiserver needs
// an internal type distinct from the versioned one.

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// VirtualMachine is a virtual machine whose instance is started, stopped and
// restarted according to its run strategy.
type VirtualMachine struct {
	metav1.TypeMeta
	// Standard object metadata.
	metav1.ObjectMeta

	// Spec is the desired state of the VM, as KubeVirt defines it.
	Spec virtv1.VirtualMachineSpec
	// Status is the state of the VM as reported by its runtime.
	Status virtv1.VirtualMachineStatus
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// VirtualMachineList is a list of VirtualMachines.
type VirtualMachineList struct {
	metav1.TypeMeta
	// Standard list metadata.
	metav1.ListMeta

	// Items are the VirtualMachines.
	Items []VirtualMachine
}
