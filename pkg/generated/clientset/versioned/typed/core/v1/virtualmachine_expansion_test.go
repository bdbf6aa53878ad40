package v1_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	kubevirtv1 "kubevirt.io/api/core/v1"

	subresourcesv1 "github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources/v1"
	"github.com/vm-apiserver/vm-apiserver/pkg/generated/clientset/versioned"
)

// recorded is one request as the test server saw it.
type recorded struct {
	method, path, contentType string
	body                      map[string]any
}

// newServer answers every request with code and body, and records it.
func newServer(t *testing.T, code int, body any) (*versioned.Clientset, *recorded) {
	t.Helper()
	rec := &recorded{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.method, rec.path, rec.contentType = r.Method, r.URL.Path, r.Header.Get("Content-Type")
		raw, err := io.ReadAll(r.Body)
		assert.NoError(t, err)
		rec.body = map[string]any{}
		assert.NoError(t, json.Unmarshal(raw, &rec.body))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		assert.NoError(t, json.NewEncoder(w).Encode(body))
	}))
	t.Cleanup(srv.Close)
	client, err := versioned.NewForConfig(&rest.Config{Host: srv.URL})
	require.NoError(t, err)
	return client, rec
}

func acceptedVM() *kubevirtv1.VirtualMachine {
	return &kubevirtv1.VirtualMachine{
		TypeMeta:   metav1.TypeMeta{APIVersion: "kubevirt.io/v1", Kind: "VirtualMachine"},
		ObjectMeta: metav1.ObjectMeta{Name: "vm", Namespace: "ns", ResourceVersion: "7"},
		Spec:       kubevirtv1.VirtualMachineSpec{RunStrategy: ptr.To(kubevirtv1.RunStrategyAlways)},
	}
}

func TestLifecycleActions(t *testing.T) {
	tests := []struct {
		name     string
		call     func(context.Context, *versioned.Clientset) (*kubevirtv1.VirtualMachine, error)
		wantPath string
		wantBody map[string]any
	}{
		{"start with defaults",
			func(ctx context.Context, c *versioned.Clientset) (*kubevirtv1.VirtualMachine, error) {
				return c.KubevirtV1().VirtualMachines("ns").Start(ctx, "vm", nil)
			},
			"/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachines/vm/start",
			map[string]any{"kind": "StartOptions", "apiVersion": "subresources.kubevirt.io/v1"}},
		{"start paused, dry run",
			func(ctx context.Context, c *versioned.Clientset) (*kubevirtv1.VirtualMachine, error) {
				return c.KubevirtV1().VirtualMachines("ns").Start(ctx, "vm", &subresourcesv1.StartOptions{Paused: true, DryRun: []string{"All"}})
			},
			"/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachines/vm/start",
			map[string]any{"kind": "StartOptions", "apiVersion": "subresources.kubevirt.io/v1", "paused": true, "dryRun": []any{"All"}}},
		{"stop with a grace period",
			func(ctx context.Context, c *versioned.Clientset) (*kubevirtv1.VirtualMachine, error) {
				return c.KubevirtV1().VirtualMachines("ns").Stop(ctx, "vm", &subresourcesv1.StopOptions{GracePeriod: ptr.To[int64](0)})
			},
			"/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachines/vm/stop",
			map[string]any{"kind": "StopOptions", "apiVersion": "subresources.kubevirt.io/v1", "gracePeriod": float64(0)}},
		{"forced restart",
			func(ctx context.Context, c *versioned.Clientset) (*kubevirtv1.VirtualMachine, error) {
				return c.KubevirtV1().VirtualMachines("ns").Restart(ctx, "vm", &subresourcesv1.RestartOptions{GracePeriodSeconds: ptr.To[int64](0)})
			},
			"/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachines/vm/restart",
			map[string]any{"kind": "RestartOptions", "apiVersion": "subresources.kubevirt.io/v1", "gracePeriodSeconds": float64(0)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client, rec := newServer(t, http.StatusAccepted, acceptedVM())
			vm, err := tc.call(context.Background(), client)
			require.NoError(t, err)
			assert.Equal(t, "vm", vm.Name)
			assert.Equal(t, "7", vm.ResourceVersion)
			assert.Equal(t, http.MethodPut, rec.method)
			assert.Equal(t, tc.wantPath, rec.path)
			assert.Equal(t, "application/json", rec.contentType)
			assert.Equal(t, tc.wantBody, rec.body)
		})
	}
}

func TestLifecycleActionCallerOptionsUntouched(t *testing.T) {
	client, _ := newServer(t, http.StatusAccepted, acceptedVM())
	opts := &subresourcesv1.StopOptions{}
	_, err := client.KubevirtV1().VirtualMachines("ns").Stop(context.Background(), "vm", opts)
	require.NoError(t, err)
	assert.Empty(t, opts.Kind, "the caller's options are not modified")
}

func TestLifecycleActionErrors(t *testing.T) {
	conflict := metav1.Status{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"},
		Status:   metav1.StatusFailure, Code: http.StatusConflict, Reason: metav1.StatusReasonConflict,
		Message: "VM is already running",
	}
	client, _ := newServer(t, http.StatusConflict, conflict)
	_, err := client.KubevirtV1().VirtualMachines("ns").Start(context.Background(), "vm", nil)
	require.Error(t, err)
	assert.True(t, apierrors.IsConflict(err))
	assert.Contains(t, err.Error(), "VM is already running")

	_, err = client.KubevirtV1().VirtualMachines("ns").Start(context.Background(), "", nil)
	assert.ErrorContains(t, err, "name may not be empty")
	_, err = client.KubevirtV1().VirtualMachines("").Stop(context.Background(), "vm", nil)
	assert.ErrorContains(t, err, "namespace")
}
