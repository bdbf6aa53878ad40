package apiserver

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/util/sets"
	genericapifilters "k8s.io/apiserver/pkg/endpoints/filters"
	"k8s.io/apiserver/pkg/endpoints/request"
)

// kubeVirtV1alpha3Warning is KubeVirt's text, word for word.
const kubeVirtV1alpha3Warning = "kubevirt.io/v1alpha3 is now deprecated and will be removed in a future release."

func TestDeprecatedVMVersions(t *testing.T) {
	assert.Equal(t, map[string]string{"v1alpha3": kubeVirtV1alpha3Warning}, deprecatedVMVersions)
}

func TestWithDeprecatedVersionWarning(t *testing.T) {
	// The filter sits inside the default chain: after the RequestInfo and
	// the warning recorder, which turns warnings into headers.
	resolver := &request.RequestInfoFactory{APIPrefixes: sets.NewString("apis", "api"), GrouplessAPIPrefixes: sets.NewString("api")}
	var reached bool
	h := genericapifilters.WithRequestInfo(genericapifilters.WithWarningRecorder(WithDeprecatedVersionWarning(
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			reached = true
			w.WriteHeader(http.StatusOK)
		}))), resolver)

	const vms = "/apis/kubevirt.io/v1alpha3/namespaces/ns/virtualmachines"
	tests := []struct {
		name   string
		method string
		path   string
		warned bool
	}{
		{"list", http.MethodGet, vms, true},
		{"watch", http.MethodGet, vms + "?watch=true", true},
		{"list in all namespaces", http.MethodGet, "/apis/kubevirt.io/v1alpha3/virtualmachines", true},
		{"create", http.MethodPost, vms, true},
		{"get", http.MethodGet, vms + "/vm", true},
		{"update", http.MethodPut, vms + "/vm", true},
		{"patch", http.MethodPatch, vms + "/vm", true},
		{"delete", http.MethodDelete, vms + "/vm", true},
		{"delete collection", http.MethodDelete, vms, true},
		{"status", http.MethodPut, vms + "/vm/status", true},
		{"v1 is not deprecated", http.MethodGet, "/apis/kubevirt.io/v1/namespaces/ns/virtualmachines/vm", false},
		{"discovery of v1alpha3", http.MethodGet, "/apis/kubevirt.io/v1alpha3", false},
		{"discovery of the group", http.MethodGet, "/apis/kubevirt.io", false},
		{"the actions' v1alpha3 is another group", http.MethodPut, "/apis/subresources.kubevirt.io/v1alpha3/namespaces/ns/virtualmachines/vm/start", false},
		{"OpenAPI of v1alpha3", http.MethodGet, "/openapi/v3/apis/kubevirt.io/v1alpha3", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reached = false
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			assert.True(t, reached, "the request goes on")
			assert.Equal(t, http.StatusOK, rec.Code)
			if tt.warned {
				assert.Equal(t, []string{`299 - "` + kubeVirtV1alpha3Warning + `"`}, rec.Header().Values("Warning"))
			} else {
				assert.Empty(t, rec.Header().Values("Warning"))
			}
		})
	}
}
