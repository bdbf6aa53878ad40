package apiserver

import (
	"net/http"

	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/warning"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	kubevirtv1 "github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/v1"
)

// deprecatedVMVersions maps each deprecated version of kubevirt.io to the
// warning its requests get: KubeVirt's own text, as kubevirt.io/api declares
// it for its CRD ("kubevirt.io/v1alpha3 is now deprecated and will be
// removed in a future release.").
var deprecatedVMVersions = func() map[string]string {
	out := map[string]string{}
	for _, gv := range vmVersions {
		if msg, ok := kubevirtv1.DeprecationWarning(gv.Version); ok {
			out[gv.Version] = msg
		}
	}
	return out
}()

// WithDeprecatedVersionWarning adds KubeVirt's deprecation warning to every
// request for a resource of a deprecated version of kubevirt.io, whatever
// its verb and whatever its outcome once authorized, as kube-apiserver does
// for KubeVirt's CRD version, which carries the same text.
//
// Why a filter, and not k8s.io/apiserver's own deprecation support: the
// endpoint installer warns for a version only when the versioned Go type
// implements APILifecycleDeprecated, and then in its own words ("<gv> <Kind>
// is deprecated in v1.x+; use ..."). v1alpha3 is served from the same Go
// type as v1 (KubeVirt's, which has no such method), so the installer
// cannot tell the versions apart, and its text would not be KubeVirt's.
// Wrapping each REST storage instead would miss what fails before storage
// (a 400 on an unknown field) and would have to forward every optional
// interface of the generic store. Here the request's RequestInfo names the
// version, and the warning recorder of the default chain, around this
// filter, turns the warning into a Warning header: on watches too, since it
// is added before the response starts. Discovery (/apis/kubevirt.io/v1alpha3)
// is not a resource request and gets no warning, as with KubeVirt, so that
// clients which walk discovery do not warn of a version they never use.
func WithDeprecatedVersionWarning(handler http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if info, ok := request.RequestInfoFrom(req.Context()); ok && info.IsResourceRequest && info.APIGroup == kubevirt.GroupName {
			if msg, deprecated := deprecatedVMVersions[info.APIVersion]; deprecated {
				warning.AddWarning(req.Context(), "", msg)
			}
		}
		handler.ServeHTTP(w, req)
	})
}
