package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

var vmGVR = schema.GroupVersionResource{Group: "kubevirt.io", Version: "v1", Resource: "virtualmachines"}

// TestCRUD drives the typed client through kube-apiserver's proxy.
func TestCRUD(t *testing.T) {
	suite.Require(t)
	ns := newNamespace(t)
	vms := env.vms.KubevirtV1().VirtualMachines(ns)
	names := []string{"vm-a", "vm-b", "vm-c"}

	t.Run("POST returns 201 with the object", func(t *testing.T) {
		for _, name := range names {
			body, err := json.Marshal(newVM(name, kubevirtv1.RunStrategyHalted))
			require.NoError(t, err)
			resp, err := do(t.Context(), env.admin, http.MethodPost,
				"/apis/kubevirt.io/v1/namespaces/"+ns+"/virtualmachines", body, "application/json")
			require.NoError(t, err)
			require.Equal(t, http.StatusCreated, resp.code, string(resp.body))
			var got metav1.PartialObjectMetadata
			require.NoError(t, json.Unmarshal(resp.body, &got))
			assert.Equal(t, "kubevirt.io/v1", got.APIVersion)
			assert.Equal(t, "VirtualMachine", got.Kind)
			assert.Equal(t, name, got.Name)
			assert.Equal(t, ns, got.Namespace)
			assert.NotEmpty(t, got.UID)
			assert.Equal(t, int64(1), got.Generation)
		}
	})

	t.Run("list has exact counts and a resourceVersion", func(t *testing.T) {
		list, err := vms.List(t.Context(), metav1.ListOptions{})
		require.NoError(t, err)
		assert.Len(t, list.Items, len(names))
		assert.NotEmpty(t, list.ResourceVersion)
		one, err := vms.List(t.Context(), metav1.ListOptions{LabelSelector: "kubevirt.io/vm=vm-b"})
		require.NoError(t, err)
		require.Len(t, one.Items, 1)
		assert.Equal(t, "vm-b", one.Items[0].Name)
		// All namespaces: at least ours, and none of ours twice.
		all, err := env.vms.KubevirtV1().VirtualMachines(metav1.NamespaceAll).List(t.Context(), metav1.ListOptions{})
		require.NoError(t, err)
		count := 0
		for _, vm := range all.Items {
			if vm.Namespace == ns {
				count++
			}
		}
		assert.Equal(t, len(names), count)
	})

	t.Run("update bumps generation only on a spec change", func(t *testing.T) {
		vm := getVM(t, ns, "vm-a")
		vm.Labels["tier"] = "gold"
		vm, err := vms.Update(t.Context(), vm, metav1.UpdateOptions{})
		require.NoError(t, err)
		assert.Equal(t, int64(1), vm.Generation)
		vm.Spec.RunStrategy = ptrTo(kubevirtv1.RunStrategyManual)
		vm, err = vms.Update(t.Context(), vm, metav1.UpdateOptions{})
		require.NoError(t, err)
		assert.Equal(t, int64(2), vm.Generation)
		assert.Equal(t, kubevirtv1.RunStrategyManual, *vm.Spec.RunStrategy)
	})

	t.Run("merge patch", func(t *testing.T) {
		vm, err := vms.Patch(t.Context(), "vm-b", types.MergePatchType,
			[]byte(`{"spec":{"runStrategy":"Always"}}`), metav1.PatchOptions{})
		require.NoError(t, err)
		assert.Equal(t, kubevirtv1.RunStrategyAlways, *vm.Spec.RunStrategy)
	})

	t.Run("invalid objects are 422", func(t *testing.T) {
		vm := newVM("vm-invalid", "Sometimes")
		_, err := vms.Create(t.Context(), vm, metav1.CreateOptions{})
		require.Error(t, err)
		assert.True(t, apierrors.IsInvalid(err), "%v", err)
		assert.Contains(t, err.Error(), "spec.runStrategy")
	})

	t.Run("delete, then list gives 0", func(t *testing.T) {
		for _, name := range names {
			require.NoError(t, vms.Delete(t.Context(), name, metav1.DeleteOptions{}))
		}
		list, err := vms.List(t.Context(), metav1.ListOptions{})
		require.NoError(t, err)
		assert.Empty(t, list.Items)
		_, err = vms.Get(t.Context(), "vm-a", metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "%v", err)
	})
}

// seedVM is artifacts/examples/vm-cirros.yaml, the seed's example.
func seedVM(t *testing.T) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(env.root, "artifacts", "examples", "vm-cirros.yaml"))
	require.NoError(t, err)
	u := &unstructured.Unstructured{}
	require.NoError(t, yaml.Unmarshal(data, &u.Object))
	return u
}

// TestCRUDDynamic does the same with the dynamic client and the seed's VM.
func TestCRUDDynamic(t *testing.T) {
	suite.Require(t)
	ns := newNamespace(t)
	client := env.dyn.Resource(vmGVR).Namespace(ns)

	// Watch from the empty list's resourceVersion, to see every event.
	list, err := client.List(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	require.Empty(t, list.Items)
	require.NotEmpty(t, list.GetResourceVersion())
	w, err := client.Watch(t.Context(), metav1.ListOptions{ResourceVersion: list.GetResourceVersion()})
	require.NoError(t, err)
	defer w.Stop()

	const copies = 3
	for i := range copies {
		u := seedVM(t)
		u.SetName(fmt.Sprintf("vm-cirros-%d", i))
		created, err := client.Create(t.Context(), u, metav1.CreateOptions{})
		require.NoError(t, err)
		assert.Equal(t, "kubevirt.io/v1", created.GetAPIVersion())
		assert.Equal(t, "VirtualMachine", created.GetKind())
		assert.Equal(t, u.GetName(), created.GetName())
		vols, found, err := unstructured.NestedSlice(created.Object, "spec", "template", "spec", "volumes")
		require.NoError(t, err)
		require.True(t, found, "the template's volumes survive the round trip")
		assert.Len(t, vols, 1)
	}

	list, err = client.List(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	assert.Len(t, list.Items, copies)
	assert.NotEmpty(t, list.GetResourceVersion())

	patched, err := client.Patch(t.Context(), "vm-cirros-0", types.JSONPatchType,
		[]byte(`[{"op":"replace","path":"/spec/runStrategy","value":"Halted"}]`), metav1.PatchOptions{})
	require.NoError(t, err)
	strategy, _, _ := unstructured.NestedString(patched.Object, "spec", "runStrategy")
	assert.Equal(t, "Halted", strategy)

	require.NoError(t, client.DeleteCollection(t.Context(), metav1.DeleteOptions{}, metav1.ListOptions{}))
	list, err = client.List(t.Context(), metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, list.Items)

	// The watch saw every create, the patch and every delete, in order.
	want := []watch.EventType{}
	for range copies {
		want = append(want, watch.Added)
	}
	want = append(want, watch.Modified)
	for range copies {
		want = append(want, watch.Deleted)
	}
	var got []watch.EventType
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for len(got) < len(want) {
		select {
		case ev, ok := <-w.ResultChan():
			require.True(t, ok, "watch closed early after %v", got)
			got = append(got, ev.Type)
		case <-ctx.Done():
			require.FailNow(t, "watch events missing", "got %v, want %v", got, want)
		}
	}
	assert.Equal(t, want, got)
}
