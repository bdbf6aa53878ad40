package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	kubevirtv1 "kubevirt.io/api/core/v1"
)

const (
	vmGroupVersion    = "kubevirt.io/v1"
	vmGroupVersionV1a = "kubevirt.io/v1alpha3" // KubeVirt's deprecated version
	subresourcesV1    = "subresources.kubevirt.io/v1"
	subresourcesV1a   = "subresources.kubevirt.io/v1alpha3"
)

// newNamespace creates a namespace of the test's own. Nothing deletes it:
// without kube-controller-manager a namespace never finishes terminating,
// and the whole cluster goes away at the end of the run.
func newNamespace(t *testing.T) string {
	t.Helper()
	ns, err := env.kube.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "it-"},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	return ns.Name
}

// newVM returns a valid VM with the given run strategy.
func newVM(name string, strategy kubevirtv1.VirtualMachineRunStrategy) *kubevirtv1.VirtualMachine {
	return &kubevirtv1.VirtualMachine{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubevirt.io/vm": name}},
		Spec: kubevirtv1.VirtualMachineSpec{
			RunStrategy: &strategy,
			Template: &kubevirtv1.VirtualMachineInstanceTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"kubevirt.io/vm": name}},
			},
		},
	}
}

// newLegacyVM returns a valid VM that uses the deprecated spec.running.
func newLegacyVM(name string, running bool) *kubevirtv1.VirtualMachine {
	vm := newVM(name, "")
	vm.Spec.RunStrategy = nil
	vm.Spec.Running = &running
	return vm
}

// createVM creates vm in ns as the admin.
func createVM(t *testing.T, ns string, vm *kubevirtv1.VirtualMachine) *kubevirtv1.VirtualMachine {
	t.Helper()
	out, err := env.vms.KubevirtV1().VirtualMachines(ns).Create(t.Context(), vm, metav1.CreateOptions{})
	require.NoError(t, err)
	return out
}

// getVM reads a VM as the admin.
func getVM(t *testing.T, ns, name string) *kubevirtv1.VirtualMachine {
	t.Helper()
	vm, err := env.vms.KubevirtV1().VirtualMachines(ns).Get(t.Context(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return vm
}

// setStatus writes the runtime's view through the status subresource, as a
// runtime would (the server runs with --runtime=none, so nothing else does).
func setStatus(t *testing.T, ns, name string, mutate func(*kubevirtv1.VirtualMachineStatus)) *kubevirtv1.VirtualMachine {
	t.Helper()
	var out *kubevirtv1.VirtualMachine
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		vm, err := env.vms.KubevirtV1().VirtualMachines(ns).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		mutate(&vm.Status)
		out, err = env.vms.KubevirtV1().VirtualMachines(ns).UpdateStatus(t.Context(), vm, metav1.UpdateOptions{})
		return err
	})
	require.NoError(t, err)
	return out
}

// running marks the instance as active.
func running(s *kubevirtv1.VirtualMachineStatus) {
	s.Created = true
	s.Ready = true
	s.PrintableStatus = kubevirtv1.VirtualMachineStatusRunning
}

// finished marks the instance as existing but stopped.
func finished(s *kubevirtv1.VirtualMachineStatus) {
	s.Created = true
	s.Ready = false
	s.PrintableStatus = kubevirtv1.VirtualMachineStatusStopped
}

// actionPath is the URL path of a lifecycle action.
func actionPath(groupVersion, ns, name, action string) string {
	return fmt.Sprintf("/apis/%s/namespaces/%s/virtualmachines/%s/%s", groupVersion, ns, name, action)
}

// rawResponse is a response with its exact status code.
type rawResponse struct {
	code int
	body []byte
}

// do sends one request to kube-apiserver with cfg's credentials, with no
// client-side interpretation, so the test sees the exact status code.
// An empty contentType sends no Content-Type header, as virtctl does.
func do(ctx context.Context, cfg *rest.Config, method, path string, body []byte, contentType string) (rawResponse, error) {
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return rawResponse{}, err
	}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, cfg.Host+path, r)
	if err != nil {
		return rawResponse{}, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return rawResponse{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	return rawResponse{code: resp.StatusCode, body: data}, err
}

// impersonate returns the admin's config acting as another user. The
// aggregator forwards the impersonated identity, as it would a real one.
func impersonate(user string, groups []string, extra map[string][]string) *rest.Config {
	cfg := rest.CopyConfig(env.admin)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups, Extra: extra}
	return cfg
}

// writeFile writes a file for kubectl -f. It lives in the environment's
// directory, not t.TempDir(): kubectl splits -f on commas, which subtest
// names may contain.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	f, err := os.CreateTemp(env.dir, "*-"+name)
	require.NoError(t, err)
	_, err = f.WriteString(content)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	return f.Name()
}

// trimLines returns the non-empty lines of s.
func trimLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
