package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/fuzzer"
	"github.com/vm-apiserver/vm-apiserver/pkg/generated/clientset/versioned"
	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// roundTripVMs is how many random VMs the round trip sends; the fuzzer
// covers every field of KubeVirt's VirtualMachine within 200.
var roundTripVMs = flag.Int("roundtrip-vms", 200, "random VirtualMachines the HTTPS round trip sends")

// roundTripSeed makes the random VMs reproducible.
const roundTripSeed = 20261129

// asJSONMap is v as the generic JSON a client would see on the wire.
func asJSONMap(t *testing.T, v any) map[string]any {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	out := map[string]any{}
	require.NoError(t, json.Unmarshal(data, &out))
	return out
}

// TestEveryFieldSurvivesTheRoundTrip creates random VMs with every field of
// KubeVirt's VirtualMachine set somewhere among them, over HTTPS with field
// validation off, and reads each back: the spec, labels and annotations are
// exactly what was sent. Then it writes a random status of every field
// through the status subresource and reads that back the same way.
func TestEveryFieldSurvivesTheRoundTrip(t *testing.T) {
	s := framework.StartServer(t)
	client, err := versioned.NewForConfig(s.RESTConfig)
	require.NoError(t, err)
	ctx := context.Background()

	for i := 0; i < *roundTripVMs; i++ {
		sent := fuzzer.ValidVirtualMachine(roundTripSeed, i)
		vms := client.KubevirtV1().VirtualMachines(sent.Namespace)

		created, err := vms.Create(ctx, sent.DeepCopy(), metav1.CreateOptions{FieldValidation: metav1.FieldValidationIgnore})
		require.NoError(t, err, "VM %d", i)
		got, err := vms.Get(ctx, sent.Name, metav1.GetOptions{})
		require.NoError(t, err, "VM %d", i)
		for what, vm := range map[string]*kubevirtv1.VirtualMachine{"create": created, "get": got} {
			require.Equal(t, asJSONMap(t, sent.Spec), asJSONMap(t, vm.Spec), "VM %d: the spec after %s", i, what)
			require.Equal(t, sent.Labels, vm.Labels, "VM %d: labels after %s", i, what)
			require.Equal(t, sent.Annotations, vm.Annotations, "VM %d: annotations after %s", i, what)
		}

		got.Status = *fuzzer.ValidVirtualMachineStatus(roundTripSeed, i)
		updated, err := vms.UpdateStatus(ctx, got.DeepCopy(), metav1.UpdateOptions{FieldValidation: metav1.FieldValidationIgnore})
		require.NoError(t, err, "VM %d", i)
		reread, err := vms.Get(ctx, sent.Name, metav1.GetOptions{})
		require.NoError(t, err, "VM %d", i)
		for what, vm := range map[string]*kubevirtv1.VirtualMachine{"status update": updated, "get": reread} {
			require.Equal(t, asJSONMap(t, got.Status), asJSONMap(t, vm.Status), "VM %d: the status after %s", i, what)
			require.Equal(t, asJSONMap(t, sent.Spec), asJSONMap(t, vm.Spec), "VM %d: the status write keeps the spec", i)
		}
	}
}

// TestServerSideApplyOfAFullVM applies a VM with every kind of field, reads
// it back field for field, and checks that the run strategy still belongs to
// its applier: a second manager's apply of it conflicts.
func TestServerSideApplyOfAFullVM(t *testing.T) {
	s := framework.StartServer(t)
	dyn, err := dynamic.NewForConfig(s.RESTConfig)
	require.NoError(t, err)
	ctx := context.Background()

	full := fuzzer.ValidVirtualMachine(roundTripSeed, 7)
	full.Spec.Running = nil
	strategy := kubevirtv1.RunStrategyManual
	full.Spec.RunStrategy = &strategy
	full.Status = kubevirtv1.VirtualMachineStatus{}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(full)
	require.NoError(t, err)
	manifest := &unstructured.Unstructured{Object: content}
	unstructured.RemoveNestedField(manifest.Object, "status")
	unstructured.RemoveNestedField(manifest.Object, "metadata", "creationTimestamp")

	vms := dyn.Resource(vmGVR).Namespace(full.Namespace)
	applied, err := vms.Apply(ctx, full.Name, manifest, metav1.ApplyOptions{FieldManager: "platform-team"})
	require.NoError(t, err)
	spec, _, _ := unstructured.NestedMap(applied.Object, "spec")
	assert.Equal(t, asJSONMap(t, full.Spec), asJSONMap(t, spec), "the applied spec reads back field for field")

	// Re-applying the same manifest is a no-op for the generation.
	again, err := vms.Apply(ctx, full.Name, manifest, metav1.ApplyOptions{FieldManager: "platform-team"})
	require.NoError(t, err)
	assert.Equal(t, applied.GetGeneration(), again.GetGeneration())

	other := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
		"metadata": map[string]any{"name": full.Name, "namespace": full.Namespace},
		"spec":     map[string]any{"runStrategy": "Halted"},
	}}
	_, err = vms.Apply(ctx, full.Name, other, metav1.ApplyOptions{FieldManager: "someone-else"})
	require.True(t, apierrors.IsConflict(err), "a second manager's apply of runStrategy conflicts: %v", err)
	assert.Contains(t, err.Error(), ".spec.runStrategy")
}
