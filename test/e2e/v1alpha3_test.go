package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// v1alpha3Warning is KubeVirt's deprecation warning for kubevirt.io/v1alpha3,
// word for word.
const v1alpha3Warning = "kubevirt.io/v1alpha3 is now deprecated and will be removed in a future release."

var vmV1alpha3GVR = schema.GroupVersionResource{Group: "kubevirt.io", Version: "v1alpha3", Resource: "virtualmachines"}

// warnedClient is a dynamic client whose Warning headers are collected.
type warnedClient struct {
	dynamic.Interface
	warn *warnings
}

func newWarnedClient(t *testing.T, s *framework.Server) warnedClient {
	t.Helper()
	cfg := rest.CopyConfig(s.RESTConfig)
	warn := &warnings{}
	cfg.WarningHandler = warn
	dyn, err := dynamic.NewForConfig(cfg)
	require.NoError(t, err)
	return warnedClient{Interface: dyn, warn: warn}
}

// seedVMIn returns the seed example named name, in apiVersion gv.
func seedVMIn(t *testing.T, name, gv string) *unstructured.Unstructured {
	t.Helper()
	vm := seedVM(t)
	vm.SetName(name)
	vm.SetAPIVersion(gv)
	return vm
}

func runStrategyOf(u *unstructured.Unstructured) string {
	s, _, _ := unstructured.NestedString(u.Object, "spec", "runStrategy")
	return s
}

