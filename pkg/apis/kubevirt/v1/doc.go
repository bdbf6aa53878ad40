// +k8s:openapi-gen=true
// +k8s:deepcopy-gen=package
// +k8s:conversion-gen=github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt
// +k8s:defaulter-gen=TypeMeta
// +k8s:openapi-model-package=io.kubevirt.api.v1
// +groupName=kubevirt.io
// +groupGoName=KubeVirt

// Package v1 is version v1 of the kubevirt.io API group, wire-compatible with
// KubeVirt's VirtualMachine.
package v1
