package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	virtv1 "kubevirt.io/api/core/v1"
)

// GroupName is the API group of VirtualMachines.
const GroupName = "kubevirt.io"

// SchemeGroupVersion is kubevirt.io/v1.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1"}

var (
	// SchemeBuilder registers the served kubevirt.io/v1 kinds and their
	// conversions. It registers no defaulting functions: kubevirt.io/api's
	// defaulters are for VirtualMachineInstances, and running them on a VM
	// would rewrite stored objects on every read.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes, addConversionFuncs, addFieldLabelConversionFuncs)
	// AddToScheme adds kubevirt.io/v1 to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// Resource qualifies a resource with the group.
func Resource(resource string) schema.GroupResource {
	return SchemeGroupVersion.WithResource(resource).GroupResource()
}

// addKnownTypes registers only the kinds this server serves. KubeVirt's own
// SchemeBuilder would also register VirtualMachineInstances, migrations, the
// KubeVirt CR and more, none of which exist here.
func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion,
		&virtv1.VirtualMachine{},
		&virtv1.VirtualMachineList{},
	)
	metav1.AddToGroupVersion(scheme, SchemeGroupVersion)
	return nil
}