// TestV1alpha3OverHTTPS drives kubevirt.io/v1alpha3 next to v1 on one
// server: every verb, both ways between the versions, and the deprecation
// warning on each request to v1alpha3 and on none to v1.
func TestV1alpha3OverHTTPS(t *testing.T) {
	s := framework.StartServer(t)
	ctx := context.Background()
	alpha := newWarnedClient(t, s)
	v1 := newWarnedClient(t, s)
	oldVMs := alpha.Resource(vmV1alpha3GVR).Namespace("default")
	newVMs := v1.Resource(vmGVR).Namespace("default")

	// Each step checks what it did, then that v1alpha3 warned exactly once
	// per request it made and v1 never.
	steps := []struct {
		name string
		// alphaRequests is how many requests the step makes to v1alpha3.
		alphaRequests int
		run           func(t *testing.T)
	}{
		{"create in v1alpha3, read in v1", 2, func(t *testing.T) {
			created, err := oldVMs.Create(ctx, seedVMIn(t, "old", "kubevirt.io/v1alpha3"), metav1.CreateOptions{})
			require.NoError(t, err)
			assert.Equal(t, "kubevirt.io/v1alpha3", created.GetAPIVersion())
			assert.Equal(t, "VirtualMachine", created.GetKind())
			assert.EqualValues(t, 1, created.GetGeneration())

			got, err := newVMs.Get(ctx, "old", metav1.GetOptions{})
			require.NoError(t, err)
			assert.Equal(t, "kubevirt.io/v1", got.GetAPIVersion())
			assert.Equal(t, created.GetUID(), got.GetUID())
			assert.Equal(t, created.Object["spec"], got.Object["spec"], "the spec is the same in both versions")

			again, err := oldVMs.Get(ctx, "old", metav1.GetOptions{})
			require.NoError(t, err)
			assert.Equal(t, "kubevirt.io/v1alpha3", again.GetAPIVersion())
			assert.Equal(t, got.GetResourceVersion(), again.GetResourceVersion())
		}},
		{"create in v1, read in v1alpha3", 1, func(t *testing.T) {
			created, err := newVMs.Create(ctx, seedVMIn(t, "new", "kubevirt.io/v1"), metav1.CreateOptions{})
			require.NoError(t, err)
			got, err := oldVMs.Get(ctx, "new", metav1.GetOptions{})
			require.NoError(t, err)
			assert.Equal(t, "kubevirt.io/v1alpha3", got.GetAPIVersion())
			assert.Equal(t, created.Object["spec"], got.Object["spec"])
		}},
		{"list in v1alpha3, with a field selector", 2, func(t *testing.T) {
			list, err := oldVMs.List(ctx, metav1.ListOptions{})
			require.NoError(t, err)
			assert.Equal(t, "kubevirt.io/v1alpha3", list.GetAPIVersion())
			assert.Equal(t, "VirtualMachineList", list.GetKind())
			var names []string
			for _, item := range list.Items {
				names = append(names, item.GetName())
			}
			assert.ElementsMatch(t, []string{"old", "new"}, names)

			one, err := oldVMs.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=new,spec.runStrategy=Always"})
			require.NoError(t, err)
			require.Len(t, one.Items, 1)
			assert.Equal(t, "new", one.Items[0].GetName())
		}},
		{"update in v1alpha3", 2, func(t *testing.T) {
			got, err := oldVMs.Get(ctx, "old", metav1.GetOptions{})
			require.NoError(t, err)
			require.NoError(t, unstructured.SetNestedField(got.Object, "Manual", "spec", "runStrategy"))
			updated, err := oldVMs.Update(ctx, got, metav1.UpdateOptions{})
			require.NoError(t, err)
			assert.Equal(t, "kubevirt.io/v1alpha3", updated.GetAPIVersion())
			assert.Equal(t, "Manual", runStrategyOf(updated))
			assert.EqualValues(t, 2, updated.GetGeneration())
		}},
		{"a v1 body to v1alpha3 is refused", 1, func(t *testing.T) {
			_, err := oldVMs.Create(ctx, seedVMIn(t, "mixed", "kubevirt.io/v1"), metav1.CreateOptions{})
			require.Error(t, err)
			assert.True(t, apierrors.IsBadRequest(err), "got %v", err)
		}},
		{"a missing VM is a 404, warned too", 1, func(t *testing.T) {
			_, err := oldVMs.Get(ctx, "missing", metav1.GetOptions{})
			require.True(t, apierrors.IsNotFound(err), "got %v", err)
		}},
		{"an unknown field under Strict is a 400, warned too", 1, func(t *testing.T) {
			vm := seedVMIn(t, "strict", "kubevirt.io/v1alpha3")
			require.NoError(t, unstructured.SetNestedField(vm.Object, "x", "spec", "template", "spec", "domain", "bogusField"))
			_, err := oldVMs.Create(ctx, vm, metav1.CreateOptions{FieldValidation: metav1.FieldValidationStrict})
			require.True(t, apierrors.IsBadRequest(err), "got %v", err)
			assert.Contains(t, err.Error(), "spec.template.spec.domain.bogusField")
		}},
		{"an unknown field in a Strict patch is a 400, warned too", 1, func(t *testing.T) {
			_, err := oldVMs.Patch(ctx, "old", types.MergePatchType, []byte(`{"spec":{"bogusField":1}}`),
				metav1.PatchOptions{FieldValidation: metav1.FieldValidationStrict})
			require.True(t, apierrors.IsBadRequest(err), "got %v", err)
			assert.Contains(t, err.Error(), "spec.bogusField")
		}},
		{"status subresource in v1alpha3", 3, func(t *testing.T) {
			got, err := oldVMs.Get(ctx, "old", metav1.GetOptions{})
			require.NoError(t, err)
			require.NoError(t, unstructured.SetNestedField(got.Object, "Running", "status", "printableStatus"))
			require.NoError(t, unstructured.SetNestedField(got.Object, "Halted", "spec", "runStrategy"))
			updated, err := oldVMs.UpdateStatus(ctx, got, metav1.UpdateOptions{})
			require.NoError(t, err)
			assert.Equal(t, "kubevirt.io/v1alpha3", updated.GetAPIVersion())
			status, _, _ := unstructured.NestedString(updated.Object, "status", "printableStatus")
			assert.Equal(t, "Running", status)
			assert.Equal(t, "Manual", runStrategyOf(updated), "the status subresource keeps the spec")

			patched, err := oldVMs.Patch(ctx, "old", types.MergePatchType, []byte(`{"status":{"ready":true}}`), metav1.PatchOptions{}, "status")
			require.NoError(t, err)
			ready, _, _ := unstructured.NestedBool(patched.Object, "status", "ready")
			assert.True(t, ready)

			inV1, err := newVMs.Get(ctx, "old", metav1.GetOptions{}, "status")
			require.NoError(t, err)
			status, _, _ = unstructured.NestedString(inV1.Object, "status", "printableStatus")
			assert.Equal(t, "Running", status)
		}},
		{"delete in v1alpha3", 1, func(t *testing.T) {
			require.NoError(t, oldVMs.Delete(ctx, "new", metav1.DeleteOptions{}))
			_, err := newVMs.Get(ctx, "new", metav1.GetOptions{})
			require.True(t, apierrors.IsNotFound(err), "got %v", err)
		}},
	}
	for _, step := range steps {
		alpha.warn.reset()
		v1.warn.reset()
		if !t.Run(step.name, step.run) {
			return
		}
		want := make([]string, step.alphaRequests)
		for i := range want {
			want[i] = v1alpha3Warning
		}
		assert.Equal(t, want, alpha.warn.list(), "%s: one warning per request to v1alpha3", step.name)
		assert.Empty(t, v1.warn.list(), "%s: no warning for v1", step.name)
	}
}

