package storage

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/util/sets"
	genericfilters "k8s.io/apiserver/pkg/endpoints/filters"
	"k8s.io/apiserver/pkg/endpoints/request"
)

func TestWithActionDryRun(t *testing.T) {
	tests := []struct {
		name      string
		target    string
		wantQuery string   // the query the inner handler sees
		wantDry   []string // what dryRunQuery returns there
	}{
		{"action with dry-run", "/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachines/vm/start?dryRun=All&pretty=true",
			"pretty=true", []string{"All"}},
		{"repeated and invalid values travel on", "/apis/subresources.kubevirt.io/v1alpha3/namespaces/ns/virtualmachines/vm/restart?dryRun=All&dryRun=x",
			"", []string{"All", "x"}},
		{"action without dry-run", "/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachines/vm/stop",
			"", nil},
		{"other group untouched", "/apis/kubevirt.io/v1/namespaces/ns/virtualmachines/vm?dryRun=All",
			"dryRun=All", []string{"All"}},
		{"other subresource untouched", "/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachines/vm/console?dryRun=All",
			"dryRun=All", []string{"All"}},
		{"not a resource request", "/version?dryRun=All", "dryRun=All", []string{"All"}},
	}
	resolver := &request.RequestInfoFactory{APIPrefixes: sets.NewString("apis", "api"), GrouplessAPIPrefixes: sets.NewString("api")}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotQuery string
			var gotDry []string
			inner := http.HandlerFunc(func(_ http.ResponseWriter, req *http.Request) {
				gotQuery, gotDry = req.URL.RawQuery, dryRunQuery(req)
				assert.Equal(t, req.URL.RequestURI(), req.RequestURI)
			})
			req := httptest.NewRequest(http.MethodPut, tt.target, nil)
			genericfilters.WithRequestInfo(WithActionDryRun(inner), resolver).ServeHTTP(httptest.NewRecorder(), req)

			assert.Equal(t, tt.wantQuery, gotQuery)
			assert.Equal(t, tt.wantDry, gotDry)
			assert.Equal(t, tt.target, req.URL.RequestURI(), "the caller's request is not changed")
		})
	}
}
