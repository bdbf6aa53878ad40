package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

const vmSchema = "io.kubevirt.api.core.v1.VirtualMachine"

// TestOpenAPI: kube-apiserver merges our schemas into its OpenAPI v2 and
// serves our group-versions in OpenAPI v3, which kubectl explain and
// server-side apply rely on.
func TestOpenAPI(t *testing.T) {
	suite.Require(t)
	get := func(ctx context.Context, path string, into any) error {
		data, err := env.kube.Discovery().RESTClient().Get().AbsPath(path).SetHeader("Accept", "application/json").DoRaw(ctx)
		if err != nil {
			return err
		}
		return json.Unmarshal(data, into)
	}

	t.Run("v2", func(t *testing.T) {
		var doc struct {
			Definitions map[string]json.RawMessage            `json:"definitions"`
			Paths       map[string]map[string]json.RawMessage `json:"paths"`
		}
		// The aggregator downloads and merges specs in the background.
		err := framework.Poll(t.Context(), pollInterval, 2*time.Minute, "our schemas in /openapi/v2", func(ctx context.Context) (bool, error) {
			if err := get(ctx, "/openapi/v2", &doc); err != nil {
				return false, err
			}
			if _, ok := doc.Definitions[vmSchema]; !ok {
				return false, fmt.Errorf("%s not merged yet", vmSchema)
			}
			return true, nil
		})
		require.NoError(t, err)
		for _, name := range []string{vmSchema, vmSchema + "List", vmSchema + "Spec", vmSchema + "Status"} {
			assert.Contains(t, doc.Definitions, name)
		}
		for _, gv := range []string{vmGroupVersion, vmGroupVersionV1a} {
			assert.Contains(t, doc.Paths, "/apis/"+gv+"/namespaces/{namespace}/virtualmachines/{name}")
			assert.Contains(t, doc.Paths, "/apis/"+gv+"/namespaces/{namespace}/virtualmachines/{name}/status")
		}
		for _, gv := range []string{subresourcesV1, subresourcesV1a} {
			for _, action := range []string{"start", "stop", "restart"} {
				ops := doc.Paths["/apis/"+gv+"/namespaces/{namespace}/virtualmachines/{name}/"+action]
				require.NotNil(t, ops, "%s %s", gv, action)
				assert.Contains(t, ops, "put")
				assert.NotContains(t, ops, "get", "an action is PUT-only")
			}
		}
	})

	t.Run("v3", func(t *testing.T) {
		var index struct {
			Paths map[string]json.RawMessage `json:"paths"`
		}
		require.NoError(t, get(t.Context(), "/openapi/v3", &index))
		for _, gv := range []string{vmGroupVersion, vmGroupVersionV1a, subresourcesV1, subresourcesV1a} {
			assert.Contains(t, index.Paths, "apis/"+gv)
		}

		// Both versions are one Go type, so one model that names both kinds.
		for _, gv := range []string{vmGroupVersion, vmGroupVersionV1a} {
			t.Run(gv, func(t *testing.T) {
				var doc struct {
					Components struct {
						Schemas map[string]struct {
							Properties map[string]json.RawMessage `json:"properties"`
							GVK        []map[string]string        `json:"x-kubernetes-group-version-kind"`
						} `json:"schemas"`
					} `json:"components"`
				}
				require.NoError(t, get(t.Context(), "/openapi/v3/apis/"+gv, &doc))
				vm, ok := doc.Components.Schemas[vmSchema]
				require.True(t, ok, "%s not in /openapi/v3/apis/%s", vmSchema, gv)
				assert.ElementsMatch(t, []map[string]string{
					{"group": "kubevirt.io", "version": "v1", "kind": "VirtualMachine"},
					{"group": "kubevirt.io", "version": "v1alpha3", "kind": "VirtualMachine"},
				}, vm.GVK)
				assert.Contains(t, vm.Properties, "spec")
				assert.Contains(t, vm.Properties, "status")
				assert.Contains(t, doc.Components.Schemas[vmSchema+"Spec"].Properties, "runStrategy")
			})
		}
	})
}
