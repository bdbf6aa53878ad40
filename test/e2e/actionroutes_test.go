package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/generated/clientset/versioned"
	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// actionSeries lists the samples of family whose labels name an action:
// resource virtualmachines, subresource an action.
func actionSeries(families map[string]*dto.MetricFamily, family string) []map[string]string {
	var out []map[string]string
	for _, m := range families[family].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		switch labels["subresource"] {
		case "start", "stop", "restart", "addvolume", "removevolume":
			if labels["resource"] == "virtualmachines" {
				out = append(out, labels)
			}
		}
	}
	return out
}

// TestActionsInTheRequestMetrics: the generic request metrics see an action
// as the short write it is: never among the long-running requests, even
// while it reads its body, and counted as a PUT of virtualmachines/<action>
// with dry_run="All" when the query asks for a dry run.
func TestActionsInTheRequestMetrics(t *testing.T) {
	s := framework.StartServer(t)
	ctx := context.Background()
	vms := defaultVMs(t, s)
	vm := typedVM(t, "metrics")
	vm.Spec.RunStrategy = ptr.To(kubevirtv1.RunStrategyAlways)
	_, err := vms.Create(ctx, vm, metav1.CreateOptions{})
	require.NoError(t, err)

	// An open watch is a long-running request, so the gauge is served.
	w, err := vms.Watch(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	defer w.Stop()

	transport, err := rest.TransportFor(s.RESTConfig)
	require.NoError(t, err)
	client := &http.Client{Transport: transport}
	stopURL := s.URL + "/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachines/metrics/stop"

	t.Run("an action in flight is not long-running", func(t *testing.T) {
		// The body is sent in two parts; between them the server is inside
		// the action's handler, reading it.
		body, writer := io.Pipe()
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, stopURL+"?dryRun=All", body)
		require.NoError(t, err)
		answered := make(chan int, 1) // the status code
		go func() {
			resp, err := client.Do(req)
			if !assert.NoError(t, err) {
				answered <- 0
				return
			}
			_ = resp.Body.Close()
			answered <- resp.StatusCode
		}()
		_, err = writer.Write([]byte(`{"gracePeriod":`))
		require.NoError(t, err)
		time.Sleep(200 * time.Millisecond) // the handler is reading by now

		during := scrapeMetrics(t, s)
		require.NotEmpty(t, during["apiserver_longrunning_requests"].GetMetric(), "the watch is counted")
		assert.Empty(t, actionSeries(during, "apiserver_longrunning_requests"))

		_, err = writer.Write([]byte(`0}`))
		require.NoError(t, err)
		require.NoError(t, writer.Close())
		assert.Equal(t, http.StatusAccepted, <-answered)
		assert.Empty(t, actionSeries(scrapeMetrics(t, s), "apiserver_longrunning_requests"))
	})

	t.Run("a dry run is labelled dry_run", func(t *testing.T) {
		count := func(families map[string]*dto.MetricFamily, dryRun string) float64 {
			return metricSample(families, "apiserver_request_total", map[string]string{
				"verb": "PUT", "dry_run": dryRun, "group": "subresources.kubevirt.io", "version": "v1",
				"resource": "virtualmachines", "subresource": "stop", "scope": "resource",
				"component": "apiserver", "code": "202",
			})
		}
		before := scrapeMetrics(t, s)
		actions := newActionClient(t, s)
		code, body := actions.do(http.MethodPut, "v1", "metrics", "stop?dryRun=All", "", "")
		require.Equal(t, http.StatusAccepted, code, body)
		code, body = actions.do(http.MethodPut, "v1", "metrics", "stop", "", "")
		require.Equal(t, http.StatusAccepted, code, body)
		after := scrapeMetrics(t, s)

		assert.Equal(t, 1.0, count(after, "All")-count(before, "All"), "the dry run")
		assert.Equal(t, 1.0, count(after, "")-count(before, ""), "the stop written")
	})
}

