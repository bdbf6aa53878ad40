package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	virtv1 "kubevirt.io/api/core/v1"
)

// GroupName is the API group of VirtualMachines.
const GroupName = "kubevirt.io"

// SchemeGroupVersion is kubevirt.io/v1, the preferred and storage version.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1"}

// V1alpha3GroupVersion is kubevirt.io/v1alpha3, which KubeVirt still serves,
// deprecated, with the same schema as v1. Its kinds are the same Go types
// as v1's, so an object converts between the two without any change but
// its apiVersion.
var V1alpha3GroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1alpha3"}

// Versions are the served versions of kubevirt.io, preferred first.
var Versions = []schema.GroupVersion{SchemeGroupVersion, V1alpha3GroupVersion}

var (
	// SchemeBuilder registers the served kubevirt.io kinds, in every served
	// version, and their conversions. It registers no defaulting functions:
	// kubevirt.io/api's defaulters are for VirtualMachineInstances, and
	// running them on a VM would rewrite stored objects on every read.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes, addConversionFuncs, addFieldLabelConversionFuncs)
	// AddToScheme adds kubevirt.io/v1 and kubevirt.io/v1alpha3 to a scheme.
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
	for _, gv := range Versions {
		scheme.AddKnownTypes(gv,
			&virtv1.VirtualMachine{},
			&virtv1.VirtualMachineList{},
		)
		metav1.AddToGroupVersion(scheme, gv)
	}
	return nil
}

// DeprecationWarning returns the warning that requests to version of
// kubevirt.io get, and whether version is deprecated. The text is
// KubeVirt's own: the deprecation warning of that version of its
// VirtualMachine CRD, as kubevirt.io/api declares it.
func DeprecationWarning(version string) (string, bool) {
	for _, v := range virtv1.ApiSupportedVersions {
		if v.Name == version && v.Deprecated && v.DeprecationWarning != nil {
			return *v.DeprecationWarning, true
		}
	}
	return "", false
}