func TestV1alpha3Patches(t *testing.T) {
	s := framework.StartServer(t)
	ctx := context.Background()
	alpha := newWarnedClient(t, s)
	vms := alpha.Resource(vmV1alpha3GVR).Namespace("default")

	tests := []struct {
		name      string
		patchType types.PatchType
		patch     string
		want      string
	}{
		{"merge", types.MergePatchType, `{"spec":{"runStrategy":"Halted"}}`, "Halted"},
		{"JSON", types.JSONPatchType, `[{"op":"replace","path":"/spec/runStrategy","value":"Manual"}]`, "Manual"},
		{"strategic merge", types.StrategicMergePatchType, `{"spec":{"runStrategy":"RerunOnFailure"}}`, "RerunOnFailure"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "patch-" + string(rune('a'+i))
			_, err := vms.Create(ctx, seedVMIn(t, name, "kubevirt.io/v1alpha3"), metav1.CreateOptions{})
			require.NoError(t, err)
			alpha.warn.reset()

			patched, err := vms.Patch(ctx, name, tt.patchType, []byte(tt.patch), metav1.PatchOptions{})
			require.NoError(t, err)
			assert.Equal(t, "kubevirt.io/v1alpha3", patched.GetAPIVersion())
			assert.Equal(t, tt.want, runStrategyOf(patched))
			assert.EqualValues(t, 2, patched.GetGeneration())
			assert.Equal(t, []string{v1alpha3Warning}, alpha.warn.list())
		})
	}

	t.Run("server-side apply tracks the manager's version", func(t *testing.T) {
		manifest := seedVMIn(t, "applied", "kubevirt.io/v1alpha3")
		// Status is never the main resource's: applying it owns nothing.
		require.NoError(t, unstructured.SetNestedField(manifest.Object, "Running", "status", "printableStatus"))
		applied, err := vms.Apply(ctx, "applied", manifest, metav1.ApplyOptions{FieldManager: "old-pipeline"})
		require.NoError(t, err)
		assert.Equal(t, "kubevirt.io/v1alpha3", applied.GetAPIVersion())
		_, hasStatus, _ := unstructured.NestedString(applied.Object, "status", "printableStatus")
		assert.False(t, hasStatus)
		managed := applied.GetManagedFields()
		require.Len(t, managed, 1)
		assert.Equal(t, "old-pipeline", managed[0].Manager)
		assert.Equal(t, "kubevirt.io/v1alpha3", managed[0].APIVersion)
		assert.NotContains(t, managed[0].FieldsV1.GetRawString(), `"f:status"`)

		// A v1 manager taking an owned field conflicts, across versions.
		v1VMs := alpha.Resource(vmGVR).Namespace("default")
		other := seedVMIn(t, "applied", "kubevirt.io/v1")
		require.NoError(t, unstructured.SetNestedField(other.Object, "Halted", "spec", "runStrategy"))
		_, err = v1VMs.Apply(ctx, "applied", other, metav1.ApplyOptions{FieldManager: "new-pipeline"})
		require.True(t, apierrors.IsConflict(err), "got %v", err)
		assert.Contains(t, err.Error(), "old-pipeline")
		forced, err := v1VMs.Apply(ctx, "applied", other, metav1.ApplyOptions{FieldManager: "new-pipeline", Force: true})
		require.NoError(t, err)
		assert.Equal(t, "Halted", runStrategyOf(forced))

		// The field now belongs to the v1 manager: the v1alpha3 manifest,
		// applied again, conflicts with it in turn.
		_, err = vms.Apply(ctx, "applied", seedVMIn(t, "applied", "kubevirt.io/v1alpha3"), metav1.ApplyOptions{FieldManager: "old-pipeline"})
		require.True(t, apierrors.IsConflict(err), "got %v", err)
		assert.Contains(t, err.Error(), "new-pipeline")
	})
}