// TestActionsInOpenAPIAndDiscovery: OpenAPI v2 and v3 describe the 202 of
// each action as a kubevirt.io/v1 VirtualMachine and its body as the
// action's options; discovery lists each action as an update.
func TestActionsInOpenAPIAndDiscovery(t *testing.T) {
	s := framework.StartServer(t)
	client, err := versioned.NewForConfig(s.RESTConfig)
	require.NoError(t, err)
	get := func(path string, into any) {
		t.Helper()
		raw, err := client.Discovery().RESTClient().Get().AbsPath(path).SetHeader("Accept", "application/json").DoRaw(context.Background())
		require.NoError(t, err, path)
		require.NoError(t, json.Unmarshal(raw, into), path)
	}
	options := map[string]string{"start": "StartOptions", "stop": "StopOptions", "restart": "RestartOptions",
		"addvolume": "AddVolumeOptions", "removevolume": "RemoveVolumeOptions"}

	type schemaRef struct {
		Ref string `json:"$ref"`
	}
	// A path's item holds its parameters and an object per method.
	type pathItems struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	var v2 pathItems
	get("/openapi/v2", &v2)

	for _, gv := range []string{"v1", "v1alpha3"} {
		var v3 pathItems
		get("/openapi/v3/apis/subresources.kubevirt.io/"+gv, &v3)

		for action, kind := range options {
			t.Run(gv+" "+action, func(t *testing.T) {
				path := "/apis/subresources.kubevirt.io/" + gv + "/namespaces/{namespace}/virtualmachines/{name}/" + action
				// The volume actions read KubeVirt's own option kinds, and need a body.
				model, volume := "io.kubevirt.subresources.v1."+kind, action == "addvolume" || action == "removevolume"
				if volume {
					model = "io.kubevirt.api.core.v1." + kind
				}

				ops := v2.Paths[path]
				require.Contains(t, ops, "put", "v2 %s", path)
				assert.Len(t, ops, 2, "PUT and the path's parameters, nothing else")
				var put struct {
					Parameters []struct {
						In       string    `json:"in"`
						Required bool      `json:"required"`
						Schema   schemaRef `json:"schema"`
					} `json:"parameters"`
					Responses map[string]struct {
						Schema schemaRef `json:"schema"`
					} `json:"responses"`
				}
				require.NoError(t, json.Unmarshal(ops["put"], &put))
				assert.Equal(t, "#/definitions/io.kubevirt.api.core.v1.VirtualMachine", put.Responses["202"].Schema.Ref)
				var body bool
				for _, p := range put.Parameters {
					if p.In == "body" {
						body = true
						assert.Equal(t, volume, p.Required, "only a volume action needs a body")
						assert.Equal(t, "#/definitions/"+model, p.Schema.Ref)
					}
				}
				assert.True(t, body, "v2 describes the body")

				raw, ok := v3.Paths[path]["put"]
				require.True(t, ok, "v3 %s", path)
				var op struct {
					RequestBody struct {
						Content map[string]struct {
							Schema schemaRef `json:"schema"`
						} `json:"content"`
					} `json:"requestBody"`
					Responses map[string]struct {
						Content map[string]struct {
							Schema schemaRef `json:"schema"`
						} `json:"content"`
					} `json:"responses"`
				}
				require.NoError(t, json.Unmarshal(raw, &op))
				assert.Equal(t, "#/components/schemas/io.kubevirt.api.core.v1.VirtualMachine", op.Responses["202"].Content["application/json"].Schema.Ref)
				assert.Equal(t, "#/components/schemas/"+model, op.RequestBody.Content["*/*"].Schema.Ref)
			})
		}

		t.Run(gv+" discovery", func(t *testing.T) {
			list, err := client.Discovery().ServerResourcesForGroupVersion("subresources.kubevirt.io/" + gv)
			require.NoError(t, err)
			verbs := map[string][]string{}
			for _, r := range list.APIResources {
				assert.True(t, r.Namespaced, r.Name)
				assert.Equal(t, metav1.GroupVersionKind{Group: "kubevirt.io", Version: "v1", Kind: "VirtualMachine"},
					metav1.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind}, r.Name)
				verbs[r.Name] = r.Verbs
			}
			assert.Equal(t, map[string][]string{
				"virtualmachines":              {},
				"virtualmachines/start":        {"update"},
				"virtualmachines/stop":         {"update"},
				"virtualmachines/restart":      {"update"},
				"virtualmachines/addvolume":    {"update"},
				"virtualmachines/removevolume": {"update"},
			}, verbs)
		})
	}

	t.Run("aggregated discovery", func(t *testing.T) {
		var doc apidiscoveryv2.APIGroupDiscoveryList
		raw, err := client.Discovery().RESTClient().Get().AbsPath("/apis").
			SetHeader("Accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList").DoRaw(context.Background())
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, &doc))
		var versions []string
		for _, g := range doc.Items {
			if g.Name != "subresources.kubevirt.io" {
				continue
			}
			for _, v := range g.Versions {
				versions = append(versions, v.Version)
				require.Len(t, v.Resources, 1)
				vm := v.Resources[0]
				assert.Equal(t, "virtualmachines", vm.Resource)
				subresources := map[string][]string{}
				for _, sub := range vm.Subresources {
					subresources[sub.Subresource] = sub.Verbs
					require.NotNil(t, sub.ResponseKind)
					assert.Equal(t, "VirtualMachine", sub.ResponseKind.Kind)
				}
				assert.Equal(t, map[string][]string{"start": {"update"}, "stop": {"update"}, "restart": {"update"},
					"addvolume": {"update"}, "removevolume": {"update"}}, subresources)
			}
		}
		assert.Equal(t, []string{"v1", "v1alpha3"}, versions)
	})

	t.Run("virtctl's version route", func(t *testing.T) {
		var info map[string]any
		get("/apis/subresources.kubevirt.io/v1/version", &info)
		assert.True(t, strings.HasPrefix(info["gitVersion"].(string), "v"), "%v", info)
	})
}

