// +k8s:openapi-gen=true
// +k8s:deepcopy-gen=package
// +k8s:conversion-gen=github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources
// +k8s:defaulter-gen=TypeMeta
// +k8s:openapi-model-package=io.kubevirt.subresources.v1
// +groupName=subresources.kubevirt.io
// +groupGoName=Subresources

// Package v1 is version v1 of the subresources.kubevirt.io API group: the
// option bodies of the start, stop and restart actions.
package v1
