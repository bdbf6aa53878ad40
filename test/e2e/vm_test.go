// Package e2e drives a real vm-apiserver (embedded etcd, standalone TLS)
// over HTTPS with client-go, as users do.
package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
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
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	kubevirtv1 "kubevirt.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/vm-apiserver/vm-apiserver/pkg/generated/clientset/versioned"
	typedv1 "github.com/vm-apiserver/vm-apiserver/pkg/generated/clientset/versioned/typed/core/v1"
	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

var vmGVR = schema.GroupVersionResource{Group: "kubevirt.io", Version: "v1", Resource: "virtualmachines"}

// seedVM reads the seed's example VM, shipped in artifacts/examples.
func seedVM(t *testing.T) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile("../../artifacts/examples/vm-cirros.yaml")
	require.NoError(t, err)
	obj := &unstructured.Unstructured{}
	require.NoError(t, yaml.Unmarshal(data, &obj.Object))
	return obj
}

// warnings collects the Warning headers the server sends.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

func (w *warnings) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = nil
}

func (w *warnings) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.msgs...)
}

func TestVirtualMachineLifecycleOverHTTPS(t *testing.T) {
	s := framework.StartServer(t)
	ctx := context.Background()
	dyn, err := dynamic.NewForConfig(s.RESTConfig)
	require.NoError(t, err)
	vms := dyn.Resource(vmGVR).Namespace("default")

	// Server-side apply of the seed example, verbatim.
	seed := seedVM(t)
	applied, err := vms.Apply(ctx, "vm-cirros", seed, metav1.ApplyOptions{FieldManager: "e2e"})
	require.NoError(t, err)
	assert.Equal(t, "VirtualMachine", applied.GetKind())
	assert.Equal(t, "kubevirt.io/v1", applied.GetAPIVersion())
	assert.EqualValues(t, 1, applied.GetGeneration())
	require.NotEmpty(t, applied.GetManagedFields(), "server-side apply records managed fields")

	// Watch from the current resourceVersion while we change the VM.
	w, err := vms.Watch(ctx, metav1.ListOptions{ResourceVersion: applied.GetResourceVersion()})
	require.NoError(t, err)
	defer w.Stop()

	got, err := vms.Get(ctx, "vm-cirros", metav1.GetOptions{})
	require.NoError(t, err)
	strategy, _, _ := unstructured.NestedString(got.Object, "spec", "runStrategy")
	assert.Equal(t, "Always", strategy)
	volumes, _, _ := unstructured.NestedSlice(got.Object, "spec", "template", "spec", "volumes")
	require.Len(t, volumes, 1, "the template comes back as applied")

	list, err := vms.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, list.Items, 1)
	assert.NotEmpty(t, list.GetResourceVersion())

	// Update: change the strategy with a plain PUT.
	require.NoError(t, unstructured.SetNestedField(got.Object, "Manual", "spec", "runStrategy"))
	updated, err := vms.Update(ctx, got, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.EqualValues(t, 2, updated.GetGeneration(), "a spec change bumps the generation")

	// Server-side apply takes the field back; the conflict with the update's
	// manager is forced, as kubectl apply --server-side --force-conflicts does.
	reapplied, err := vms.Apply(ctx, "vm-cirros", seedVM(t), metav1.ApplyOptions{FieldManager: "e2e", Force: true})
	require.NoError(t, err)
	strategy, _, _ = unstructured.NestedString(reapplied.Object, "spec", "runStrategy")
	assert.Equal(t, "Always", strategy)

	ev := nextEvent(t, w)
	assert.Equal(t, watch.Modified, ev.Type)

	require.NoError(t, vms.Delete(ctx, "vm-cirros", metav1.DeleteOptions{}))
	_, err = vms.Get(ctx, "vm-cirros", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "got %v", err)
	for {
		ev = nextEvent(t, w)
		if ev.Type == watch.Deleted {
			break
		}
	}
}

func nextEvent(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		require.True(t, ok, "watch closed")
		return ev
	case <-time.After(30 * time.Second):
		require.FailNow(t, "no watch event within 30s")
	}
	return watch.Event{}
}

