// Package install registers the kubevirt.io API group in a scheme.
package install

import (
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	v1 "github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/v1"
)

// Install adds the internal kubevirt.io types to scheme, and the versioned
// ones in v1 (preferred) and v1alpha3, which share their Go types.
func Install(scheme *runtime.Scheme) {
	utilruntime.Must(kubevirt.AddToScheme(scheme))
	utilruntime.Must(v1.AddToScheme(scheme))
	utilruntime.Must(scheme.SetVersionPriority(v1.Versions...))
}
