package apiserver

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	genericfilters "k8s.io/apiserver/pkg/endpoints/filters"
	"k8s.io/apiserver/pkg/endpoints/request"
)

// TestScaleFieldManager: a scale write's manager is ?fieldManager, else the
// product of the User-Agent, which only requests for virtualmachines/scale
// keep in their context.
func TestScaleFieldManager(t *testing.T) {
	for _, tt := range []struct {
		name, path, userAgent, fieldManager, want string
	}{
		{"user agent", "/apis/kubevirt.io/v1/namespaces/ns/virtualmachines/vm/scale", "kubectl/v1.37.2 (linux/amd64)", "", "kubectl"},
		{"v1alpha3", "/apis/kubevirt.io/v1alpha3/namespaces/ns/virtualmachines/vm/scale", "hpa-controller/v1", "", "hpa-controller"},
		{"field manager wins", "/apis/kubevirt.io/v1/namespaces/ns/virtualmachines/vm/scale", "kubectl/v1.37.2", "autoscaler", "autoscaler"},
		{"no user agent", "/apis/kubevirt.io/v1/namespaces/ns/virtualmachines/vm/scale", "", "", "unknown"},
		// Other requests do not carry it.
		{"status", "/apis/kubevirt.io/v1/namespaces/ns/virtualmachines/vm/status", "kubectl/v1.37.2", "", "unknown"},
		{"other group", "/apis/apps/v1/namespaces/ns/deployments/d/scale", "kubectl/v1.37.2", "", "unknown"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			inner := http.HandlerFunc(func(_ http.ResponseWriter, req *http.Request) {
				got = scaleFieldManager(req.Context(), &metav1.UpdateOptions{FieldManager: tt.fieldManager})
			})
			resolver := &request.RequestInfoFactory{APIPrefixes: sets.NewString("apis", "api"), GrouplessAPIPrefixes: sets.NewString("api")}
			handler := genericfilters.WithRequestInfo(WithScaleUserAgent(inner), resolver)
			req := httptest.NewRequest(http.MethodPatch, tt.path, nil)
			req.Header.Set("User-Agent", tt.userAgent)
			handler.ServeHTTP(httptest.NewRecorder(), req)
			assert.Equal(t, tt.want, got)
		})
	}
}
