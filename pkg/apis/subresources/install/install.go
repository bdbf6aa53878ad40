// Package install registers the subresources.kubevirt.io API group in a scheme.
package install

import (
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources"
	v1 "github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources/v1"
)

// Install adds the internal option kinds and the versioned ones to scheme:
// subresources.kubevirt.io v1 (preferred) and v1alpha3, which share their Go
// types, and kubevirt.io/v1, where KubeVirt registers the same kinds.
func Install(scheme *runtime.Scheme) {
	utilruntime.Must(subresources.AddToScheme(scheme))
	utilruntime.Must(v1.AddToScheme(scheme))
	utilruntime.Must(scheme.SetVersionPriority(v1.SchemeGroupVersion, v1.V1alpha3GroupVersion))
}
