package integration

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
	kubevirtv1 "kubevirt.io/api/core/v1"
)

// TestKubectl is a user's session with the real kubectl v1.37, in order.
func TestKubectl(t *testing.T) {
	suite.Require(t)
	ns := newNamespace(t)
	example := filepath.Join(env.root, "artifacts", "examples", "vm-cirros.yaml")
	k := func(t *testing.T, args ...string) string {
		t.Helper()
		out, err := env.kubectl(t.Context(), append(args, "--namespace="+ns)...)
		require.NoError(t, err, out)
		return out
	}

	t.Run("apply -f the seed example", func(t *testing.T) {
		assert.Equal(t, "virtualmachine.kubevirt.io/vm-cirros created", strings.TrimSpace(k(t, "apply", "-f", example)))
		assert.Equal(t, "virtualmachine.kubevirt.io/vm-cirros unchanged", strings.TrimSpace(k(t, "apply", "-f", example)))
	})

	t.Run("get -o wide", func(t *testing.T) {
		lines := trimLines(k(t, "get", "vm", "-o", "wide"))
		require.Len(t, lines, 2)
		assert.Equal(t, []string{"NAME", "AGE", "STATUS", "READY", "RUNSTRATEGY"}, strings.Fields(lines[0]))
		row := strings.Fields(lines[1])
		require.Len(t, row, 5)
		assert.Equal(t, "vm-cirros", row[0])
		assert.Equal(t, []string{"Stopped", "False", "Always"}, row[2:])

		assert.Equal(t, []string{"NAME", "AGE", "STATUS", "READY"}, strings.Fields(trimLines(k(t, "get", "vms"))[0]))
		assert.Equal(t, "virtualmachine.kubevirt.io/vm-cirros", strings.TrimSpace(k(t, "get", "vm", "-o", "name")))
	})

	t.Run("wait for the runtime's Ready condition", func(t *testing.T) {
		// kubectl wait watches while the "runtime" reports the VM running.
		done := make(chan error, 1)
		var out string
		go func() {
			var err error
			out, err = env.kubectl(t.Context(), "wait", "--for=condition=Ready", "vm/vm-cirros", "--timeout=60s", "--namespace="+ns)
			done <- err
		}()
		setStatus(t, ns, "vm-cirros", func(s *kubevirtv1.VirtualMachineStatus) {
			running(s)
			s.Conditions = []kubevirtv1.VirtualMachineCondition{{Type: kubevirtv1.VirtualMachineReady, Status: corev1.ConditionTrue}}
		})
		require.NoError(t, <-done, out)
		assert.Contains(t, out, "condition met")
		row := strings.Fields(trimLines(k(t, "get", "vm", "vm-cirros", "-o", "wide"))[1])
		assert.Equal(t, []string{"Running", "True", "Always"}, row[2:])
	})

	t.Run("get --raw", func(t *testing.T) {
		var vm kubevirtv1.VirtualMachine
		require.NoError(t, json.Unmarshal([]byte(k(t, "get", "--raw", "/apis/kubevirt.io/v1/namespaces/"+ns+"/virtualmachines/vm-cirros")), &vm))
		assert.Equal(t, "vm-cirros", vm.Name)
		assert.Equal(t, "VirtualMachine", vm.Kind)

		var list metav1.APIResourceList
		require.NoError(t, json.Unmarshal([]byte(k(t, "get", "--raw", "/apis/"+subresourcesV1)), &list))
		assert.Equal(t, subresourcesV1, list.GroupVersion)

		for _, gv := range []string{subresourcesV1, subresourcesV1a} {
			var info version.Info
			require.NoError(t, json.Unmarshal([]byte(k(t, "get", "--raw", "/apis/"+gv+"/version")), &info))
			assert.NotEmpty(t, info.GitVersion)
			assert.NotEmpty(t, info.GoVersion)
		}
	})

	t.Run("explain", func(t *testing.T) {
		out := k(t, "explain", "virtualmachine.spec.runStrategy")
		assert.Contains(t, out, "kubevirt.io")
		assert.Contains(t, out, "VirtualMachine")
		assert.Contains(t, out, "FIELD: runStrategy <string>")
		out = k(t, "explain", "vm.status.stateChangeRequests")
		assert.Contains(t, out, "FIELD: stateChangeRequests <[]")
		assert.Contains(t, out, "action\t<string> -required-")
	})

	t.Run("replace --raw stops the VM and kubectl wait sees it", func(t *testing.T) {
		out := k(t, "replace", "--raw", actionPath(subresourcesV1, ns, "vm-cirros", "stop"), "-f", writeFile(t, "empty", ""))
		var vm kubevirtv1.VirtualMachine
		require.NoError(t, json.Unmarshal([]byte(out), &vm))
		assert.Equal(t, kubevirtv1.RunStrategyHalted, *vm.Spec.RunStrategy)
		k(t, "wait", "--for=jsonpath={.spec.runStrategy}=Halted", "vm/vm-cirros", "--timeout=30s")
	})

	t.Run("apply --server-side", func(t *testing.T) {
		manifest := func(strategy string) string {
			return writeFile(t, "vm-ssa.yaml", `apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: vm-ssa
spec:
  runStrategy: `+strategy+`
  template:
    spec:
      domain:
        devices: {}
`)
		}
		assert.Equal(t, "virtualmachine.kubevirt.io/vm-ssa serverside-applied", strings.TrimSpace(k(t, "apply", "--server-side", "-f", manifest("Manual"))))
		k(t, "apply", "--server-side", "-f", manifest("Halted"))
		vm := getVM(t, ns, "vm-ssa")
		assert.Equal(t, kubevirtv1.RunStrategyHalted, *vm.Spec.RunStrategy)
		require.NotEmpty(t, vm.ManagedFields)
		assert.Equal(t, "kubectl", vm.ManagedFields[0].Manager)
		assert.Equal(t, metav1.ManagedFieldsOperationApply, vm.ManagedFields[0].Operation)

		// Another manager changing an owned field conflicts unless it forces.
		out, err := env.kubectl(t.Context(), "apply", "--server-side", "--field-manager=other", "-f", manifest("Always"), "--namespace="+ns)
		require.Error(t, err)
		assert.Contains(t, out, "conflict")
		k(t, "apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", manifest("Always"))
		assert.Equal(t, kubevirtv1.RunStrategyAlways, *getVM(t, ns, "vm-ssa").Spec.RunStrategy)
	})

	t.Run("delete and wait", func(t *testing.T) {
		assert.Contains(t, k(t, "delete", "-f", example, "--wait=false"), `"vm-cirros" deleted`)
		k(t, "wait", "--for=delete", "vm/vm-cirros", "--timeout=30s")
		assert.Contains(t, k(t, "get", "vm"), "vm-ssa")
		assert.NotContains(t, k(t, "get", "vm"), "vm-cirros")
	})
}
