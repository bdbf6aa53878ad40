package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	kubevirtv1 "kubevirt.io/api/core/v1"
)

// TestPluginBulkActionsThroughKubeAPIServer runs `kubectl vm` as kubectl
// finds it, on PATH, against kube-apiserver: a label selection, several
// names and --all act on each VM with its own request through the
// aggregator, and each refusal is reported with the server's reason.
func TestPluginBulkActionsThroughKubeAPIServer(t *testing.T) {
	suite.Require(t)
	bin := filepath.Join(env.root, "bin")
	require.FileExists(t, filepath.Join(bin, "kubectl-vm"), "make build puts the plugin in bin/")
	ns := newNamespace(t)
	for name, tier := range map[string]string{"web-2": "web", "web-1": "web", "db-1": "db"} {
		vm := newVM(name, kubevirtv1.RunStrategyHalted)
		vm.Labels["tier"] = tier
		createVM(t, ns, vm)
	}
	kubectlVM := func(t *testing.T, args ...string) (string, error) {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), env.kubectlBin, append([]string{"vm", "--kubeconfig=" + env.kubeconfig, "--namespace=" + ns}, args...)...)
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	t.Run("a label selection", func(t *testing.T) {
		out, err := kubectlVM(t, "start", "-l", "tier=web")
		require.NoError(t, err, out)
		assert.Equal(t, "virtualmachine.kubevirt.io/web-1 started\nvirtualmachine.kubevirt.io/web-2 started\n", out)
		assert.Equal(t, kubevirtv1.RunStrategyAlways, *getVM(t, ns, "web-1").Spec.RunStrategy)
		assert.Equal(t, kubevirtv1.RunStrategyHalted, *getVM(t, ns, "db-1").Spec.RunStrategy)
	})

	t.Run("--all under a server dry run", func(t *testing.T) {
		before := getVM(t, ns, "db-1").ResourceVersion
		out, err := kubectlVM(t, "stop", "--all", "--dry-run=server")
		require.Error(t, err, "db-1 is not running")
		assert.Contains(t, out, "virtualmachine.kubevirt.io/db-1 not stopped: ")
		assert.Contains(t, out, "VM is not running")
		assert.Contains(t, out, "virtualmachine.kubevirt.io/web-1 stopped (server dry run)\n")
		assert.Contains(t, out, "virtualmachine.kubevirt.io/web-2 stopped (server dry run)\n")
		assert.Contains(t, out, "1 of 3 VMs were not stopped")
		assert.Equal(t, before, getVM(t, ns, "db-1").ResourceVersion)
		assert.Equal(t, kubevirtv1.RunStrategyAlways, *getVM(t, ns, "web-2").Spec.RunStrategy)
	})

	t.Run("several names", func(t *testing.T) {
		out, err := kubectlVM(t, "stop", "web-2", "web-1")
		require.NoError(t, err, out)
		assert.Equal(t, "virtualmachine.kubevirt.io/web-2 stopped\nvirtualmachine.kubevirt.io/web-1 stopped\n", out)
		assert.Equal(t, kubevirtv1.RunStrategyHalted, *getVM(t, ns, "web-1").Spec.RunStrategy)
		assert.Equal(t, kubevirtv1.RunStrategyHalted, *getVM(t, ns, "web-2").Spec.RunStrategy)
	})
}
