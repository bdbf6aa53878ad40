// +k8s:deepcopy-gen=package
// +groupName=kubevirt.io

// Package kubevirt is the internal version of the kubevirt.io API group.
package kubevirt