func TestV1alpha3Watch(t *testing.T) {
	s := framework.StartServer(t)
	ctx := context.Background()
	alpha := newWarnedClient(t, s)
	oldVMs := alpha.Resource(vmV1alpha3GVR).Namespace("default")
	newVMs := alpha.Resource(vmGVR).Namespace("default")

	w, err := oldVMs.Watch(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	defer w.Stop()
	assert.Equal(t, []string{v1alpha3Warning}, alpha.warn.list(), "a watch is warned when it starts")

	// Written in v1, seen in v1alpha3.
	_, err = newVMs.Create(ctx, seedVMIn(t, "watched", "kubevirt.io/v1"), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = newVMs.Patch(ctx, "watched", types.MergePatchType, []byte(`{"spec":{"runStrategy":"Halted"}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	require.NoError(t, newVMs.Delete(ctx, "watched", metav1.DeleteOptions{}))

	for _, want := range []watch.EventType{watch.Added, watch.Modified, watch.Deleted} {
		ev := nextEvent(t, w)
		require.Equal(t, want, ev.Type)
		obj, ok := ev.Object.(*unstructured.Unstructured)
		require.True(t, ok, "%T", ev.Object)
		assert.Equal(t, "kubevirt.io/v1alpha3", obj.GetAPIVersion())
		assert.Equal(t, "watched", obj.GetName())
	}
}

func TestV1alpha3DiscoveryAndOpenAPI(t *testing.T) {
	s := framework.StartServer(t)
	ctx := context.Background()
	cfg := rest.CopyConfig(s.RESTConfig)
	warn := &warnings{}
	cfg.WarningHandler = warn
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	require.NoError(t, err)

	t.Run("the group prefers v1", func(t *testing.T) {
		groups, err := dc.ServerGroups()
		require.NoError(t, err)
		var group *metav1.APIGroup
		for i := range groups.Groups {
			if groups.Groups[i].Name == "kubevirt.io" {
				group = &groups.Groups[i]
			}
		}
		require.NotNil(t, group)
		assert.Equal(t, "kubevirt.io/v1", group.PreferredVersion.GroupVersion)
		var versions []string
		for _, v := range group.Versions {
			versions = append(versions, v.Version)
		}
		assert.Equal(t, []string{"v1", "v1alpha3"}, versions)
	})

	t.Run("v1alpha3 lists the resource and its status", func(t *testing.T) {
		list, err := dc.ServerResourcesForGroupVersion("kubevirt.io/v1alpha3")
		require.NoError(t, err)
		byName := map[string]metav1.APIResource{}
		for _, r := range list.APIResources {
			byName[r.Name] = r
		}
		require.Contains(t, byName, "virtualmachines")
		vm := byName["virtualmachines"]
		assert.Equal(t, "VirtualMachine", vm.Kind)
		assert.True(t, vm.Namespaced)
		assert.ElementsMatch(t, []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}, []string(vm.Verbs))
		assert.ElementsMatch(t, []string{"vm", "vms"}, vm.ShortNames)
		require.Contains(t, byName, "virtualmachines/status")
		assert.ElementsMatch(t, []string{"get", "patch", "update"}, []string(byName["virtualmachines/status"].Verbs))

		v1List, err := dc.ServerResourcesForGroupVersion("kubevirt.io/v1")
		require.NoError(t, err)
		for _, r := range v1List.APIResources {
			if r.Name == "virtualmachines" {
				assert.NotEmpty(t, vm.StorageVersionHash)
				assert.Equal(t, r.StorageVersionHash, vm.StorageVersionHash, "one storage version for both")
			}
		}
	})

	t.Run("OpenAPI v3 describes v1alpha3", func(t *testing.T) {
		raw, err := dc.RESTClient().Get().AbsPath("/openapi/v3/apis/kubevirt.io/v1alpha3").DoRaw(ctx)
		require.NoError(t, err)
		var doc struct {
			Paths      map[string]json.RawMessage `json:"paths"`
			Components struct {
				Schemas map[string]struct {
					Properties map[string]json.RawMessage `json:"properties"`
					GVK        []map[string]string        `json:"x-kubernetes-group-version-kind"`
				} `json:"schemas"`
			} `json:"components"`
		}
		require.NoError(t, json.Unmarshal(raw, &doc))
		assert.Contains(t, doc.Paths, "/apis/kubevirt.io/v1alpha3/namespaces/{namespace}/virtualmachines/{name}")
		assert.Contains(t, doc.Paths, "/apis/kubevirt.io/v1alpha3/namespaces/{namespace}/virtualmachines/{name}/status")
		vm, ok := doc.Components.Schemas["io.kubevirt.api.core.v1.VirtualMachine"]
		require.True(t, ok)
		assert.Contains(t, vm.GVK, map[string]string{"group": "kubevirt.io", "version": "v1alpha3", "kind": "VirtualMachine"})
		assert.Contains(t, vm.Properties, "spec")
		assert.Contains(t, doc.Components.Schemas["io.kubevirt.api.core.v1.VirtualMachineSpec"].Properties, "runStrategy")
	})

	t.Run("OpenAPI v2 has the v1alpha3 paths", func(t *testing.T) {
		raw, err := dc.RESTClient().Get().AbsPath("/openapi/v2").SetHeader("Accept", "application/json").DoRaw(ctx)
		require.NoError(t, err)
		var doc struct {
			Paths map[string]map[string]json.RawMessage `json:"paths"`
		}
		require.NoError(t, json.Unmarshal(raw, &doc))
		ops := doc.Paths["/apis/kubevirt.io/v1alpha3/namespaces/{namespace}/virtualmachines/{name}"]
		require.NotNil(t, ops)
		for _, verb := range []string{"get", "put", "patch", "delete"} {
			assert.Contains(t, ops, verb)
		}
		assert.Contains(t, doc.Paths, "/apis/kubevirt.io/v1alpha3/namespaces/{namespace}/virtualmachines/{name}/status")
	})

	t.Run("tables in v1alpha3", func(t *testing.T) {
		dyn, err := dynamic.NewForConfig(cfg)
		require.NoError(t, err)
		_, err = dyn.Resource(vmV1alpha3GVR).Namespace("default").Create(ctx, seedVMIn(t, "tabled", "kubevirt.io/v1alpha3"), metav1.CreateOptions{})
		require.NoError(t, err)
		raw, err := dc.RESTClient().Get().AbsPath("/apis/kubevirt.io/v1alpha3/namespaces/default/virtualmachines").
			SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(ctx)
		require.NoError(t, err)
		var table metav1.Table
		require.NoError(t, json.Unmarshal(raw, &table))
		require.Len(t, table.Rows, 1)
		assert.Equal(t, "tabled", table.Rows[0].Cells[0])
		warn.reset()
	})

	t.Run("discovery carries no warning", func(t *testing.T) {
		for _, path := range []string{"/apis", "/apis/kubevirt.io", "/apis/kubevirt.io/v1alpha3", "/openapi/v3/apis/kubevirt.io/v1alpha3"} {
			var code int
			dc.RESTClient().Get().AbsPath(path).Do(ctx).StatusCode(&code)
			assert.Equal(t, http.StatusOK, code, path)
		}
		assert.Empty(t, warn.list())
	})
}
