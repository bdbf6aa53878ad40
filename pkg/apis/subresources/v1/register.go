package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupName is the API group of the lifecycle actions.
const GroupName = "subresources.kubevirt.io"

// SchemeGroupVersion is subresources.kubevirt.io/v1.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1"}

// V1alpha3GroupVersion is subresources.kubevirt.io/v1alpha3, which older
// KubeVirt clients use. Its option kinds are the same as v1's.
var V1alpha3GroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1alpha3"}

// KubeVirtGroupVersion is kubevirt.io/v1, where KubeVirt itself registers
// the option kinds; virtctl and KubeVirt's client may name it in a body.
// Only the option kinds are added there: the VirtualMachine kinds of
// kubevirt.io/v1 come from their own package.
var KubeVirtGroupVersion = schema.GroupVersion{Group: "kubevirt.io", Version: "v1"}

var (
	// SchemeBuilder registers the option kinds in every version that names
	// them, and their generated functions.
	SchemeBuilder      runtime.SchemeBuilder
	localSchemeBuilder = &SchemeBuilder
	// AddToScheme adds the option kinds to a scheme.
	AddToScheme = localSchemeBuilder.AddToScheme
)

func init() {
	localSchemeBuilder.Register(addKnownTypes)
}

func addKnownTypes(scheme *runtime.Scheme) error {
	for _, gv := range []schema.GroupVersion{SchemeGroupVersion, V1alpha3GroupVersion, KubeVirtGroupVersion} {
		scheme.AddKnownTypes(gv,
			&StartOptions{},
			&StopOptions{},
			&RestartOptions{},
		)
	}
	metav1.AddToGroupVersion(scheme, SchemeGroupVersion)
	metav1.AddToGroupVersion(scheme, V1alpha3GroupVersion)
	return nil
}
