// Package install registers the subresources.kubevirt.io API group in a scheme.
package install

import (
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources"
	v1 "github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources/v1"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources/v1alpha3"
)

// Install adds the internal, v1 and v1alpha3 option kinds to scheme, v1 preferred.
func Install(scheme *runtime.Scheme) {
	utilruntime.Must(subresources.AddToScheme(scheme))
	utilruntime.Must(v1.AddToScheme(scheme))
	utilruntime.Must(v1alpha3.AddToScheme(scheme))
	utilruntime.Must(scheme.SetVersionPriority(v1.SchemeGroupVersion, v1alpha3.SchemeGroupVersion))
}