func TestValidationOverHTTPS(t *testing.T) {
	s := framework.StartServer(t)
	ctx := context.Background()
	cfg := rest.CopyConfig(s.RESTConfig)
	warn := &warnings{}
	cfg.WarningHandler = warn
	client, err := versioned.NewForConfig(cfg)
	require.NoError(t, err)
	vms := client.KubevirtV1().VirtualMachines("default")

	t.Run("running and runStrategy together is a 422 on spec.running", func(t *testing.T) {
		vm := typedVM(t, "both")
		running := true
		vm.Spec.Running = &running
		_, err := vms.Create(ctx, vm, metav1.CreateOptions{})
		requireInvalid(t, err, "spec.running")
	})
	t.Run("unknown strategy is a 422 on spec.runStrategy", func(t *testing.T) {
		vm := typedVM(t, "unknown")
		bogus := kubevirtv1.VirtualMachineRunStrategy("Sometimes")
		vm.Spec.RunStrategy = &bogus
		_, err := vms.Create(ctx, vm, metav1.CreateOptions{})
		requireInvalid(t, err, "spec.runStrategy")
		assert.Contains(t, err.Error(), "RerunOnFailure", "the message lists the supported values")
	})
	t.Run("spec.running is accepted with a deprecation warning", func(t *testing.T) {
		vm := typedVM(t, "legacy")
		vm.Spec.RunStrategy = nil
		running := false
		vm.Spec.Running = &running
		_, err := vms.Create(ctx, vm, metav1.CreateOptions{})
		require.NoError(t, err)
		assert.Contains(t, warn.list(), "spec.running is deprecated; use spec.runStrategy")
	})
	t.Run("unknown field under fieldValidation=Strict is a 400 naming the field", func(t *testing.T) {
		body := `{"apiVersion":"kubevirt.io/v1","kind":"VirtualMachine","metadata":{"name":"strict"},` +
			`"spec":{"runStrategy":"Halted","bogusField":1,"template":{"spec":{"domain":{"devices":{}}}}}}`
		err := client.KubevirtV1().RESTClient().Post().Namespace("default").Resource("virtualmachines").
			Param("fieldValidation", "Strict").SetHeader("Content-Type", "application/json").
			Body([]byte(body)).Do(ctx).Error()
		require.Error(t, err)
		assert.True(t, apierrors.IsBadRequest(err), "got %v", err)
		assert.Contains(t, err.Error(), "bogusField")
	})
}

func requireInvalid(t *testing.T, err error, field string) {
	t.Helper()
	require.Error(t, err)
	require.True(t, apierrors.IsInvalid(err), "want 422, got %v", err)
	status, ok := err.(apierrors.APIStatus)
	require.True(t, ok)
	require.NotNil(t, status.Status().Details)
	var fields []string
	for _, c := range status.Status().Details.Causes {
		fields = append(fields, c.Field)
	}
	assert.Contains(t, fields, field)
}

// defaultVMs is the typed client of s's VirtualMachines in namespace default.
func defaultVMs(t *testing.T, s *framework.Server) typedv1.VirtualMachineInterface {
	t.Helper()
	client, err := versioned.NewForConfig(s.RESTConfig)
	require.NoError(t, err)
	return client.KubevirtV1().VirtualMachines("default")
}

func typedVM(t *testing.T, name string) *kubevirtv1.VirtualMachine {
	t.Helper()
	data, err := json.Marshal(seedVM(t).Object)
	require.NoError(t, err)
	vm := &kubevirtv1.VirtualMachine{}
	require.NoError(t, json.Unmarshal(data, vm))
	vm.Name = name
	return vm
}