// TestActionPreferReturnMinimal: with Prefer: return=minimal an action
// answers as KubeVirt's virt-api does, 202 with no body, and says so in
// Preference-Applied; without it, the answer is the VM. A refusal is a
// Status either way.
func TestActionPreferReturnMinimal(t *testing.T) {
	s := framework.StartServer(t)
	ctx := context.Background()
	vms := defaultVMs(t, s)
	vm := typedVM(t, "minimal")
	vm.Spec.RunStrategy = ptr.To(kubevirtv1.RunStrategyHalted)
	_, err := vms.Create(ctx, vm, metav1.CreateOptions{})
	require.NoError(t, err)

	transport, err := rest.TransportFor(s.RESTConfig)
	require.NoError(t, err)
	client := &http.Client{Transport: transport}
	// put answers the status code, the headers and the body.
	put := func(t *testing.T, action, query, prefer string) (int, http.Header, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodPut,
			s.URL+"/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachines/minimal/"+action+query, nil)
		require.NoError(t, err)
		if prefer != "" {
			req.Header.Set("Prefer", prefer)
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, resp.Header, body
	}

	t.Run("dry run, minimal", func(t *testing.T) {
		before, err := vms.Get(ctx, "minimal", metav1.GetOptions{})
		require.NoError(t, err)
		code, header, body := put(t, "start", "?dryRun=All", "return=minimal")
		assert.Equal(t, http.StatusAccepted, code)
		assert.Empty(t, body)
		assert.Equal(t, "return=minimal", header.Get("Preference-Applied"))
		after, err := vms.Get(ctx, "minimal", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, before.ResourceVersion, after.ResourceVersion)
	})

	t.Run("written, minimal among other preferences", func(t *testing.T) {
		code, header, body := put(t, "start", "", "respond-async, return=minimal")
		assert.Equal(t, http.StatusAccepted, code)
		assert.Empty(t, body)
		assert.Equal(t, "return=minimal", header.Get("Preference-Applied"))
		got, err := vms.Get(ctx, "minimal", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, kubevirtv1.RunStrategyAlways, *got.Spec.RunStrategy)
	})

	t.Run("a refusal is still a Status", func(t *testing.T) {
		code, header, body := put(t, "start", "", "return=minimal")
		assert.Equal(t, http.StatusConflict, code)
		assert.Empty(t, header.Get("Preference-Applied"))
		var status metav1.Status
		require.NoError(t, json.Unmarshal(body, &status))
		assert.Contains(t, status.Message, "Always does not support manual start requests")
	})

	t.Run("return=representation, or no preference, answers the VM", func(t *testing.T) {
		for _, prefer := range []string{"return=representation", ""} {
			code, header, body := put(t, "stop", "?dryRun=All", prefer)
			assert.Equal(t, http.StatusAccepted, code)
			assert.Empty(t, header.Get("Preference-Applied"))
			var got kubevirtv1.VirtualMachine
			require.NoError(t, json.Unmarshal(body, &got))
			assert.Equal(t, "minimal", got.Name)
			assert.Equal(t, kubevirtv1.RunStrategyHalted, *got.Spec.RunStrategy, "as the dry-run stop would leave it")
		}
	})
}
