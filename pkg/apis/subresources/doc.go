// +k8s:deepcopy-gen=package
// +groupName=subresources.kubevirt.io

// Package subresources is the internal version of the subresources.kubevirt.io
// API group: the option bodies of the VM lifecycle actions.
package subresources
