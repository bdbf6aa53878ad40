package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// TestScaleSubresource: kubectl scale starts and stops a VM through
// virtualmachines/scale, kubectl get --raw reads its Scale, refusals are
// metav1.Status answers, and /metrics counts the writes as action="scale".
func TestScaleSubresource(t *testing.T) {
	s := framework.StartServer(t)
	ctx := context.Background()
	vms := defaultVMs(t, s)
	kubectl := newKubectl(t, s)
	create := func(name string, strategy kubevirtv1.VirtualMachineRunStrategy, status *kubevirtv1.VirtualMachineStatus) {
		vm := typedVM(t, name)
		vm.Spec.RunStrategy = ptr.To(strategy)
		created, err := vms.Create(ctx, vm, metav1.CreateOptions{})
		require.NoError(t, err)
		if status != nil {
			created.Status = *status
			_, err = vms.UpdateStatus(ctx, created, metav1.UpdateOptions{})
			require.NoError(t, err)
		}
	}
	create("sc-halted", kubevirtv1.RunStrategyHalted, nil)
	create("sc-once", kubevirtv1.RunStrategyOnce, &kubevirtv1.VirtualMachineStatus{Created: true, PrintableStatus: kubevirtv1.VirtualMachineStatusStopped})
	strategyOf := func(name string) kubevirtv1.VirtualMachineRunStrategy {
		vm, err := vms.Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		require.NotNil(t, vm.Spec.RunStrategy)
		return *vm.Spec.RunStrategy
	}
	before := scrapeMetrics(t, s)

	t.Run("kubectl scale starts and stops", func(t *testing.T) {
		out, err := kubectl.run("", "scale", "vm/sc-halted", "--replicas=1")
		require.NoError(t, err, out)
		assert.Equal(t, "virtualmachine.kubevirt.io/sc-halted scaled", strings.TrimSpace(out))
		assert.Equal(t, kubevirtv1.RunStrategyAlways, strategyOf("sc-halted"))

		out, err = kubectl.run("", "scale", "vm/sc-halted", "--replicas=0")
		require.NoError(t, err, out)
		assert.Equal(t, kubevirtv1.RunStrategyHalted, strategyOf("sc-halted"))
	})

	t.Run("kubectl get --raw reads the Scale", func(t *testing.T) {
		out, err := kubectl.run("", "get", "--raw", "/apis/kubevirt.io/v1/namespaces/default/virtualmachines/sc-halted/scale")
		require.NoError(t, err, out)
		var scale autoscalingv1.Scale
		require.NoError(t, json.Unmarshal([]byte(out), &scale), out)
		assert.Equal(t, "autoscaling/v1", scale.APIVersion)
		assert.Equal(t, "Scale", scale.Kind)
		assert.Equal(t, "sc-halted", scale.Name)
		assert.Equal(t, int32(0), scale.Spec.Replicas)
		assert.Equal(t, "kubevirt.io=virt-launcher,vmi.kubevirt.io/id=sc-halted", scale.Status.Selector)
	})

	t.Run("discovery and OpenAPI describe it", func(t *testing.T) {
		for _, version := range []string{"v1", "v1alpha3"} {
			out, err := kubectl.run("", "get", "--raw", "/apis/kubevirt.io/"+version)
			require.NoError(t, err, out)
			var list metav1.APIResourceList
			require.NoError(t, json.Unmarshal([]byte(out), &list), out)
			var found *metav1.APIResource
			for i := range list.APIResources {
				if list.APIResources[i].Name == "virtualmachines/scale" {
					found = &list.APIResources[i]
				}
			}
			require.NotNil(t, found, "virtualmachines/scale in %s", version)
			assert.Equal(t, []string{"autoscaling", "v1", "Scale"}, []string{found.Group, found.Version, found.Kind})
			assert.ElementsMatch(t, []string{"get", "update", "patch"}, found.Verbs)
		}

		out, err := kubectl.run("", "get", "--raw", "/openapi/v3/apis/kubevirt.io/v1")
		require.NoError(t, err, out)
		var doc struct {
			Paths      map[string]json.RawMessage `json:"paths"`
			Components struct {
				Schemas map[string]struct {
					GVK []map[string]string `json:"x-kubernetes-group-version-kind"`
				} `json:"schemas"`
			} `json:"components"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &doc))
		assert.Contains(t, doc.Paths, "/apis/kubevirt.io/v1/namespaces/{namespace}/virtualmachines/{name}/scale")
		assert.Equal(t, []map[string]string{{"group": "autoscaling", "version": "v1", "kind": "Scale"}},
			doc.Components.Schemas["io.k8s.api.autoscaling.v1.Scale"].GVK)
	})

	transport, err := rest.TransportFor(s.RESTConfig)
	require.NoError(t, err)
	client := &http.Client{Transport: transport}
	patch := func(t *testing.T, name, body string) (int, metav1.Status) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPatch, s.URL+"/apis/kubevirt.io/v1/namespaces/default/virtualmachines/"+name+"/scale", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/merge-patch+json")
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		var status metav1.Status
		require.NoError(t, json.Unmarshal(data, &status), string(data))
		assert.Equal(t, "Status", status.Kind, string(data))
		assert.Equal(t, int32(resp.StatusCode), status.Code)
		return resp.StatusCode, status
	}

	t.Run("replicas other than 0 and 1 are a 422", func(t *testing.T) {
		code, status := patch(t, "sc-halted", `{"spec":{"replicas":2}}`)
		assert.Equal(t, http.StatusUnprocessableEntity, code)
		assert.Equal(t, metav1.StatusReasonInvalid, status.Reason)
		require.NotNil(t, status.Details)
		require.Len(t, status.Details.Causes, 1)
		assert.Equal(t, "spec.replicas", status.Details.Causes[0].Field)
	})

	t.Run("a start the table refuses is the action's 409", func(t *testing.T) {
		code, status := patch(t, "sc-once", `{"spec":{"replicas":1}}`)
		assert.Equal(t, http.StatusConflict, code)
		assert.Equal(t, metav1.StatusReasonConflict, status.Reason)
		_, action := newActionClient(t, s).do(http.MethodPut, "v1", "sc-once", "start", "", "")
		assert.Equal(t, action["message"], status.Message, "the start action's own message")
		assert.Equal(t, `Operation cannot be fulfilled on virtualmachines.kubevirt.io "sc-once": Once does not support manual start requests`, status.Message)
	})

	t.Run("metrics count action scale", func(t *testing.T) {
		after := scrapeMetrics(t, s)
		for result, want := range map[string]float64{"accepted": 2, "invalid": 1, "conflict": 1, "dry_run": 0, "denied": 0, "error": 0} {
			labels := map[string]string{"action": "scale", "result": result}
			delta := metricSample(after, "vm_apiserver_actions_total", labels) - metricSample(before, "vm_apiserver_actions_total", labels)
			assert.Equal(t, want, delta, "vm_apiserver_actions_total%v", labels)
		}
	})
}