func TestRequestsWithoutClientCertificateAreRefused(t *testing.T) {
	s := framework.StartServer(t)
	ca, err := os.ReadFile(s.RESTConfig.CAFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(ca))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}

	for _, path := range []string{"/apis/kubevirt.io/v1/namespaces/default/virtualmachines", "/apis", "/metrics"} {
		resp, err := client.Get(s.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, path)
	}
	// Probes stay reachable for process supervisors.
	resp, err := client.Get(s.URL + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestObjectsSurviveRestart(t *testing.T) {
	s := framework.StartServer(t)
	ctx := context.Background()
	dyn, err := dynamic.NewForConfig(s.RESTConfig)
	require.NoError(t, err)
	_, err = dyn.Resource(vmGVR).Namespace("default").Apply(ctx, "vm-cirros", seedVM(t), metav1.ApplyOptions{FieldManager: "e2e"})
	require.NoError(t, err)
	s.Stop()
	require.NoError(t, s.Err())

	restarted := framework.StartServer(t, "--data-dir="+s.DataDir)
	dyn, err = dynamic.NewForConfig(restarted.RESTConfig)
	require.NoError(t, err)
	got, err := dyn.Resource(vmGVR).Namespace("default").Get(ctx, "vm-cirros", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "vm-cirros", got.GetName())
}

func TestTableColumnsAndFieldSelectors(t *testing.T) {
	s := framework.StartServer(t)
	ctx := context.Background()
	client, err := versioned.NewForConfig(s.RESTConfig)
	require.NoError(t, err)
	vms := client.KubevirtV1().VirtualMachines("default")
	_, err = vms.Create(ctx, typedVM(t, "always"), metav1.CreateOptions{})
	require.NoError(t, err)
	halted := typedVM(t, "halted")
	h := kubevirtv1.RunStrategyHalted
	halted.Spec.RunStrategy = &h
	_, err = vms.Create(ctx, halted, metav1.CreateOptions{})
	require.NoError(t, err)

	raw, err := client.KubevirtV1().RESTClient().Get().Namespace("default").Resource("virtualmachines").
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(ctx)
	require.NoError(t, err)
	var table metav1.Table
	require.NoError(t, json.Unmarshal(raw, &table))
	var names []string
	for _, c := range table.ColumnDefinitions {
		names = append(names, c.Name)
		if c.Name == "RunStrategy" {
			assert.EqualValues(t, 1, c.Priority, "RUNSTRATEGY only shows with -o wide")
		}
	}
	assert.Equal(t, []string{"Name", "Age", "Status", "Ready", "RunStrategy"}, names)
	require.Len(t, table.Rows, 2)
	assert.Equal(t, []interface{}{"always", "Stopped", "False", "Always"}, []interface{}{table.Rows[0].Cells[0], table.Rows[0].Cells[2], table.Rows[0].Cells[3], table.Rows[0].Cells[4]})

	list, err := vms.List(ctx, metav1.ListOptions{FieldSelector: "spec.runStrategy=Halted"})
	require.NoError(t, err)
	require.Len(t, list.Items, 1)
	assert.Equal(t, "halted", list.Items[0].Name)

	_, err = vms.List(ctx, metav1.ListOptions{FieldSelector: "spec.nothing=x"})
	require.True(t, apierrors.IsBadRequest(err), "unsupported field selector: %v", err)
}

func TestStatusSubresourceSeparation(t *testing.T) {
	s := framework.StartServer(t)
	ctx := context.Background()
	client, err := versioned.NewForConfig(s.RESTConfig)
	require.NoError(t, err)
	vms := client.KubevirtV1().VirtualMachines("default")
	vm, err := vms.Create(ctx, typedVM(t, "sep"), metav1.CreateOptions{})
	require.NoError(t, err)

	// The main resource ignores status.
	vm.Status.PrintableStatus = kubevirtv1.VirtualMachineStatusRunning
	vm, err = vms.Update(ctx, vm, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Empty(t, vm.Status.PrintableStatus)
	assert.EqualValues(t, 1, vm.Generation, "no spec change, no new generation")

	// The status subresource ignores spec and labels.
	vm.Status.PrintableStatus = kubevirtv1.VirtualMachineStatusRunning
	vm.Status.Created = true
	halted := kubevirtv1.RunStrategyHalted
	vm.Spec.RunStrategy = &halted
	vm.Labels = map[string]string{"changed": "true"}
	vm, err = vms.UpdateStatus(ctx, vm, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, kubevirtv1.VirtualMachineStatusRunning, vm.Status.PrintableStatus)
	assert.Equal(t, kubevirtv1.RunStrategyAlways, *vm.Spec.RunStrategy)
	assert.NotContains(t, vm.Labels, "changed")

	// A merge patch of status through the subresource.
	patched, err := vms.Patch(ctx, "sep", types.MergePatchType, []byte(`{"status":{"ready":true}}`), metav1.PatchOptions{}, "status")
	require.NoError(t, err)
	assert.True(t, patched.Status.Ready)
}

func TestDiscoveryAndOpenAPI(t *testing.T) {
	s := framework.StartServer(t)
	client, err := versioned.NewForConfig(s.RESTConfig)
	require.NoError(t, err)

	resources, err := client.Discovery().ServerResourcesForGroupVersion("kubevirt.io/v1")
	require.NoError(t, err)
	byName := map[string]metav1.APIResource{}
	for _, r := range resources.APIResources {
		byName[r.Name] = r
	}
	require.Contains(t, byName, "virtualmachines")
	vm := byName["virtualmachines"]
	assert.True(t, vm.Namespaced)
	assert.Equal(t, "VirtualMachine", vm.Kind)
	assert.ElementsMatch(t, []string{"vm", "vms"}, vm.ShortNames)
	assert.Equal(t, []string{"all"}, vm.Categories)
	assert.Contains(t, byName, "virtualmachines/status")

	raw, err := client.Discovery().RESTClient().Get().AbsPath("/openapi/v3/apis/kubevirt.io/v1").DoRaw(context.Background())
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(raw), "runStrategy"), "OpenAPI v3 describes spec.runStrategy")
	assert.Contains(t, string(raw), "x-kubernetes-group-version-kind")
}
