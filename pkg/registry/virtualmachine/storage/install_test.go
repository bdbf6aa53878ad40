package storage

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	restful "github.com/emicklei/go-restful/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/util/sets"
	genericfilters "k8s.io/apiserver/pkg/endpoints/filters"
	"k8s.io/apiserver/pkg/endpoints/request"
	virtv1 "kubevirt.io/api/core/v1"

	subresourcesv1 "github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources/v1"
)

// installed serves the action storages of NewStorage the way the generic API server
// does: installed by k8s.io/apiserver's installer for subresources.kubevirt.io
// v1 and v1alpha3, behind the RequestInfo filter and WithActionDryRun.
func installed(t *testing.T, e *env) http.Handler {
	t.Helper()
	container := restful.NewContainer()
	for _, gv := range []schema.GroupVersion{subresourcesv1.SchemeGroupVersion, subresourcesv1.V1alpha3GroupVersion} {
		installGroupVersion(t, container, gv, e.vms.ActionStorageMap(), managedfields.NewDeducedTypeConverter())
	}
	resolver := &request.RequestInfoFactory{APIPrefixes: sets.NewString("apis", "api"), GrouplessAPIPrefixes: sets.NewString("api")}
	return genericfilters.WithRequestInfo(WithActionDryRun(container), resolver)
}

func serve(h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader(body)))
	return rec
}

func TestInstalledRoutes(t *testing.T) {
	e := newEnv(t)
	h := installed(t, e)
	path := func(version, name, action string) string {
		return "/apis/subresources.kubevirt.io/" + version + "/namespaces/ns/virtualmachines/" + name + "/" + action
	}

	tests := []struct {
		name     string
		method   string
		version  string
		action   string
		query    string
		code     int
		strategy virtv1.VirtualMachineRunStrategy // stored afterwards
	}{
		{name: "PUT start", method: http.MethodPut, version: "v1", action: "start", code: http.StatusAccepted, strategy: virtv1.RunStrategyAlways},
		{name: "PUT start on v1alpha3", method: http.MethodPut, version: "v1alpha3", action: "start", code: http.StatusAccepted, strategy: virtv1.RunStrategyAlways},
		{name: "PUT start dry-run query", method: http.MethodPut, version: "v1", action: "start", query: "?dryRun=All", code: http.StatusAccepted, strategy: virtv1.RunStrategyHalted},
		{name: "PUT start bad dry-run query", method: http.MethodPut, version: "v1", action: "start", query: "?dryRun=Nope", code: http.StatusBadRequest, strategy: virtv1.RunStrategyHalted},
		{name: "PUT restart conflict", method: http.MethodPut, version: "v1", action: "restart", code: http.StatusConflict, strategy: virtv1.RunStrategyHalted},
		{name: "GET start", method: http.MethodGet, version: "v1", action: "start", code: http.StatusMethodNotAllowed, strategy: virtv1.RunStrategyHalted},
		{name: "POST start", method: http.MethodPost, version: "v1", action: "start", code: http.StatusMethodNotAllowed, strategy: virtv1.RunStrategyHalted},
		{name: "PATCH stop", method: http.MethodPatch, version: "v1", action: "stop", code: http.StatusMethodNotAllowed, strategy: virtv1.RunStrategyHalted},
		{name: "DELETE restart", method: http.MethodDelete, version: "v1", action: "restart", code: http.StatusMethodNotAllowed, strategy: virtv1.RunStrategyHalted},
		{name: "GET the parent", method: http.MethodGet, version: "v1", action: "", code: http.StatusNotFound, strategy: virtv1.RunStrategyHalted},
		{name: "unknown action", method: http.MethodPut, version: "v1", action: "pause", code: http.StatusNotFound, strategy: virtv1.RunStrategyHalted},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "inst-" + string(rune('a'+i))
			e.create(t, name, strategySpec(virtv1.RunStrategyHalted), nil)

			rec := serve(h, tt.method, strings.TrimSuffix(path(tt.version, name, tt.action), "/")+tt.query, "")

			assert.Equal(t, tt.code, rec.Code, rec.Body.String())
			assert.Equal(t, tt.strategy, *e.get(t, name).Spec.RunStrategy)
			if tt.code == http.StatusAccepted {
				e.decodeVM(t, rec.Body.Bytes())
			}
		})
	}
}

func TestInstalledDiscovery(t *testing.T) {
	e := newEnv(t)
	h := installed(t, e)
	for _, version := range []string{"v1", "v1alpha3"} {
		t.Run(version, func(t *testing.T) {
			rec := serve(h, http.MethodGet, "/apis/subresources.kubevirt.io/"+version, "")
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			var list metav1.APIResourceList
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &list))

			verbs := map[string][]string{}
			for _, r := range list.APIResources {
				assert.True(t, r.Namespaced, r.Name)
				assert.Equal(t, "VirtualMachine", r.Kind, r.Name)
				verbs[r.Name] = r.Verbs
			}
			assert.Equal(t, map[string][]string{
				"virtualmachines":         {},
				"virtualmachines/start":   {"update"},
				"virtualmachines/stop":    {"update"},
				"virtualmachines/restart": {"update"},
			}, verbs)
		})
	}
}

func TestInstalledAnswersInYAML(t *testing.T) {
	e := newEnv(t)
	h := installed(t, e)
	e.create(t, "yaml", strategySpec(virtv1.RunStrategyHalted), nil)

	req := httptest.NewRequest(http.MethodPut, "/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachines/yaml/start", strings.NewReader("paused: true\n"))
	req.Header.Set("Accept", "application/yaml")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)

	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	assert.Equal(t, "application/yaml", rec.Header().Get("Content-Type"))
	assert.Contains(t, rec.Body.String(), "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\n")
	assert.Contains(t, rec.Body.String(), "runStrategy: Always")
	assert.Contains(t, rec.Body.String(), "paused: \"true\"")
}
